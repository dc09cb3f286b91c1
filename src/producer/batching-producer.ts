import { describeError, PipelineError } from '../core/errors.js';
import { checkInteger, MAX_PUT_BYTES, MAX_PUT_RECORDS } from '../core/limits.js';
import type { PutEntryResult, PutRecordsResult, RecordToPut, StreamWriter } from '../core/ports.js';
import { recordRefusal } from '../stream/put-limits.js';
import { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF, sleep } from '../util/backoff.js';

export interface BatchingProducerOptions {
  /** How long a batch that is not full waits for more records, in milliseconds. Default 5. */
  lingerMs?: number;
  /** `ready()` waits while this many records are buffered or in flight. Default 10,000. */
  maxPendingRecords?: number;
  /** `ready()` waits while this many bytes (data plus partition keys) are buffered or in flight. Default 16 MiB. */
  maxPendingBytes?: number;
  /** Puts in flight at once: records are spread over this many lanes by partition key, one put each. Default 4. */
  maxInFlightPuts?: number;
  /** A record not accepted this long after `put()` fails with code `put_timeout`. Default 30,000 ms. */
  recordTtlMs?: number;
  /** The delays between retries of throttled records. Default 100 ms doubling up to 5 s, with full jitter. */
  backoff?: BackoffOptions;
  /**
   * Aborting stops at once: buffered records and records waiting to be retried fail with code `aborted`,
   * puts in flight get the signal, `ready()` rejects, `put()` throws. For a graceful stop use `close()`.
   */
  signal?: AbortSignal;
}

/** A record the stream has durably accepted. */
export type AcceptedRecord = Extract<PutEntryResult, { ok: true }> & {
  /** The puts it took: 1 when it went through the first time. */
  attempts: number;
};

/** Progress, for displays. */
export interface ProducerStats {
  /** Records the stream accepted. */
  accepted: number;
  /** Records reported failed: refused up front, rejected by the stream, timed out or aborted. */
  failed: number;
  /** Records sent again after a retriable failure (a record retried twice counts twice). */
  retries: number;
  /** Records in puts that have not returned yet. */
  inFlight: number;
  /** Records waiting for their first put or for a retry. */
  buffered: number;
}

const DEFAULTS = {
  lingerMs: 5,
  maxPendingRecords: 10_000,
  maxPendingBytes: 16 * 1024 * 1024,
  maxInFlightPuts: 4,
  recordTtlMs: 30_000,
};

const RESOLVED = Promise.resolve();
/** Stands in for a promise's resolve or reject until its executor runs (synchronously). */
const ignore = (): void => {};

/** What a writer that answers with fewer entries than records it was given is taken to mean. */
const MISSING_ENTRY: PutEntryResult = {
  ok: false,
  errorCode: 'MissingEntry',
  errorMessage: 'the stream returned no result for this record',
  retriable: false,
};

/** Why a put of a record failed: the entry's error, or the error of the whole call. */
type Failure = Extract<PutEntryResult, { ok: false }> | PipelineError;

/** A record between `put()` and its outcome. */
class Pending {
  attempts = 0;
  resolve: (accepted: AcceptedRecord) => void = ignore;
  reject: (error: PipelineError) => void = ignore;

  constructor(
    readonly record: RecordToPut,
    /** Data plus partition key, in bytes: what Kinesis counts against its limits. */
    readonly size: number,
    /** When `put()` was called, on the `performance.now()` clock. */
    readonly since: number,
  ) {}
}

interface Waiter {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

function waiter(): Waiter {
  let resolve: () => void = ignore;
  let reject: (error: unknown) => void = ignore;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * The records of the partition keys that hash to one lane. A lane has at most one put in flight, and
 * retries its failed records before anything newer, so one key's records reach the stream in order.
 */
class Lane {
  /** Records that failed retriably in the last put: they lead the next one. */
  retry: Pending[] = [];
  /** Records waiting for their first put, oldest at `head` (taking a batch moves `head`, not the array). */
  queue: Pending[] = [];
  head = 0;
  queuedBytes = 0;
  /** A put is in flight, or the lane is waiting out a backoff. */
  busy = false;
  /** Puts in a row that had records to retry: the backoff's attempt number. */
  failedRounds = 0;
  timer: NodeJS.Timeout | undefined = undefined;

  constructor(readonly onLinger: () => void) {}

  get queued(): number {
    return this.queue.length - this.head;
  }
}

/** Why a record can never be put, found before trying (Kinesis' own limits); `undefined` when it may be. */
function refusal(record: RecordToPut, size: number): PipelineError | undefined {
  const refused = recordRefusal(record, size);
  return refused && new PipelineError(refused.code, refused.message, { stage: 'producer' });
}

/** FNV-1a over the key's UTF-16 units: cheap, and spreads `user_1` … `user_N` evenly. */
function hashKey(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/**
 * Puts records on a stream in batches (`PutRecords` of at most 500 records and 5 MiB), with a short
 * linger, a bound on memory, several puts in flight, and retries of only the records that failed.
 *
 * - `put(record)` returns at once with a promise of the record's outcome: it resolves once the stream
 *   has durably accepted the record, or rejects with a `PipelineError` (`record_too_large`,
 *   `invalid_partition_key`, `put_rejected`, `put_timeout`, `aborted`, or the writer's own
 *   non-retriable error). Nothing is dropped silently: attach a handler to every promise at once
 *   (`put(r).then(onAccepted, onFailed)`), or Node reports an unhandled rejection.
 * - Backpressure: `put()` always buffers, so a producing loop must `await ready()` between puts;
 *   `ready()` waits while `maxPendingRecords` or `maxPendingBytes` are buffered or in flight.
 * - Order: records are spread over `maxInFlightPuts` lanes by partition key; each lane has one put in
 *   flight at a time and retries its failed records before newer ones. So one key's records reach the
 *   stream in `put()` order, with one exception that is Kinesis' own: when a put fails some records
 *   but not others, later records of the same key in that put may have been accepted already, and the
 *   retried record lands after them (the `PutRecords` documentation says the same).
 */
export class BatchingProducer {
  private readonly lingerMs: number;
  private readonly maxPendingRecords: number;
  private readonly maxPendingBytes: number;
  private readonly ttlMs: number;
  private readonly backoff: BackoffOptions;
  private readonly signal: AbortSignal | undefined;
  private readonly lanes: Lane[];

  private pendingRecords = 0;
  private pendingBytes = 0;
  private inFlight = 0;
  private accepted = 0;
  private failed = 0;
  private retries = 0;

  private readyWaiter: Waiter | undefined;
  private flushWaiter: Waiter | undefined;
  private closing: Promise<void> | undefined;
  private abortError: PipelineError | undefined;

  constructor(
    private readonly writer: StreamWriter,
    options: BatchingProducerOptions = {},
  ) {
    this.lingerMs = checkInteger('lingerMs', options.lingerMs ?? DEFAULTS.lingerMs, 0, 60_000);
    this.maxPendingRecords = checkInteger(
      'maxPendingRecords',
      options.maxPendingRecords ?? DEFAULTS.maxPendingRecords,
      1,
      10_000_000,
    );
    this.maxPendingBytes = checkInteger(
      'maxPendingBytes',
      options.maxPendingBytes ?? DEFAULTS.maxPendingBytes,
      1,
      2 ** 40,
    );
    this.ttlMs = checkInteger('recordTtlMs', options.recordTtlMs ?? DEFAULTS.recordTtlMs, 1, 86_400_000);
    const lanes = checkInteger('maxInFlightPuts', options.maxInFlightPuts ?? DEFAULTS.maxInFlightPuts, 1, 64);
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.lanes = Array.from({ length: lanes }, () => {
      // Timers are armed only while the lane is idle, and `send` clears them: when one fires, the lane is idle.
      const lane: Lane = new Lane(() => {
        lane.timer = undefined;
        void this.send(lane);
      });
      return lane;
    });
    this.signal = options.signal;
    if (this.signal?.aborted) this.onAbort();
    else this.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Connects the writer. */
  connect(): Promise<void> {
    return this.writer.connect();
  }

  /**
   * Buffers a record for the stream. Resolves when the stream has accepted it; rejects with a
   * `PipelineError` when it never will. Throws at once after `close()` or an abort.
   */
  put(record: RecordToPut): Promise<AcceptedRecord> {
    if (this.abortError) throw this.abortError;
    if (this.closing) throw closedError('put');
    const size = Buffer.byteLength(record.partitionKey, 'utf8') + record.data.byteLength;
    const refused = refusal(record, size);
    if (refused) {
      this.failed++;
      return Promise.reject(refused);
    }
    const pending = new Pending(record, size, performance.now());
    const outcome = new Promise<AcceptedRecord>((resolve, reject) => {
      pending.resolve = resolve;
      pending.reject = reject;
    });
    const lane = this.laneOf(record.partitionKey);
    lane.queue.push(pending);
    lane.queuedBytes += size;
    this.pendingRecords++;
    this.pendingBytes += size;
    this.schedule(lane);
    return outcome;
  }

  /** Resolves when there is room for more records; rejects once the producer is closed or aborted. */
  ready(): Promise<void> {
    if (this.abortError) return Promise.reject(this.abortError);
    if (this.closing) return Promise.reject(closedError('ready'));
    if (this.hasRoom()) return RESOLVED;
    this.readyWaiter ??= waiter();
    return this.readyWaiter.promise;
  }

  /** Resolves once every record put so far (and any put meanwhile) is accepted or reported failed. */
  flush(): Promise<void> {
    if (this.pendingRecords === 0) return RESOLVED;
    if (!this.flushWaiter) {
      this.flushWaiter = waiter();
      // While a flush waits, lanes put what they have at once instead of lingering.
      for (const lane of this.lanes) this.schedule(lane);
    }
    return this.flushWaiter.promise;
  }

  /** Flushes, then closes the writer. From now on `put()` throws and `ready()` rejects. */
  close(): Promise<void> {
    if (!this.closing) {
      this.readyWaiter?.reject(closedError('ready'));
      this.readyWaiter = undefined;
      this.closing = this.flush().then(() => {
        this.signal?.removeEventListener('abort', this.onAbort);
        return this.writer.close();
      });
    }
    return this.closing;
  }

  /** Counts so far, for progress displays. */
  get stats(): ProducerStats {
    return {
      accepted: this.accepted,
      failed: this.failed,
      retries: this.retries,
      inFlight: this.inFlight,
      buffered: this.pendingRecords - this.inFlight,
    };
  }

  private hasRoom(): boolean {
    return this.pendingRecords < this.maxPendingRecords && this.pendingBytes < this.maxPendingBytes;
  }

  private laneOf(partitionKey: string): Lane {
    const index = this.lanes.length === 1 ? 0 : hashKey(partitionKey) % this.lanes.length;
    return this.lanes[index] as Lane; // index < lanes.length
  }

  /** Puts the lane's records now if a batch is due, or arms its linger timer. */
  private schedule(lane: Lane): void {
    if (lane.busy) return;
    if (this.abortError) {
      this.failWaiting(lane, this.abortError);
      return;
    }
    const oldest = lane.queue[lane.head];
    if (oldest === undefined && lane.retry.length === 0) return;
    const full = lane.queued >= MAX_PUT_RECORDS || lane.queuedBytes >= MAX_PUT_BYTES;
    if (full || lane.retry.length > 0 || this.flushWaiter) {
      void this.send(lane);
    } else if (oldest && lane.timer === undefined) {
      // The linger counts from the oldest record's arrival, so records that waited out a put go soon after.
      const wait = oldest.since + this.lingerMs - performance.now();
      lane.timer = setTimeout(lane.onLinger, Math.max(0, wait));
    }
  }

  /** Puts one batch from the lane, settles what it can, then waits out a backoff if records must be retried. */
  private async send(lane: Lane): Promise<void> {
    lane.busy = true;
    clearTimeout(lane.timer);
    lane.timer = undefined;
    const batch = this.takeBatch(lane);
    if (batch.length > 0) {
      this.inFlight += batch.length;
      const outcome = await this.putBatch(batch);
      this.inFlight -= batch.length;
      const retry = this.settle(batch, outcome);
      this.wake();
      if (retry.length > 0) {
        lane.retry = retry;
        this.retries += retry.length;
        lane.failedRounds++;
        try {
          await sleep(backoffDelay(lane.failedRounds, this.backoff), this.signal);
        } catch {
          // Aborted: `schedule` fails what the lane still holds.
        }
      } else {
        lane.failedRounds = 0;
      }
    }
    lane.busy = false;
    this.wake();
    this.schedule(lane);
  }

  /**
   * The lane's next batch: the records to retry first, then the oldest queued records, up to the
   * `PutRecords` limits. Queued records already past their time to live fail here instead.
   */
  private takeBatch(lane: Lane): Pending[] {
    const batch = lane.retry;
    lane.retry = [];
    let bytes = 0;
    for (const pending of batch) bytes += pending.size;
    const now = performance.now();
    const queue = lane.queue;
    let head = lane.head;
    while (batch.length < MAX_PUT_RECORDS) {
      const pending = queue[head];
      if (pending === undefined || bytes + pending.size > MAX_PUT_BYTES) break;
      head++;
      lane.queuedBytes -= pending.size;
      if (now - pending.since >= this.ttlMs) {
        this.fail(pending, this.timeoutError(pending, undefined));
        continue;
      }
      batch.push(pending);
      bytes += pending.size;
    }
    // Drop the taken prefix once it is at least half the array: amortised O(1) a record, no `shift()`.
    if (head * 2 >= queue.length) {
      lane.queue = queue.slice(head);
      lane.head = 0;
    } else {
      lane.head = head;
    }
    return batch;
  }

  /** Calls the writer; a thrown error becomes the outcome of every record of the batch. */
  private async putBatch(batch: Pending[]): Promise<PutRecordsResult | PipelineError> {
    const records: RecordToPut[] = new Array(batch.length);
    for (let i = 0; i < batch.length; i++) records[i] = (batch[i] as Pending).record;
    try {
      return await this.writer.putRecords(records, this.signal);
    } catch (error) {
      if (error instanceof PipelineError) return error;
      return new PipelineError('put_failed', `putting records failed: ${describeError(error)}`, {
        stage: 'producer',
        cause: error,
      });
    }
  }

  /** Resolves the accepted records, fails the hopeless ones, and returns those to retry. */
  private settle(batch: Pending[], outcome: PutRecordsResult | PipelineError): Pending[] {
    const retry: Pending[] = [];
    const now = performance.now();
    for (let i = 0; i < batch.length; i++) {
      const pending = batch[i] as Pending;
      pending.attempts++;
      const entry = outcome instanceof PipelineError ? outcome : (outcome.records[i] ?? MISSING_ENTRY);
      if (!(entry instanceof PipelineError) && entry.ok) {
        this.accept(pending, entry);
      } else if (this.abortError) {
        this.fail(pending, this.abortError);
      } else if (entry.retriable && now - pending.since < this.ttlMs) {
        // Later records of the same key in this batch may have been accepted: Kinesis' own reordering.
        retry.push(pending);
      } else {
        this.fail(pending, entry.retriable ? this.timeoutError(pending, entry) : asError(entry));
      }
    }
    return retry;
  }

  private accept(pending: Pending, entry: Extract<PutEntryResult, { ok: true }>): void {
    this.accepted++;
    this.release(pending);
    pending.resolve({
      ok: true,
      shardId: entry.shardId,
      sequenceNumber: entry.sequenceNumber,
      attempts: pending.attempts,
    });
  }

  private fail(pending: Pending, error: PipelineError): void {
    this.failed++;
    this.release(pending);
    pending.reject(error);
  }

  private release(pending: Pending): void {
    this.pendingRecords--;
    this.pendingBytes -= pending.size;
  }

  private timeoutError(pending: Pending, last: Failure | undefined): PipelineError {
    const cause = last === undefined ? undefined : asError(last);
    const lastError =
      cause === undefined ? 'it was still waiting for its first put' : `last error: ${cause.message}`;
    return new PipelineError(
      'put_timeout',
      `record not accepted within ${this.ttlMs} ms after ${pending.attempts} attempts (${lastError})`,
      // The stream may take it later: a sender may send it again.
      { stage: 'producer', cause, retriable: true },
    );
  }

  /** Fails every record the lane holds that is not in flight: after an abort. */
  private failWaiting(lane: Lane, error: PipelineError): void {
    clearTimeout(lane.timer);
    lane.timer = undefined;
    const waiting = [...lane.retry, ...lane.queue.slice(lane.head)];
    lane.retry = [];
    lane.queue = [];
    lane.head = 0;
    lane.queuedBytes = 0;
    for (const pending of waiting) this.fail(pending, error);
  }

  /** Lets `ready()` and `flush()` callers go on once their condition holds. */
  private wake(): void {
    if (this.readyWaiter && this.hasRoom()) {
      this.readyWaiter.resolve();
      this.readyWaiter = undefined;
    }
    if (this.flushWaiter && this.pendingRecords === 0) {
      this.flushWaiter.resolve();
      this.flushWaiter = undefined;
    }
  }

  private readonly onAbort = (): void => {
    this.abortError = new PipelineError(
      'aborted',
      `producer aborted with ${this.pendingRecords} records not yet accepted`,
      { stage: 'producer', cause: this.signal?.reason, retriable: true },
    );
    this.readyWaiter?.reject(this.abortError);
    this.readyWaiter = undefined;
    for (const lane of this.lanes) this.schedule(lane);
    this.wake();
  };
}

function closedError(method: 'put' | 'ready'): PipelineError {
  // Shutting down: the record was not taken, and a sender may send it again (to the next process).
  return new PipelineError('producer_closed', `${method}() after close()`, {
    stage: 'producer',
    retriable: true,
  });
}

function asError(failure: Failure): PipelineError {
  if (failure instanceof PipelineError) return failure;
  return new PipelineError(
    'put_rejected',
    `the stream refused the record: ${failure.errorCode}: ${failure.errorMessage}`,
    { stage: 'producer' },
  );
}
