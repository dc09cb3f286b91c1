import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, PipelineError, StreamError } from '../../src/core/errors.js';
import { MAX_PUT_BYTES, MAX_PUT_RECORDS, MAX_RECORD_BYTES } from '../../src/core/limits.js';
import type { PutEntryResult, PutRecordsResult, RecordToPut, StreamWriter } from '../../src/core/ports.js';
import { type AcceptedRecord, BatchingProducer } from '../../src/producer/index.js';
import { waitFor } from '../support/wait.js';

/** What the fake stream does with one record of a put. */
type EntryFault = 'ok' | 'throttle' | 'fatal';

interface FakeOptions {
  /** The fate of each record of each put; all accepted by default. */
  entry?: (record: RecordToPut, attempt: number) => EntryFault;
  /** An error to throw instead of answering put number `call` (from 1). */
  call?: (call: number) => Error | undefined;
  /** Waits before answering; the default answers on the next turn of the event loop. */
  delay?: (signal?: AbortSignal) => Promise<void>;
}

/**
 * An in-memory stream with Kinesis' `PutRecords` semantics and injectable faults: the only way to
 * throttle single entries on demand. Sequence numbers are given when a put is answered, as the
 * stream would, so puts that overlap can interleave.
 */
class FakeStream implements StreamWriter {
  /** The records of every put call, as sent. */
  readonly calls: RecordToPut[][] = [];
  /** Accepted records, in the order the stream accepted them. */
  readonly log: { key: string; data: string; sequenceNumber: string }[] = [];
  closed = false;
  concurrent = 0;
  maxConcurrent = 0;
  private sequence = 0;
  private readonly attempts = new Map<string, number>();

  constructor(private readonly options: FakeOptions = {}) {}

  async connect(): Promise<void> {}

  async putRecords(records: readonly RecordToPut[], signal?: AbortSignal): Promise<PutRecordsResult> {
    this.calls.push([...records]);
    const call = this.calls.length;
    this.concurrent++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.concurrent);
    try {
      await (this.options.delay ?? nextTurn)(signal);
    } finally {
      this.concurrent--;
    }
    const error = this.options.call?.(call);
    if (error) throw error;
    const results = records.map((record): PutEntryResult => {
      const data = text(record);
      const attempt = (this.attempts.get(data) ?? 0) + 1;
      this.attempts.set(data, attempt);
      const fault = this.options.entry?.(record, attempt) ?? 'ok';
      if (fault === 'throttle') {
        return {
          ok: false,
          errorCode: 'ProvisionedThroughputExceededException',
          errorMessage: 'Rate exceeded for shard shardId-000000000000',
          retriable: true,
        };
      }
      if (fault === 'fatal') {
        return { ok: false, errorCode: 'ValidationException', errorMessage: 'bad record', retriable: false };
      }
      const sequenceNumber = String(++this.sequence).padStart(20, '0');
      this.log.push({ key: record.partitionKey, data, sequenceNumber });
      return { ok: true, shardId: 'shardId-000000000000', sequenceNumber };
    });
    return { failedRecordCount: results.filter((result) => !result.ok).length, records: results };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const text = (record: RecordToPut) => Buffer.from(record.data).toString('utf8');
const bytesOf = (records: RecordToPut[]) =>
  records.reduce((sum, record) => sum + record.data.byteLength + Buffer.byteLength(record.partitionKey), 0);

function record(key: string, n: number, padding = 0): RecordToPut {
  return { partitionKey: key, data: Buffer.from(`${key}#${n}${' '.repeat(padding)}`) };
}

/** A stream of numbers in [0, 1) that is the same every run. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** Marks a promise handled at once, as a producing loop must, and still lets it be awaited later. */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return error instanceof PipelineError ? error.code : `not a PipelineError: ${String(error)}`;
  }
}

const QUICK_RETRIES = { baseMs: 1, maxMs: 2 };

describe('BatchingProducer', () => {
  it('refuses bad options with the bad value in the message', () => {
    const stream = new FakeStream();
    expect(() => new BatchingProducer(stream, { maxInFlightPuts: 0 })).toThrow(ConfigError);
    expect(() => new BatchingProducer(stream, { maxInFlightPuts: 0 })).toThrow(
      'maxInFlightPuts must be an integer between 1 and 64 (given 0)',
    );
    expect(() => new BatchingProducer(stream, { lingerMs: -1 })).toThrow('(given -1)');
    expect(() => new BatchingProducer(stream, { recordTtlMs: 0.5 })).toThrow('(given 0.5)');
  });

  it('puts batches of at most 500 records and 5 MiB', async () => {
    const stream = new FakeStream();
    const producer = new BatchingProducer(stream, { maxInFlightPuts: 1, lingerMs: 20 });
    const outcomes: Promise<AcceptedRecord>[] = [];
    for (let i = 0; i < 1_200; i++) outcomes.push(producer.put(record(`user_${i % 7}`, i)));
    for (let i = 0; i < 60; i++) outcomes.push(producer.put(record('big', i, 100 * 1024)));
    for (let i = 0; i < 12; i++) outcomes.push(producer.put(record('huge', i, MAX_RECORD_BYTES - 20)));
    await Promise.all(outcomes);

    for (const call of stream.calls) {
      expect(call.length).toBeLessThanOrEqual(MAX_PUT_RECORDS);
      expect(bytesOf(call)).toBeLessThanOrEqual(MAX_PUT_BYTES);
    }
    expect(stream.calls.some((call) => call.length === MAX_PUT_RECORDS)).toBe(true);
    expect(stream.calls.some((call) => bytesOf(call) > MAX_PUT_BYTES - MAX_RECORD_BYTES)).toBe(true);
    expect(stream.log).toHaveLength(1_272);
  });

  it("keeps each key's records in order with several puts in flight", async () => {
    const random = seeded(1);
    // Puts take 0–3 ms at random, so a later put may be answered before an earlier one.
    const stream = new FakeStream({ delay: () => pause(Math.floor(random() * 4)) });
    const producer = new BatchingProducer(stream, { maxInFlightPuts: 4, lingerMs: 1 });
    const keys = Array.from({ length: 20 }, (_, i) => `user_${i}`);
    const outcomes: Promise<AcceptedRecord>[] = [];
    for (let n = 0; n < 4_000; n++) {
      await producer.ready();
      outcomes.push(producer.put(record(keys[n % keys.length] ?? '', n)));
      if (n % 250 === 0) await pause(1);
    }
    const accepted = await Promise.all(outcomes);

    expect(stream.maxConcurrent).toBeGreaterThan(1);
    for (const key of keys) {
      const landed = stream.log.filter((entry) => entry.key === key).map((entry) => entry.data);
      const sent = Array.from({ length: 4_000 }, (_, n) => n)
        .filter((n) => n % keys.length === keys.indexOf(key))
        .map((n) => `${key}#${n}`);
      expect(landed).toEqual(sent);
    }
    expect(accepted.every((outcome) => outcome.attempts === 1)).toBe(true);
  });

  it('retries only the records that failed, in their order', async () => {
    const throttledOnce = new Set(['k#2', 'k#5', 'k#7']);
    const stream = new FakeStream({
      entry: (entry, attempt) => (attempt === 1 && throttledOnce.has(text(entry)) ? 'throttle' : 'ok'),
    });
    const producer = new BatchingProducer(stream, { maxInFlightPuts: 1, backoff: QUICK_RETRIES });
    const outcomes = Array.from({ length: 10 }, (_, n) => producer.put(record('k', n)));
    const accepted = await Promise.all(outcomes);

    expect(stream.calls.map((call) => call.map(text))).toEqual([
      Array.from({ length: 10 }, (_, n) => `k#${n}`),
      ['k#2', 'k#5', 'k#7'],
    ]);
    expect(accepted.map((outcome) => outcome.attempts)).toEqual([1, 1, 2, 1, 1, 2, 1, 2, 1, 1]);
    expect(producer.stats).toEqual({ accepted: 10, failed: 0, retries: 3, inFlight: 0, buffered: 0 });
  });

  it('lands throttled records in the end, none lost and none twice', async () => {
    const random = seeded(2);
    const stream = new FakeStream({ entry: () => (random() < 0.3 ? 'throttle' : 'ok') });
    const producer = new BatchingProducer(stream, { backoff: QUICK_RETRIES });
    const outcomes: Promise<AcceptedRecord>[] = [];
    for (let n = 0; n < 3_000; n++) {
      await producer.ready();
      outcomes.push(producer.put(record(`user_${n % 50}`, n)));
    }
    await Promise.all(outcomes);
    await producer.close();

    const landed = stream.log.map((entry) => entry.data).sort();
    const sent = Array.from({ length: 3_000 }, (_, n) => `user_${n % 50}#${n}`).sort();
    expect(landed).toEqual(sent);
    expect(producer.stats.retries).toBeGreaterThan(500);
    expect(producer.stats.accepted).toBe(3_000);
  });

  it('retries a whole put that failed retriably, and fails every record of one that cannot succeed', async () => {
    const retriable = new FakeStream({
      call: (n) => (n === 1 ? new StreamError('throttled', 'slow down', { retriable: true }) : undefined),
    });
    const producer = new BatchingProducer(retriable, { backoff: QUICK_RETRIES });
    await Promise.all([producer.put(record('a', 1)), producer.put(record('a', 2))]);
    expect(retriable.calls).toHaveLength(2);

    const missing = new FakeStream({ call: () => new StreamError('stream_not_found', 'no such stream') });
    const doomed = new BatchingProducer(missing, { backoff: QUICK_RETRIES });
    const codes = await Promise.all([codeOf(doomed.put(record('a', 1))), codeOf(doomed.put(record('b', 2)))]);
    expect(codes).toEqual(['stream_not_found', 'stream_not_found']);

    const broken = new FakeStream({ call: () => new TypeError('socket hang up') });
    const unlucky = new BatchingProducer(broken, { backoff: QUICK_RETRIES });
    await expect(unlucky.put(record('a', 1))).rejects.toMatchObject({
      code: 'put_failed',
      message: 'putting records failed: socket hang up',
    });
    expect(missing.calls.length + broken.calls.length).toBe(3);
    expect(doomed.stats.failed).toBe(2);
  });

  it('reports a record the stream refuses for good, without retrying it', async () => {
    const stream = new FakeStream({ entry: (entry) => (text(entry) === 'k#3' ? 'fatal' : 'ok') });
    const producer = new BatchingProducer(stream, { backoff: QUICK_RETRIES });
    const outcomes = Array.from({ length: 6 }, (_, n) => handled(producer.put(record('k', n))));
    const settled = await Promise.allSettled(outcomes);

    expect(settled.map((outcome) => outcome.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
    await expect(outcomes[3]).rejects.toMatchObject({
      code: 'put_rejected',
      message: 'the stream refused the record: ValidationException: bad record',
    });
    expect(stream.calls).toHaveLength(1);
    expect(producer.stats).toMatchObject({ accepted: 5, failed: 1, retries: 0 });
  });

  it("reports records still failing after their time to live as 'put_timeout'", async () => {
    const stream = new FakeStream({ entry: () => 'throttle' });
    const producer = new BatchingProducer(stream, { recordTtlMs: 30, backoff: QUICK_RETRIES });
    const outcomes = [handled(producer.put(record('a', 1))), handled(producer.put(record('b', 2)))];

    for (const outcome of outcomes) {
      await expect(outcome).rejects.toMatchObject({
        code: 'put_timeout',
        message: expect.stringMatching(
          /^record not accepted within 30 ms after \d+ attempts \(last error: .*ProvisionedThroughputExceeded/,
        ),
      });
    }
    expect(stream.calls.length).toBeGreaterThan(2);
    expect(producer.stats).toMatchObject({ accepted: 0, failed: 2, inFlight: 0, buffered: 0 });
  });

  it('holds a fast producer back once the bound is reached, and an abort releases everything', async () => {
    // A stream that never answers, until the abort.
    const hung = new FakeStream({
      delay: (signal) =>
        new Promise((_, reject) =>
          signal?.addEventListener('abort', () => reject(signal.reason), { once: true }),
        ),
    });
    const controller = new AbortController();
    const producer = new BatchingProducer(hung, {
      maxPendingRecords: 100,
      lingerMs: 0,
      signal: controller.signal,
    });
    const outcomes: Promise<AcceptedRecord>[] = [];
    const producing = (async () => {
      for (let n = 0; n < 10_000; n++) {
        await producer.ready();
        outcomes.push(handled(producer.put(record(`user_${n % 10}`, n))));
      }
    })();
    await waitFor('the producer to take 100 records, its bound', () => outcomes.length >= 100, {
      state: () => `${outcomes.length} taken`,
    });
    await pause(30);

    expect(outcomes.length).toBe(100);
    const { inFlight, buffered } = producer.stats;
    expect(inFlight).toBeGreaterThan(0);
    expect(inFlight + buffered).toBe(100);

    controller.abort();
    await expect(producing).rejects.toMatchObject({ code: 'aborted' });
    const codes = await Promise.all(outcomes.map(codeOf));
    expect(new Set(codes)).toEqual(new Set(['aborted']));
    expect(() => producer.put(record('late', 1))).toThrow(PipelineError);
    await producer.flush();
    expect(producer.stats).toMatchObject({ accepted: 0, failed: 100, inFlight: 0, buffered: 0 });
  });

  it('bounds the bytes buffered too', async () => {
    const hung = new FakeStream({ delay: () => new Promise(() => {}) });
    const producer = new BatchingProducer(hung, { maxPendingBytes: 10_000, lingerMs: 0 });
    let put = 0;
    void (async () => {
      for (let n = 0; n < 1_000; n++) {
        await producer.ready();
        handled(producer.put(record('k', n, 1_000)));
        put++;
      }
    })();
    // Each record is a little over 1,000 bytes: the tenth reaches the bound.
    await waitFor('the producer to take ten records, its bound in bytes', () => put >= 10, {
      state: () => `${put} taken`,
    });
    await pause(30);

    expect(put).toBe(10);
  });

  it('delivers everything on close, then closes the writer and refuses more', async () => {
    const stream = new FakeStream();
    // A linger far longer than the test's timeout: only the flush can send these.
    const producer = new BatchingProducer(stream, { lingerMs: 60_000 });
    const outcomes = Array.from({ length: 1_234 }, (_, n) => producer.put(record(`user_${n % 9}`, n)));
    await producer.close();

    expect(stream.log).toHaveLength(1_234);
    expect(stream.closed).toBe(true);
    expect((await Promise.all(outcomes)).every((outcome) => outcome.sequenceNumber !== '')).toBe(true);
    expect(() => producer.put(record('late', 1))).toThrow('put() after close()');
    await expect(producer.ready()).rejects.toMatchObject({ code: 'producer_closed' });
  });

  it('refuses a record over the size limit, or with an unusable key, before trying', async () => {
    const stream = new FakeStream();
    const producer = new BatchingProducer(stream);
    const tooLarge = handled(
      producer.put({ partitionKey: 'ab', data: new Uint8Array(MAX_RECORD_BYTES - 1) }),
    );
    const justFits = producer.put({ partitionKey: 'a', data: new Uint8Array(MAX_RECORD_BYTES - 1) });
    const noKey = handled(producer.put({ partitionKey: '', data: Buffer.from('{}') }));

    await expect(tooLarge).rejects.toMatchObject({
      code: 'record_too_large',
      message: `record is ${MAX_RECORD_BYTES + 1} bytes (data plus partition key); a stream record may be at most ${MAX_RECORD_BYTES} bytes`,
    });
    await expect(noKey).rejects.toMatchObject({ code: 'invalid_partition_key' });
    await expect(justFits).resolves.toMatchObject({ ok: true, attempts: 1 });
    expect(stream.calls.flat()).toHaveLength(1);
    expect(producer.stats).toMatchObject({ accepted: 1, failed: 2 });
  });

  it('settles every record exactly once, whatever the stream does to each entry and call', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom<EntryFault>('ok', 'ok', 'throttle', 'throttle', 'fatal'), {
          maxLength: 600,
        }),
        fc.array(fc.constantFrom('answer', 'answer', 'throttled', 'broken'), { maxLength: 20 }),
        fc.integer({ min: 1, max: 400 }),
        fc.integer({ min: 1, max: 4 }),
        async (entryFaults, callFaults, count, lanes) => {
          let nextEntry = 0;
          const stream = new FakeStream({
            entry: () => entryFaults[nextEntry++] ?? 'ok',
            call: (n) => {
              const fault = callFaults[n - 1];
              if (fault === 'throttled')
                return new StreamError('throttled', 'slow down', { retriable: true });
              if (fault === 'broken')
                return new StreamError('stream_failed', 'cannot put', { retriable: false });
              return undefined;
            },
          });
          const producer = new BatchingProducer(stream, {
            maxInFlightPuts: lanes,
            lingerMs: 0,
            maxPendingRecords: 50,
            backoff: { baseMs: 0, maxMs: 0 },
          });
          const outcomes: Promise<AcceptedRecord>[] = [];
          for (let n = 0; n < count; n++) {
            await producer.ready();
            outcomes.push(handled(producer.put(record(`user_${n % 13}`, n))));
          }
          await producer.close();
          const settled = await Promise.allSettled(outcomes);

          const landed = new Map(stream.log.map((entry) => [entry.data, entry.sequenceNumber]));
          expect(landed.size).toBe(stream.log.length); // nothing accepted twice
          settled.forEach((outcome, n) => {
            const sequenceNumber = landed.get(`user_${n % 13}#${n}`);
            if (outcome.status === 'fulfilled') expect(outcome.value.sequenceNumber).toBe(sequenceNumber);
            else expect(sequenceNumber).toBeUndefined();
            if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(PipelineError);
          });
          const accepted = settled.filter((outcome) => outcome.status === 'fulfilled').length;
          expect(landed.size).toBe(accepted);
          expect(producer.stats).toMatchObject({
            accepted,
            failed: count - accepted,
            inFlight: 0,
            buffered: 0,
          });
        },
      ),
      { numRuns: 60 },
    );
  });
});
