import path from 'node:path';
import { type LocalStream, openLocalStream } from '../../src/stream/local/index.js';
import { formatSequenceNumber, formatShardId } from '../../src/stream/local/positions.js';
import { useTempDir } from '../support/temp.js';
import { runCheckpointStoreContract } from './checkpoint-store-contract.js';
import { runStreamContract } from './stream-contract.js';

const tempDir = useTempDir();

runStreamContract('local (embedded log)', { recordCount: true }, async () => {
  // Three shards: hash-key ranges that do not split evenly in binary.
  const stream = openLocalStream(path.join(await tempDir(), 'stream'), { shards: 3 });
  await stream.connect();
  return { writer: stream, reader: stream, admin: stream, shardCount: 3, cleanup: () => stream.close() };
});

runCheckpointStoreContract('local (embedded log)', async () => {
  const sandbox = await tempDir();
  const where = path.join(sandbox, 'stream');
  const opened: LocalStream[] = [];
  return {
    root: where,
    sandbox,
    shardIds: [formatShardId(0), formatShardId(1)],
    sequenceNumber: formatSequenceNumber,
    open: async () => {
      const stream = openLocalStream(where, { shards: 2 });
      await stream.connect();
      opened.push(stream);
      return stream;
    },
    inThread: {
      module: new URL('../../dist/stream/local/index.js', import.meta.url),
      exportName: 'openLocalStream',
      where,
    },
    cleanup: async () => {
      for (const stream of opened) await stream.close();
    },
  };
});
