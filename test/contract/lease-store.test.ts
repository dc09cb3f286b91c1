import path from 'node:path';
import { FileCheckpointStore } from '../../src/stream/checkpoints/file-checkpoint-store.js';
import { FileLeaseStore } from '../../src/stream/leases/file-lease-store.js';
import { openLocalStream } from '../../src/stream/local/index.js';
import { useTempDir } from '../support/temp.js';
import { runLeaseStoreContract } from './lease-store-contract.js';

const tempDir = useTempDir();

/** A clock both handles share, which the suite moves on. */
function testClock() {
  let now = 1_800_000_000_000;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

runLeaseStoreContract('embedded log (SQLite, beside its checkpoints)', async () => {
  const dir = path.join(await tempDir(), 'stream');
  const clock = testClock();
  const a = openLocalStream(dir, { shards: 2, now: clock.now });
  const b = openLocalStream(dir, { shards: 2, now: clock.now });
  await a.connect();
  await b.connect();
  return {
    a,
    b,
    checkpoints: b,
    shardId: 'shardId-000000000001',
    advance: clock.advance,
    cleanup: async () => {
      await a.close();
      await b.close();
    },
  };
});

runLeaseStoreContract('Kinesis checkpoint folder (leases.sqlite beside the files)', async () => {
  const dir = path.join(await tempDir(), 'kinesis-s');
  const clock = testClock();
  const checkpoints = new FileCheckpointStore(dir);
  const a = new FileLeaseStore(dir, new FileCheckpointStore(dir), clock.now);
  const b = new FileLeaseStore(dir, new FileCheckpointStore(dir), clock.now);
  return {
    a,
    b,
    checkpoints,
    shardId: 'shardId-000000000003',
    advance: clock.advance,
    cleanup: async () => {
      a.close();
      b.close();
    },
  };
});
