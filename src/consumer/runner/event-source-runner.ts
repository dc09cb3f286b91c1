import type { KinesisStreamRecord } from 'aws-lambda';
import { ConfigError, describeError } from '../../core/errors.js';
import { MAX_BATCH_SIZE, MAX_BATCH_WINDOW_MS, MAX_INVOKE_PAYLOAD_BYTES } from '../../core/limits.js';
import type { CheckpointStore, StartPosition, StreamReader } from '../../core/ports.js';
import { compareSequenceNumbers } from '../../core/sequence-numbers.js';
import { type BackoffOptions, backoffDelay, sleep } from '../../util/backoff.js';
import type { ActivityHandler } from '../handler.js';
import type { ErrorReason } from '../landing.js';
import { recordPayloadBytes, toLambdaEvent, toLambdaRecord } from './lambda-event.js';

/** Local defaults: at 10,000 events/s, about one object per shard, partition and second. */
export const DEFAULT_BATCH_SIZE = 10_000;
export const DEFAULT_BATCH_WINDOW_MS = 1_000;
export const DEFAULT_CONSUMER_NAME = 'activity-consumer';

/** Where records go that the handler could not process within the retry or age limits. */
export type FailureDestination = (
  records: readonly KinesisStreamRecord[],
  reason: Extract<ErrorReason, 'handler_failed' | 'record_expired'>,
  message: string,
) => Promise<void>;

export interface RunnerOptions {
  reader: StreamReader;
  checkpoints: CheckpointStore;
  handler: ActivityHandler;
  onFailure: FailureDestination;
  /** Checkpoints are kept per consumer name; two names read the stream independently. */
  consumerName?: string;
  batchSize?: number;
  batchWindowMs?: number;
  /** Where a shard with no checkpoint starts. */
  startingPosition?: StartPosition;
  bisectOnError?: boolean;
  /** -1 retries until the batch succeeds (Lambda's default for Kinesis). */
  maximumRetryAttempts?: number;
  /** -1 keeps records however old they are (Lambda's default). */
  maximumRecordAgeMs?: number;
  /** Read only these shards (several runners can split a stream); all shards when absent. */
  shardIds?: readonly string[];
  /** How long to wait before reading again a shard that is caught up. */
  pollIntervalMs?: number;
  retryBackoff?: BackoffOptions;
  awsRegion?: string;
  now?: () => number;
  warn?: (message: string) => void;
}

export interface ShardProgress {
  shardId: string;
  millisBehindLatest: number;
  checkpoint?: string;
  /** Set while the shard's batch is being retried after a failure. */
  retrying?: string;
}

export interface RunnerStats {
  records: number;
  batches: number;
  retries: number;
  failedToDestination: number;
  shards: ShardProgress[];
}

interface PendingBatch {
  records: KinesisStreamRecord[];
  attempts: number;
}

/**
 * Drives the consumer handler from a stream the way an AWS Lambda event source mapping does: one
 * batch in flight per shard; a batch goes when it holds `batchSize` records, reaches Lambda's payload
 * limit, or its first record has waited `batchWindowMs`; the checkpoint moves only after success;
 * `batchItemFailures` resume from the lowest failed sequence number; a thrown error bisects the
 * batch; after `maximumRetryAttempts` or `maximumRecordAgeMs` records go to the failure destination.
 */
export class EventSourceRunner {
  readonly #o: Required<Omit<RunnerOptions, 'startingPosition' | 'shardIds'>> & {
    startingPosition: StartPosition;
    shardIds?: readonly string[];
  };
  #draining = false;
  #stopped = false;
  readonly #stopController = new AbortController();
  readonly #stats: RunnerStats = { records: 0, batches: 0, retries: 0, failedToDestination: 0, shards: [] };

  constructor(options: RunnerOptions) {
    this.#o = {
      consumerName: DEFAULT_CONSUMER_NAME,
      batchSize: DEFAULT_BATCH_SIZE,
      batchWindowMs: DEFAULT_BATCH_WINDOW_MS,
      startingPosition: { type: 'TRIM_HORIZON' },
      bisectOnError: true,
      maximumRetryAttempts: -1,
      maximumRecordAgeMs: -1,
      pollIntervalMs: 100,
      retryBackoff: { baseMs: 200, maxMs: 30_000 },
      awsRegion: 'local',
      now: Date.now,
      warn: (message: string) => console.warn(message),
      ...stripUndefined(options),
      reader: options.reader,
      checkpoints: options.checkpoints,
      handler: options.handler,
      onFailure: options.onFailure,
    };
    validateRunnerOptions(this.#o);
  }

  get stats(): Readonly<RunnerStats> {
    return this.#stats;
  }

  /**
   * Reads every shard until `stop()`, or with `untilIdle` until every shard is caught up and all it
   * read has landed.
   */
  async run(options: { untilIdle?: boolean } = {}): Promise<RunnerStats> {
    if (options.untilIdle) this.#draining = true;
    const owned = this.#o.shardIds;
    const shards = (await this.#o.reader.listShards()).filter(
      (s) => owned === undefined || owned.includes(s.shardId),
    );
    this.#stats.shards = shards.map((s) => ({ shardId: s.shardId, millisBehindLatest: 0 }));
    await Promise.all(this.#stats.shards.map((progress) => this.#runShard(progress)));
    return this.#stats;
  }

  /** Lands everything readable now, then lets `run` resolve once every shard is caught up. */
  drain(): void {
    this.#draining = true;
  }

  /** Stops reading at once; a batch being handled finishes. Unlanded records are read again next time. */
  stop(): void {
    this.#stopped = true;
    this.#stopController.abort(new Error('runner stopped'));
  }

  async #runShard(progress: ShardProgress): Promise<void> {
    const { reader, checkpoints, consumerName, batchSize, batchWindowMs, pollIntervalMs, now } = this.#o;
    const { shardId } = progress;
    const checkpoint = await checkpoints.load(consumerName, shardId);
    if (checkpoint !== undefined) progress.checkpoint = checkpoint;
    let iterator: string | undefined = await reader.getShardIterator(
      shardId,
      checkpoint === undefined
        ? this.#o.startingPosition
        : { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: checkpoint },
    );
    let buffer: KinesisStreamRecord[] = [];
    let bufferBytes = 0;
    let firstBufferedAt = 0;

    while (!this.#stopped) {
      let caughtUp = iterator === undefined;
      const drainingBeforeRead = this.#draining;
      if (iterator !== undefined && buffer.length < batchSize && bufferBytes < MAX_INVOKE_PAYLOAD_BYTES) {
        const result = await reader.getRecords(iterator, batchSize - buffer.length);
        iterator = result.nextShardIterator;
        progress.millisBehindLatest = result.millisBehindLatest;
        caughtUp = result.records.length === 0 || result.millisBehindLatest === 0;
        if (result.records.length > 0 && buffer.length === 0) firstBufferedAt = now();
        for (const record of result.records) {
          const lambdaRecord = toLambdaRecord(record, shardId, reader.streamArn, this.#o.awsRegion);
          buffer.push(lambdaRecord);
          bufferBytes += recordPayloadBytes(lambdaRecord);
        }
      }
      const windowDone = now() - firstBufferedAt >= batchWindowMs;
      const full = buffer.length >= batchSize || bufferBytes >= MAX_INVOKE_PAYLOAD_BYTES;
      if (
        buffer.length > 0 &&
        (full || windowDone || (caughtUp && (drainingBeforeRead || iterator === undefined)))
      ) {
        const batch = takeBatch(buffer, batchSize);
        buffer = buffer.slice(batch.length);
        bufferBytes = buffer.reduce((sum, r) => sum + recordPayloadBytes(r), 0);
        firstBufferedAt = now();
        await this.#process(progress, batch);
        continue;
      }
      if (buffer.length === 0 && (iterator === undefined || (caughtUp && drainingBeforeRead))) return;
      if (caughtUp) {
        const wait =
          buffer.length > 0
            ? Math.min(pollIntervalMs, batchWindowMs - (now() - firstBufferedAt))
            : pollIntervalMs;
        await sleep(Math.max(1, wait), this.#stopController.signal).catch(() => undefined);
      }
    }
  }

  async #process(progress: ShardProgress, batch: KinesisStreamRecord[]): Promise<void> {
    const pending: PendingBatch[] = [{ records: batch, attempts: 0 }];
    while (pending.length > 0) {
      const item = pending[0] as PendingBatch;
      if (this.#o.maximumRecordAgeMs >= 0) {
        const oldest = this.#o.now() - this.#o.maximumRecordAgeMs;
        const expired: KinesisStreamRecord[] = [];
        const fresh: KinesisStreamRecord[] = [];
        for (const r of item.records)
          (r.kinesis.approximateArrivalTimestamp * 1000 < oldest ? expired : fresh).push(r);
        if (expired.length > 0) {
          await this.#toDestination(expired, 'record_expired', `older than ${this.#o.maximumRecordAgeMs} ms`);
          item.records = fresh;
          if (item.records.length === 0) {
            await this.#checkpoint(progress, expired.at(-1) as KinesisStreamRecord);
            pending.shift();
            continue;
          }
        }
      }

      let failedAt: number | undefined;
      let failure: string;
      let thrown = false;
      try {
        const response = await this.#o.handler(toLambdaEvent(item.records));
        failedAt = lowestFailure(item.records, response?.batchItemFailures ?? []);
        failure = 'the handler reported failed records';
      } catch (error) {
        thrown = true;
        failedAt = 0;
        failure = describeError(error);
      }
      if (failedAt === undefined) {
        this.#stats.records += item.records.length;
        this.#stats.batches++;
        progress.retrying = undefined;
        await this.#checkpoint(progress, item.records.at(-1) as KinesisStreamRecord);
        pending.shift();
        continue;
      }
      if (failedAt > 0) {
        this.#stats.records += failedAt;
        await this.#checkpoint(progress, item.records[failedAt - 1] as KinesisStreamRecord);
        item.records = item.records.slice(failedAt);
      }
      item.attempts++;
      this.#stats.retries++;
      const max = this.#o.maximumRetryAttempts;
      if (max >= 0 && item.attempts > max) {
        await this.#toDestination(
          item.records,
          'handler_failed',
          `failed ${item.attempts} times: ${failure}`,
        );
        await this.#checkpoint(progress, item.records.at(-1) as KinesisStreamRecord);
        pending.shift();
        continue;
      }
      if (thrown && this.#o.bisectOnError && item.records.length > 1) {
        const half = Math.ceil(item.records.length / 2);
        pending.splice(
          0,
          1,
          { records: item.records.slice(0, half), attempts: item.attempts },
          {
            records: item.records.slice(half),
            attempts: item.attempts,
          },
        );
      }
      const delay = backoffDelay(item.attempts, this.#o.retryBackoff);
      progress.retrying = failure;
      this.#o.warn(`${progress.shardId}: batch failed (${failure}); retry ${item.attempts} in ${delay} ms`);
      if (!(await this.#pause(delay))) return;
    }
  }

  /** Sends records to the failure destination, retrying until it takes them or the runner stops. */
  async #toDestination(
    records: readonly KinesisStreamRecord[],
    reason: Parameters<FailureDestination>[1],
    message: string,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#o.onFailure(records, reason, message);
        this.#stats.failedToDestination += records.length;
        return;
      } catch (error) {
        this.#o.warn(
          `could not write ${records.length} failed records to the failure destination: ${describeError(error)}`,
        );
        if (!(await this.#pause(backoffDelay(attempt, this.#o.retryBackoff)))) throw error;
      }
    }
  }

  async #checkpoint(progress: ShardProgress, last: KinesisStreamRecord): Promise<void> {
    const sequenceNumber = last.kinesis.sequenceNumber;
    await this.#o.checkpoints.save(this.#o.consumerName, progress.shardId, sequenceNumber);
    progress.checkpoint = sequenceNumber;
  }

  /** Waits `ms`; false when the runner was stopped meanwhile. */
  async #pause(ms: number): Promise<boolean> {
    await sleep(ms, this.#stopController.signal).catch(() => undefined);
    return !this.#stopped;
  }
}

/** The index of the lowest failed record, or undefined when none failed. */
function lowestFailure(
  records: readonly KinesisStreamRecord[],
  failures: readonly { itemIdentifier: string }[],
): number | undefined {
  if (failures.length === 0) return undefined;
  let lowest: string | undefined;
  for (const { itemIdentifier } of failures) {
    // Lambda treats an empty or unknown identifier as a failure of the whole batch.
    if (!/^[0-9]+$/.test(itemIdentifier ?? '')) return 0;
    if (lowest === undefined || compareSequenceNumbers(itemIdentifier, lowest) < 0) lowest = itemIdentifier;
  }
  const index = records.findIndex((r) => r.kinesis.sequenceNumber === lowest);
  return index === -1 ? 0 : index;
}

function takeBatch(buffer: readonly KinesisStreamRecord[], batchSize: number): KinesisStreamRecord[] {
  let bytes = 0;
  let count = 0;
  while (count < buffer.length && count < batchSize) {
    const size = recordPayloadBytes(buffer[count] as KinesisStreamRecord);
    if (count > 0 && bytes + size > MAX_INVOKE_PAYLOAD_BYTES) break;
    bytes += size;
    count++;
  }
  return buffer.slice(0, count);
}

function validateRunnerOptions(o: RunnerOptions): void {
  const checks: [string, number | undefined, number, number][] = [
    ['batch size', o.batchSize, 1, MAX_BATCH_SIZE],
    ['batch window (ms)', o.batchWindowMs, 0, MAX_BATCH_WINDOW_MS],
    ['maximum retry attempts', o.maximumRetryAttempts, -1, 10_000],
    ['maximum record age (ms)', o.maximumRecordAgeMs, -1, 7 * 24 * 3600 * 1000],
  ];
  for (const [name, value, min, max] of checks) {
    if (value !== undefined && (!Number.isInteger(value) || value < min || value > max)) {
      throw new ConfigError(`${name} must be between ${min} and ${max} (given ${value})`);
    }
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
