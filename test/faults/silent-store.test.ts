import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { jsonSummary, runCli, startCli } from '../support/cli.js';
import { type RunningS3rver, readS3EventIds, s3rverCliEnv, startS3rver } from '../support/s3rver.js';
import { useTempDir } from '../support/temp.js';
import { duplicates, useChildren, waitFor } from './support.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

const tempDir = useTempDir();
const track = useChildren();
let s3: RunningS3rver | undefined;
let proxy: TcpProxy | undefined;

afterEach(async () => {
  await proxy?.close();
  await s3?.close();
});

describe('a store that takes connections and never answers', () => {
  it('fails the invocation within --timeout, and the events land once when it answers again', async () => {
    // Prepare: s3rver behind a proxy; a consumer (the CLI, its default S3 settings) with a 2 s timeout.
    s3 = await startS3rver(['landing']);
    proxy = await startTcpProxy({ host: '127.0.0.1', port: s3.port });
    const dir = await tempDir();
    const stream = path.join(dir, 'stream');
    const env = s3rverCliEnv(proxy.endpoint);
    const produce = async (events: number, seed: string) => {
      const result = await runCli([
        'produce',
        '--stream',
        stream,
        '--events',
        String(events),
        '--seed',
        seed,
        '--json',
      ]);
      expect(result.code, result.stderr).toBe(0);
    };
    const landed = () => readS3EventIds(s3?.endpoint ?? '', 'landing', 'p');
    await produce(100, 'before');
    const consumer = track(
      startCli(
        [
          'consume',
          '--stream',
          stream,
          '--sink',
          's3://landing/p',
          '--timeout',
          '2',
          '--batch-window',
          '0',
          '--json',
        ],
        { env, cwd: dir },
      ),
    );
    let stderr = '';
    consumer.child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    await waitFor('the first 100 events to land', async () => (await landed()).length === 100);

    // Act: the store goes silent (connections open, no answer); new events arrive.
    proxy.mode = 'stall';
    await produce(1_000, 'during');
    await waitFor(
      'the consumer to give up on the silent store (an invocation that failed and is retried)',
      () => /batch failed .*retry/.test(stderr),
    );
    const seenWhileSilent = (stderr.match(/batch failed/g) ?? []).length;
    proxy.mode = 'pass';
    await waitFor(
      'all 1,100 events to land once the store answers',
      async () => (await landed()).length >= 1_100,
    );
    consumer.child.kill('SIGTERM');
    const result = await consumer.done;

    // Assess
    expect(result.code, result.stderr).toBe(0);
    expect(seenWhileSilent).toBeGreaterThanOrEqual(1);
    expect(jsonSummary(result).landed).toBe(1_100);
    const ids = await landed();
    expect(ids).toHaveLength(1_100);
    expect(duplicates(ids)).toEqual(new Map());
  });
});
