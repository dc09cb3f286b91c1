import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterEach, describe, expect, it } from 'vitest';
import { createHandler, EventSourceRunner, errorsDestination } from '../../src/consumer/index.js';
import { Simulator } from '../../src/producer/index.js';
import { S3Store } from '../../src/sink/index.js';
import { openLocalStream } from '../../src/stream/index.js';
import {
  type RunningS3rver,
  readS3EventIds,
  S3RVER_ACCESS_KEY_ID,
  S3RVER_SECRET_ACCESS_KEY,
  startS3rver,
} from '../support/s3rver.js';
import { useTempDir } from '../support/temp.js';
import { duplicates, sleep, waitFor } from './support.js';
import { type ProxyMode, startTcpProxy, type TcpProxy } from './tcp-proxy.js';

const tempDir = useTempDir();
let s3: RunningS3rver | undefined;
let proxy: TcpProxy | undefined;

afterEach(async () => {
  await proxy?.close();
  await s3?.close();
});

const EVENTS = 20_000;

describe('the store failing while the consumer runs', () => {
  it('retries through a store that hangs, answers 503 and drops connections, and lands everything once', async () => {
    // Prepare: s3rver behind a proxy the test controls; a client that gives up on a silent store after
    // 1 s of silence (the CLI's waits 120 s); events in the embedded log.
    s3 = await startS3rver(['landing']);
    proxy = await startTcpProxy({ host: '127.0.0.1', port: s3.port });
    const client = new S3Client({
      region: 'us-east-1',
      endpoint: proxy.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: S3RVER_ACCESS_KEY_ID, secretAccessKey: S3RVER_SECRET_ACCESS_KEY },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 2,
      requestHandler: new NodeHttpHandler({ connectionTimeout: 500, socketTimeout: 1_000 }),
    });
    const store = new S3Store({ bucket: 'landing', prefix: 'p' }, { client });
    await store.connect();
    const stream = openLocalStream(path.join(await tempDir(), 'stream'), { shards: 2 });
    await stream.connect();
    const simulator = new Simulator({ users: 100, seed: 'store-faults' });
    const ids: string[] = [];
    for (let i = 0; i < EVENTS; i += 500) {
      const records = Array.from({ length: 500 }, () => simulator.nextEncoded());
      for (const r of records) ids.push(JSON.parse(r.data.toString()).event_id);
      await stream.putRecords(records);
    }
    const warnings: string[] = [];
    let landed = 0;
    const handler = createHandler({
      store,
      putAttempts: 2,
      warn: (w) => warnings.push(w),
      onBatch: (s) => {
        landed += s.events;
      },
    });
    const runner = new EventSourceRunner({
      reader: stream,
      checkpoints: stream,
      handler,
      onFailure: errorsDestination(store),
      batchSize: 100,
      batchWindowMs: 0,
      retryBackoff: { baseMs: 50, maxMs: 400 },
      warn: (w) => warnings.push(w),
    });

    // Act: while the consumer lands, make the store hang, then fail, then vanish, each for a while
    // after the consumer has noticed, with progress in between.
    const running = runner.run({ untilIdle: true });
    const noticed: Record<string, number> = {};
    try {
      for (const [mode, ms] of [
        ['stall', 2_000],
        ['unavailable', 1_000],
        ['reset', 1_000],
      ] as [ProxyMode, number][]) {
        const before = landed;
        await waitFor('the consumer to land something', () => landed > before);
        const retries = runner.stats.retries;
        proxy.mode = mode;
        await waitFor(`the consumer to notice the store (${mode})`, () => runner.stats.retries > retries);
        noticed[mode] = runner.stats.retries - retries;
        await sleep(ms);
        proxy.mode = 'pass';
      }
    } catch (error) {
      runner.stop();
      await running.catch(() => undefined);
      throw error;
    }
    const stats = await running;
    await stream.close();
    await store.close();
    client.destroy();

    // Assess: each fault was met and retried; no batch was given up on; every event landed once.
    expect(Object.keys(noticed)).toEqual(['stall', 'unavailable', 'reset']);
    expect(warnings.some((w) => /could not land batch/.test(w))).toBe(true);
    expect(stats.failedToDestination).toBe(0);
    expect(landed).toBe(EVENTS);
    const landedIds = await readS3EventIds(s3.endpoint, 'landing', 'p');
    expect(duplicates(landedIds)).toEqual(new Map());
    expect(landedIds.sort()).toEqual(ids.sort());
  });
});
