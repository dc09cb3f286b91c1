import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { describeError, StreamError } from '../core/errors.js';
import type { ObjectStore } from '../core/ports.js';
import { compareSequenceNumbers } from '../core/sequence-numbers.js';
import { enrich, enrichedLine } from '../enrich/index.js';
import {
  type ActivityEvent,
  type ParseResult,
  parseEventRecord,
  positionEventId,
  TimeFormatter,
} from '../event/index.js';
import { type ForgottenUsers, userIdInBytes } from '../forget/forgotten-list.js';
import {
  type Dataset,
  errorLine,
  NDJSON_GZIP,
  objectKey,
  PARQUET,
  Partitioner,
  type RawRecord,
} from '../layout/index.js';
import { describeViolations, type TrackingPlan } from '../plan/index.js';
import {
  DEFAULT_LANDING_FORMAT,
  distinctIdRange,
  type LandingFormat,
  loadParquetEncoder,
} from '../sink/formats/index.js';
import { retry } from '../util/backoff.js';
import { fromKinesisRecord, ShardIds, shardIdOf } from './envelope.js';
import { deaggregateKpl, isKplAggregate, type KplUserRecord } from './kpl.js';
import { DEFAULT_COMPRESSION_LEVEL, type ErrorReason, encodeLines } from './landing.js';

/** What one successful invocation landed. */
export interface BatchStats {
  /** Kinesis records in the batch; a KPL aggregated record counts once. */
  records: number;
  /** Events landed: one per valid record, or per valid user record of a KPL aggregate. */
  events: number;
  /** Lines landed in `errors/`: bad records, bad user records, damaged aggregates. */
  errors: number;
  /** `errors` by reason. */
  errorsByReason: Partial<Record<ErrorReason, number>>;
  objects: number;
  bytes: number;
  /** Events and error lines of forgotten users: dropped, landed nowhere. */
  forgotten: number;
}

export interface HandlerOptions {
  store: ObjectStore;
  compressionLevel?: number;
  /** How events land: NDJSON gzip (the default) or Parquet. Error lines are NDJSON gzip either way. */
  format?: LandingFormat;
  /**
   * Tries of each object write within one invocation before the batch is reported failed (default 1).
   * Each layer owns one kind of retry: the S3 client retries a request (5 attempts), the event source
   * mapping or the local runner retries the batch with backoff; the handler need not add a third.
   */
  putAttempts?: number;
  /**
   * The users whose records must not land (`ForgottenList` of the sink, which caches it): asked once
   * per invocation; their events and error lines are dropped and counted in `forgotten`.
   */
  forgotten?: { current(signal?: AbortSignal): Promise<ForgottenUsers> };
  /** Called after each invocation that landed its whole batch. */
  onBatch?: (stats: BatchStats) => void;
  /** Where warnings go; `console.warn` (CloudWatch on Lambda) unless given. */
  warn?: (message: string) => void;
  /**
   * A tracking plan every parsed event is checked against: events it refuses land in `errors/` with
   * its reason and messages; with `violations: flag`, they land with their violations in `context`.
   */
  plan?: TrackingPlan;
}

/** What the handler uses of Lambda's context: the time left before the invocation is cut off. */
export type InvocationContext = Pick<Context, 'getRemainingTimeInMillis'>;

/**
 * The consumer: a Lambda handler for Kinesis events. Given Lambda's context (or the local runner's,
 * which keeps the same timeout), it gives up writes a moment before the invocation would be cut off
 * and reports the batch failed, rather than being stopped mid-write.
 */
export type ActivityHandler = (
  event: KinesisStreamEvent,
  context?: InvocationContext,
) => Promise<KinesisStreamBatchResponse>;

/** How long before its timeout an invocation stops writing, to answer in time (a tenth of short ones). */
export const TIMEOUT_MARGIN_MS = 500;

interface Group {
  key: string;
  lines: string[];
  /** The `event_id` of each of `lines` of an NDJSON `events/` object, for its id range. */
  ids: (string | undefined)[];
  /** Events of a Parquet object; `lines` stays empty then. */
  events: ActivityEvent[];
  parquet: boolean;
}

/**
 * Creates the consumer handler. It decodes and validates every record, lands valid events under
 * `events/` by event time and everything else under `errors/` with its original bytes and a typed
 * reason, and never lets a bad record fail the batch. Records aggregated by the Kinesis Producer
 * Library are unpacked: each user record is handled as if it had been put alone. If the store fails,
 * it reports each shard's first record in `batchItemFailures`, so Lambda (or the local runner) retries
 * the whole batch; deterministic object names make that retry overwrite rather than duplicate. It
 * never reports success for events it did not land.
 */
export function createHandler(options: HandlerOptions): ActivityHandler {
  const { store } = options;
  const level = options.compressionLevel ?? DEFAULT_COMPRESSION_LEVEL;
  const putAttempts = options.putAttempts ?? 1;
  const parquet = (options.format ?? DEFAULT_LANDING_FORMAT) === 'parquet';
  const warn = options.warn ?? ((message: string) => console.warn(message));
  const { plan } = options;

  return async (event, context) => {
    const signal = writeDeadline(context?.getRemainingTimeInMillis());
    const groups = new Map<string, Group>();
    const firstOfShard = new Map<string, string>();
    const partitions = new Partitioner();
    const shardIds = new ShardIds();
    const times = new TimeFormatter();
    let events = 0;
    let errors = 0;
    let dropped = 0;
    const errorsByReason: Partial<Record<ErrorReason, number>> = {};
    let forgotten: ForgottenUsers | undefined;
    try {
      forgotten = await options.forgotten?.current(signal);
    } catch (error) {
      warn(`could not read the list of forgotten users: ${describeError(error)}; the batch will be retried`);
      return { batchItemFailures: firstOfEachShard(event) };
    }
    // Most records go to the group of the record before them: that one is found without a lookup.
    let last: { dataset: Dataset; partition: string; shardId: string; group: Group } | undefined;
    const groupOf = (dataset: Dataset, partition: string, shardId: string, seq: string): Group => {
      if (
        last !== undefined &&
        last.partition === partition &&
        last.shardId === shardId &&
        last.dataset === dataset
      )
        return last.group;
      const id = `${dataset}/${partition}/${shardId}`;
      let group = groups.get(id);
      if (group === undefined) {
        const asParquet = parquet && dataset === 'events';
        const extension = asParquet ? PARQUET.extension : NDJSON_GZIP.extension;
        const key = objectKey(dataset, partition, shardId, seq, '', extension);
        group = { key, lines: [], ids: [], events: [], parquet: asParquet };
        groups.set(id, group);
      }
      last = { dataset, partition, shardId, group };
      return group;
    };
    const add = (
      dataset: Dataset,
      partition: string,
      shardId: string,
      seq: string,
      line: string | undefined,
    ) => {
      const group = groupOf(dataset, partition, shardId, seq);
      if (line !== undefined) group.lines.push(line);
    };
    const landEvent = (result: Extract<ParseResult, { ok: true }>, shardId: string, seq: string) => {
      const { event } = result;
      if (forgotten?.has(event.user_id)) {
        dropped++;
        // Its object keeps the name it had before the user was forgotten: a replay overwrites it.
        add('events', partitions.of(result.timestampMs), shardId, seq, undefined);
        return;
      }
      events++;
      const group = groupOf('events', partitions.of(result.timestampMs), shardId, seq);
      if (parquet) group.events.push(enrich(event));
      else {
        group.lines.push(enrichedLine(event));
        group.ids.push(event.event_id);
      }
    };
    const landError = (raw: RawRecord, reason: ErrorReason, message: string, streamArn: string) => {
      if (forgotten !== undefined && forgotten.size > 0 && isForgottenRecord(forgotten, raw)) {
        dropped++;
        add('errors', partitions.of(raw.arrivalMs), raw.shardId, raw.sequenceNumber, undefined);
        return;
      }
      errors++;
      errorsByReason[reason] = (errorsByReason[reason] ?? 0) + 1;
      add(
        'errors',
        partitions.of(raw.arrivalMs),
        raw.shardId,
        raw.sequenceNumber,
        errorLine(raw, reason, message, streamArn),
      );
    };

    for (const record of event.Records) {
      const raw = fromKinesisRecord(record, shardIds);
      const { shardId, sequenceNumber, arrivalMs } = raw;
      const streamArn = record.eventSourceARN;
      const first = firstOfShard.get(shardId);
      if (first === undefined || compareSequenceNumbers(sequenceNumber, first) < 0)
        firstOfShard.set(shardId, sequenceNumber);
      const bytes = Buffer.from(raw.data, 'base64');
      if (!isKplAggregate(bytes)) {
        const result = parseOrReject(bytes, {
          receivedAt: arrivalMs,
          times,
          fallbackId: () => positionEventId(streamArn, shardId, sequenceNumber),
          plan,
        });
        if (result.ok) landEvent(result, shardId, sequenceNumber);
        else landError(raw, result.reason, result.message, streamArn);
        continue;
      }

      let users: KplUserRecord[];
      try {
        users = deaggregateKpl(bytes);
      } catch (error) {
        if (!(error instanceof StreamError)) throw error;
        landError(raw, 'invalid_aggregate', error.message, streamArn);
        continue;
      }
      // User records share the aggregate's sequence number, which names objects and is what Lambda
      // checkpoints; the sub-sequence number tells them apart in ids and error lines.
      for (let sub = 0; sub < users.length; sub++) {
        const user = users[sub] as KplUserRecord;
        const result = parseOrReject(user.data, {
          receivedAt: arrivalMs,
          times,
          fallbackId: () => positionEventId(streamArn, shardId, sequenceNumber, sub),
          plan,
        });
        if (result.ok) landEvent(result, shardId, sequenceNumber);
        else {
          const data = Buffer.from(user.data.buffer, user.data.byteOffset, user.data.byteLength);
          const userRaw = {
            ...raw,
            subSequenceNumber: sub,
            partitionKey: user.partitionKey,
            data: data.toString('base64'),
          };
          landError(userRaw, result.reason, result.message, streamArn);
        }
      }
    }

    let bytes = 0;
    const encodeParquet = parquet ? await loadParquetEncoder() : undefined;
    // A group of nothing but forgotten users' records writes no object.
    const landing = [...groups.values()].filter((g) => g.lines.length > 0 || g.events.length > 0);
    const outcomes = await Promise.allSettled(
      landing.map(async (group) => {
        const body =
          group.parquet && encodeParquet !== undefined
            ? encodeParquet(group.events)
            : await encodeLines(group.lines, level, distinctIdRange(group.ids));
        bytes += body.byteLength;
        await putWithRetry(store, group.key, body, group.parquet, putAttempts, signal);
      }),
    );
    const failures = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failures.length > 0) {
      warn(
        `could not land batch of ${event.Records.length} records in ${store.url}: ${describeError(failures[0]?.reason)}; it will be retried`,
      );
      return { batchItemFailures: [...firstOfShard.values()].map((itemIdentifier) => ({ itemIdentifier })) };
    }
    options.onBatch?.({
      records: event.Records.length,
      events,
      errors,
      errorsByReason,
      objects: landing.length,
      bytes,
      forgotten: dropped,
    });
    return { batchItemFailures: [] };
  };
}

/** A record kept for `errors/` belongs to a forgotten user: by its partition key, or its bytes' `user_id`. */
function isForgottenRecord(forgotten: ForgottenUsers, raw: RawRecord): boolean {
  if (forgotten.has(raw.partitionKey)) return true;
  const id = userIdInBytes(Buffer.from(raw.data, 'base64'));
  return id !== undefined && forgotten.has(id);
}

/** The first record of each shard of a batch: what a batch that failed as a whole reports. */
function firstOfEachShard(event: KinesisStreamEvent): { itemIdentifier: string }[] {
  const first = new Map<string, string>();
  for (const record of event.Records) {
    const shardId = shardIdOf(record.eventID);
    const seen = first.get(shardId);
    const seq = record.kinesis.sequenceNumber;
    if (seen === undefined || compareSequenceNumbers(seq, seen) < 0) first.set(shardId, seq);
  }
  return [...first.values()].map((itemIdentifier) => ({ itemIdentifier }));
}

/**
 * Aborts writes a moment before the invocation's time runs out (at once when none is left); none
 * without Lambda's context.
 */
function writeDeadline(remainingMs: number | undefined): AbortSignal | undefined {
  if (remainingMs === undefined) return undefined;
  // AbortSignal.timeout takes whole milliseconds only (it throws on a fraction).
  const budget = Math.floor(remainingMs - Math.min(TIMEOUT_MARGIN_MS, remainingMs / 10));
  return budget > 0
    ? AbortSignal.timeout(budget)
    : AbortSignal.abort(new Error('the invocation has no time left to write'));
}

async function putWithRetry(
  store: ObjectStore,
  key: string,
  body: Uint8Array,
  parquet: boolean,
  attempts: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  const options = parquet
    ? { contentType: PARQUET.contentType }
    : { contentType: NDJSON_GZIP.contentType, contentEncoding: NDJSON_GZIP.contentEncoding };
  // The handler owns retries of one object within an invocation; an S3 store's client retries each
  // request below it, and the runner retries the whole batch above it.
  await retry(() => store.put(key, body, options, signal), {
    attempts,
    backoff: { baseMs: 100, maxMs: 1_000 },
    ...(signal === undefined ? {} : { signal }),
  });
}

/**
 * Parses one record, then checks it against the tracking plan, if any: a refused event is a reject
 * with the plan's reason, an event the plan changes (a dropped property, flagged violations) is landed
 * as changed. Neither step throws for any input; should a defect make one throw, the record lands in
 * errors/ as `handler_failed` with the reason, instead of failing the batch and blocking its shard.
 */
function parseOrReject(
  bytes: Uint8Array,
  options: Parameters<typeof parseEventRecord>[1] & { plan: TrackingPlan | undefined },
): ParseResult | { ok: false; reason: ErrorReason; message: string } {
  try {
    const result = parseEventRecord(bytes, options);
    if (!result.ok || options.plan === undefined) return result;
    const verdict = options.plan.check(result.event);
    if (verdict.ok) return verdict.event === result.event ? result : { ...result, event: verdict.event };
    return { ok: false, ...describeViolations(verdict.violations) };
  } catch (error) {
    return {
      ok: false,
      reason: 'handler_failed',
      message: `the record could not be parsed: ${describeError(error)}`,
    };
  }
}
