import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONSUMER_NAME } from '../../src/consumer/index.js';
import { openLocalStream } from '../../src/stream/index.js';
import { runCli, startCli } from '../support/cli.js';
import { type RunningS3rver, readS3EventIds, s3rverCliEnv, startS3rver } from '../support/s3rver.js';
import { useTempDir } from '../support/temp.js';
import { duplicates, idsInStream, residentMb, sleep, useChildren, waitFor } from './support.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

const tempDir = useTempDir();
const own = useChildren();
let s3: RunningS3rver | undefined;
let proxy: TcpProxy | undefined;

afterEach(async () => {
  await proxy?.close();
  await s3?.close();
});

const SHARDS = 2;
const BATCH_SIZE = 500;
/**
 * What the consumer may hold of its input while it waits: per shard, one batch being retried and at
 * most one more buffered, each record at most 4 KiB in memory (a record of ~400 bytes, as base64 in a
 * Lambda-shaped record, with the handler's copies).
 */
const HELD_MB = (SHARDS * 2 * BATCH_SIZE * 4096) / 2 ** 20;
/** Room for the runtime itself: garbage not yet collected, allocator slack, the SDK's retry state. */
const RUNTIME_MB = 48;
const BOUND_MB = HELD_MB + RUNTIME_MB;
/** Events that arrive during the outage: ~120 MB, twice the bound at least, so reading ahead would show. */
const ARRIVING = 300_000;

/** Records of the embedded log not yet checkpointed by the consumer. */
async function lag(streamPath: string): Promise<number> {
  const stream = openLocalStream(streamPath, { createIfMissing: false });
  await stream.connect();
  try {
    let behind = 0;
    for (const { shardId } of await stream.listShards())
      behind += await stream.countAfter(shardId, await stream.load(DEFAULT_CONSUMER_NAME, shardId));
    return behind;
  } finally {
    await stream.close();
  }
}

describe('the consumer waiting for a store that is down', () => {
  it.skipIf(process.platform !== 'linux')(
    'keeps its memory within the batch limits while events keep arriving, then lands them all once',
    async () => {
      // Prepare: s3rver behind a proxy; a consumer that has landed a first backlog.
      s3 = await startS3rver(['landing']);
      proxy = await startTcpProxy({ host: '127.0.0.1', port: s3.port });
      const dir = await tempDir();
      const stream = path.join(dir, 'stream');
      const env = s3rverCliEnv(proxy.endpoint);
      const first = await runCli(
        ['produce', '--stream', stream, '--shards', String(SHARDS), '--events', '5000', '--json'],
        { env },
      );
      expect(first.code, first.stderr).toBe(0);
      const consumeArgs = ['consume', '--stream', stream, '--sink', 's3://landing/p', '--batch-size'];
      const consumer = own(startCli([...consumeArgs, String(BATCH_SIZE), '--batch-window', '0'], { env }));
      const pid = consumer.child.pid as number;
      let consumerErr = '';
      consumer.child.stderr?.on('data', (chunk: Buffer) => {
        consumerErr += chunk.toString();
      });
      await waitFor('the first backlog to land', async () => (await lag(stream)) === 0);

      // Act: the store goes away; while it is gone, 300,000 events arrive. Sample the consumer's memory.
      proxy.mode = 'reset';
      const samples: number[] = [];
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const mb = await residentMb(pid);
          if (mb !== undefined) samples.push(mb);
          await sleep(100);
        }
      })();
      const producer = own(
        startCli(['produce', '--stream', stream, '--events', String(ARRIVING), '--json'], { env }),
      );
      await waitFor('the consumer to meet the outage', () => /could not land batch/.test(consumerErr));
      const atOutage = Math.max(...samples);
      const produced = await producer.done;
      expect(produced.code, produced.stderr).toBe(0);
      await sleep(3_000);
      sampling = false;
      await sampler;
      const behind = await lag(stream);
      const peak = Math.max(...samples);

      // The store comes back: stop the waiting consumer and let a new one land everything.
      proxy.mode = 'pass';
      consumer.child.kill('SIGTERM');
      const stopped = await consumer.done;
      const recovered = await runCli([...consumeArgs, '5000', '--until-idle', '--json'], { env });

      // Assess: nothing landed while the store was down, memory stayed within the bound however much
      // arrived, and afterwards every event in the stream landed exactly once.
      expect(stopped.code, stopped.stderr).toBe(0);
      expect(recovered.code, recovered.stderr).toBe(0);
      expect(behind).toBe(ARRIVING);
      expect(samples.length).toBeGreaterThan(20);
      expect(peak - atOutage, `RSS ${atOutage.toFixed(0)} → ${peak.toFixed(0)} MB`).toBeLessThan(BOUND_MB);
      const landedIds = await readS3EventIds(s3.endpoint, 'landing', 'p');
      expect(duplicates(landedIds)).toEqual(new Map());
      expect(landedIds.sort()).toEqual((await idsInStream(stream)).sort());
    },
    180_000,
  );
});
