import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { KinesisStreamEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import {
  type ActivityHandler,
  createHandler,
  EventSourceRunner,
  errorsDestination,
  type RunnerOptions,
} from '../../src/consumer/index.js';
import { StreamError, type StreamErrorCode } from '../../src/core/errors.js';
import type { StartPosition, StreamReader } from '../../src/core/ports.js';
import { DirectoryStore } from '../../src/sink/index.js';
import { type LocalStream, openLocalStream } from '../../src/stream/index.js';
import { readLanded } from '../support/landed.js';
import { useTempDir } from '../support/temp.js';
import { waitFor } from '../support/wait.js';

const tempDir = useTempDir();
const quiet = () => undefined;

async function setup(count: number, shards = 2) {
  const dir = await tempDir();
  const stream = openLocalStream(path.join(dir, 'stream'), { shards });
  await stream.connect();
  const sink = path.join(dir, 'sink');
  const store = new DirectoryStore(sink);
  await store.connect();
  const records = Array.from({ length: count }, (_, i) => ({
    partitionKey: `user_${i % 17}`,
    data: Buffer.from(
      JSON.stringify({
        event_id: `e${i}`,
        user_id: `user_${i % 17}`,
        event: 'click',
        timestamp: 1764099072 + i,
      }),
    ),
  }));
  for (let i = 0; i < records.length; i += 500) await stream.putRecords(records.slice(i, i + 500));
  const handler = createHandler({ store, warn: quiet });
  return { stream, store, sink, handler, ids: records.map((_, i) => `e${i}`) };
}

/** The stream as a reader, with some calls replaced (to count them or to inject faults it never has). */
function wrapReader(stream: LocalStream, replace: Partial<StreamReader>): StreamReader {
  return {
    connect: () => stream.connect(),
    close: () => stream.close(),
    streamArn: stream.streamArn,
    listShards: () => stream.listShards(),
    getShardIterator: (shardId, position) => stream.getShardIterator(shardId, position),
    getRecords: (iterator, limit) => stream.getRecords(iterator, limit),
    ...replace,
  };
}

function runner(
  stream: LocalStream,
  store: DirectoryStore,
  handler: ActivityHandler,
  options: Partial<RunnerOptions> = {},
) {
  return new EventSourceRunner({
    reader: stream,
    checkpoints: stream,
    handler,
    onFailure: errorsDestination(store),
    batchWindowMs: 0,
    retryBackoff: { baseMs: 1, maxMs: 5 },
    warn: quiet,
    ...options,
  });
}

describe('the event-source runner', () => {
  it('invokes the handler with Lambda-shaped batches no larger than the batch size', async () => {
    const { stream, store, sink, handler, ids } = await setup(1000);
    const sizes: number[] = [];
    let shape: KinesisStreamEvent['Records'][number] | undefined;
    const spy: ActivityHandler = (event) => {
      sizes.push(event.Records.length);
      shape ??= event.Records[0];
      return handler(event);
    };
    await runner(stream, store, spy, { batchSize: 100 }).run({ untilIdle: true });
    expect(Math.max(...sizes)).toBeLessThanOrEqual(100);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(1000);
    expect(shape).toMatchObject({
      eventSource: 'aws:kinesis',
      eventName: 'aws:kinesis:record',
      eventSourceARN: stream.streamArn,
      kinesis: { kinesisSchemaVersion: '1.0' },
    });
    expect(shape?.eventID).toBe(`${shape?.eventID.split(':')[0]}:${shape?.kinesis.sequenceNumber}`);
    expect(typeof shape?.kinesis.approximateArrivalTimestamp).toBe('number');
    expect((await readLanded(sink)).events.map((e) => e.event_id).sort()).toEqual([...ids].sort());
    await stream.close();
  });

  it('counts the batching window from the arrival of the first record of the batch', async () => {
    // Prepare: by the runner's clock the records arrived a minute ago, and the window is a minute.
    const { stream, store, sink, handler, ids } = await setup(300, 1);
    const sizes: number[] = [];
    const spy: ActivityHandler = (event) => {
      sizes.push(event.Records.length);
      return handler(event);
    };
    const clock = () => Date.now() + 60_000;
    const run = runner(stream, store, spy, { batchSize: 1000, batchWindowMs: 60_000, now: clock });
    // Act: not draining, so only the window can send a batch that is not full.
    const running = run.run();
    try {
      await waitFor('the first batch to be handed to the handler', () => sizes.length > 0);
    } finally {
      run.stop();
      await running;
    }
    // Assess: the window had passed when the records were read: one batch at once, all landed.
    expect(sizes).toEqual([300]);
    expect((await readLanded(sink)).events.map((e) => e.event_id).sort()).toEqual([...ids].sort());
    await stream.close();
  });

  it('fills batches while a shard is behind its tip, whatever the window', async () => {
    // Prepare: records that waited past the window, read 50 at a time.
    const { stream, store, handler } = await setup(300, 1);
    const sizes: number[] = [];
    const spy: ActivityHandler = (event) => {
      sizes.push(event.Records.length);
      return handler(event);
    };
    const reader = wrapReader(stream, {
      getRecords: (iterator, limit) => stream.getRecords(iterator, Math.min(limit, 50)),
    });
    // Act
    await runner(stream, store, spy, {
      reader,
      batchSize: 300,
      batchWindowMs: 1000,
      now: () => Date.now() + 60_000,
    }).run({ untilIdle: true });
    // Assess: one full batch, not one per read.
    expect(sizes).toEqual([300]);
    await stream.close();
  });

  it('checkpoints after success, so a second run lands nothing again', async () => {
    const { stream, store, sink, handler } = await setup(300);
    await runner(stream, store, handler).run({ untilIdle: true });
    const calls: number[] = [];
    await runner(stream, store, (e) => {
      calls.push(e.Records.length);
      return handler(e);
    }).run({ untilIdle: true });
    expect(calls).toEqual([]);
    expect((await readLanded(sink)).events).toHaveLength(300);
    await stream.close();
  });

  it('resumes from the lowest failed sequence number in batchItemFailures', async () => {
    const { stream, store, sink, handler, ids } = await setup(200, 1);
    let failedOnce = false;
    const partial: ActivityHandler = async (event) => {
      if (!failedOnce && event.Records.length > 50) {
        failedOnce = true;
        const first = event.Records.slice(0, 50);
        await handler({ Records: first });
        const failed = event.Records.slice(50).map((r) => ({ itemIdentifier: r.kinesis.sequenceNumber }));
        return { batchItemFailures: failed.reverse() };
      }
      return handler(event);
    };
    const r = runner(stream, store, partial);
    await r.run({ untilIdle: true });
    expect(failedOnce).toBe(true);
    expect(r.stats.retries).toBe(1);
    const landed = (await readLanded(sink)).events.map((e) => e.event_id);
    expect(landed).toHaveLength(200);
    expect([...landed].sort()).toEqual([...ids].sort());
    await stream.close();
  });

  it('bisects a batch whose invocation throws, and sends the poison record to errors/ after the retries', async () => {
    const { stream, store, sink, handler } = await setup(64, 1);
    const poisonSeq = (
      await stream.getRecords(
        await stream.getShardIterator('shardId-000000000000', { type: 'TRIM_HORIZON' }),
        64,
      )
    ).records[37]?.sequenceNumber;
    const sizes: number[] = [];
    const throwing: ActivityHandler = (event) => {
      sizes.push(event.Records.length);
      if (event.Records.some((r) => r.kinesis.sequenceNumber === poisonSeq)) throw new Error('handler bug');
      return handler(event);
    };
    await runner(stream, store, throwing, { maximumRetryAttempts: 8 }).run({ untilIdle: true });
    const landed = await readLanded(sink);
    expect(landed.events).toHaveLength(63);
    expect(landed.errors).toMatchObject([{ reason: 'handler_failed', sequence_number: poisonSeq }]);
    expect(sizes).toContain(1);
    await stream.close();
  });

  it('abandons an invocation that runs past the timeout and retries the same batch whole', async () => {
    const { stream, store, sink, handler, ids } = await setup(120, 1);
    const sizes: number[] = [];
    const remaining: number[] = [];
    let hung = false;
    const hanging: ActivityHandler = (event, context) => {
      sizes.push(event.Records.length);
      remaining.push(context?.getRemainingTimeInMillis() ?? Number.NaN);
      if (!hung) {
        hung = true;
        return new Promise(() => undefined); // never answers, like a write to a silent store
      }
      return handler(event, context);
    };
    const r = runner(stream, store, hanging, { batchSize: 200, invocationTimeoutMs: 300 });

    await r.run({ untilIdle: true });

    // The retry is the same 120 records (not bisected): an abandoned write could only rewrite its objects.
    expect(sizes).toEqual([120, 120]);
    expect(r.stats.retries).toBe(1);
    expect(remaining.every((ms) => ms > 0 && ms <= 300)).toBe(true);
    const landed = (await readLanded(sink)).events.map((e) => e.event_id);
    expect([...landed].sort()).toEqual([...ids].sort());
    await stream.close();
  });

  it('gives the handler a deadline, so its writes stop before the timeout and the batch is retried', async () => {
    const { stream, store, sink, ids } = await setup(50, 1);
    let puts = 0;
    const silentOnce = {
      ...store,
      url: store.url,
      put: (key: string, body: Uint8Array, options: { contentType: string }, signal?: AbortSignal) => {
        if (puts++ > 0) return store.put(key, body, options, signal);
        // A store that takes the request and never answers, until the caller gives up.
        return new Promise<void>((_, reject) =>
          signal?.addEventListener('abort', () => reject(signal.reason)),
        );
      },
    } as unknown as DirectoryStore;
    const warnings: string[] = [];
    const handler = createHandler({ store: silentOnce, warn: (w) => warnings.push(w) });
    const r = runner(stream, store, handler, { invocationTimeoutMs: 1_000 });

    await r.run({ untilIdle: true });

    expect(warnings.some((w) => /could not land batch of 50 records/.test(w))).toBe(true);
    expect(r.stats.retries).toBe(1);
    expect((await readLanded(sink)).events.map((e) => e.event_id).sort()).toEqual([...ids].sort());
    await stream.close();
  });

  it('sends records older than the maximum record age to errors/ as record_expired', async () => {
    const { stream, store, sink, handler } = await setup(10, 1);
    const later = Date.now() + 60_000;
    await runner(stream, store, handler, { maximumRecordAgeMs: 1_000, now: () => later }).run({
      untilIdle: true,
    });
    const landed = await readLanded(sink);
    expect(landed.events).toHaveLength(0);
    expect(landed.errors.map((e) => e.reason)).toEqual(Array(10).fill('record_expired'));
    await stream.close();
  });

  it('waits while the store is gone, keeps the checkpoint, and lands everything once when it returns', async () => {
    // Prepare: a file where events/ must go makes the directory store fail every write.
    const { stream, store, sink, handler, ids } = await setup(500, 2);
    await mkdir(sink, { recursive: true });
    await writeFile(path.join(sink, 'events'), 'in the way');
    const r = runner(stream, store, handler, { retryBackoff: { baseMs: 20, maxMs: 50 } });
    // Act
    const running = r.run({ untilIdle: true });
    await waitFor('the runner to retry the failing store four times', () => r.stats.retries >= 4, {
      state: () => r.stats,
    });
    const checkpointsWhileDown = await Promise.all(
      (await stream.listShards()).map((s) => stream.load('activity-consumer', s.shardId)),
    );
    await rm(path.join(sink, 'events'));
    await running;
    // Assess
    expect(checkpointsWhileDown).toEqual([undefined, undefined]);
    const landed = (await readLanded(sink)).events.map((e) => e.event_id);
    expect([...landed].sort()).toEqual([...ids].sort());
    await stream.close();
  });

  it('renews a shard iterator before it expires, from the last record read', async () => {
    // Prepare: a clock on which each batch takes 4.5 minutes to land, so an iterator gets near
    // Kinesis' 5 between two reads.
    const { stream, store, sink, handler, ids } = await setup(300, 1);
    let offset = 0;
    const slow: ActivityHandler = (event) => {
      offset += 270_000;
      return handler(event);
    };
    const positions: StartPosition[] = [];
    const reader = wrapReader(stream, {
      getShardIterator: (shardId, position) => {
        positions.push(position);
        return stream.getShardIterator(shardId, position);
      },
    });
    // Act
    await runner(stream, store, slow, { reader, batchSize: 100, now: () => Date.now() + offset }).run({
      untilIdle: true,
    });
    // Assess: renewed after the first read, after the last sequence number read; all landed once.
    expect(positions[0]).toEqual({ type: 'TRIM_HORIZON' });
    expect(positions.length).toBeGreaterThan(2);
    expect(positions.slice(1).every((p) => p.type === 'AFTER_SEQUENCE_NUMBER')).toBe(true);
    const landed = (await readLanded(sink)).events.map((e) => e.event_id);
    expect([...landed].sort()).toEqual([...ids].sort());
    await stream.close();
  });

  it('backs off while reads are throttled, gets a new iterator when one expired, and lands everything once', async () => {
    const { stream, store, sink, handler, ids } = await setup(400, 1);
    const faults: StreamErrorCode[] = ['throttled', 'throttled', 'throttled', 'iterator_expired'];
    let iterators = 0;
    const warnings: string[] = [];
    const reader = wrapReader(stream, {
      getShardIterator: (shardId, position) => {
        iterators++;
        return stream.getShardIterator(shardId, position);
      },
      getRecords: (iterator, limit) => {
        const fault = faults.shift();
        if (fault !== undefined)
          return Promise.reject(new StreamError(fault, `injected ${fault}`, { retriable: true }));
        return stream.getRecords(iterator, limit);
      },
    });
    await runner(stream, store, handler, { reader, batchSize: 100, warn: (m) => warnings.push(m) }).run({
      untilIdle: true,
    });
    expect(faults).toEqual([]);
    expect(iterators).toBe(2);
    expect(warnings.filter((w) => w.includes('injected throttled'))).toHaveLength(3);
    const landed = (await readLanded(sink)).events.map((e) => e.event_id);
    expect([...landed].sort()).toEqual([...ids].sort());
    await stream.close();
  });

  it('fails the run on a read error that will not pass, naming it', async () => {
    const { stream, store, handler } = await setup(10, 1);
    const reader = wrapReader(stream, {
      getRecords: () => Promise.reject(new StreamError('access_denied', 'GetRecords was refused')),
    });
    await expect(runner(stream, store, handler, { reader }).run({ untilIdle: true })).rejects.toThrow(
      'GetRecords was refused',
    );
    await stream.close();
  });

  it('rejects bad options with the bad value in the message', () => {
    const make = (o: Partial<RunnerOptions>) => () =>
      new EventSourceRunner({
        reader: {} as never,
        checkpoints: {} as never,
        handler: {} as never,
        onFailure: {} as never,
        ...o,
      });
    expect(make({ batchSize: 0 })).toThrow('batch size must be an integer between 1 and 10000 (given 0)');
    expect(make({ batchWindowMs: 300_001 })).toThrow('(given 300001)');
  });
});
