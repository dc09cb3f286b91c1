import { describeError, isRetriable, PipelineError } from '../core/errors.js';
import type { RecordToPut } from '../core/ports.js';
import type { ActivityEvent } from '../event/index.js';
import { describeViolations, type TrackingPlan } from '../plan/index.js';
import type { AcceptedRecord } from '../producer/index.js';
import { type BodyItem, prepareEvent, type RequestFacts } from './ingest.js';

/** One refused event of a request. */
export interface Rejection {
  /** The event's index in the batch (its line, 0-based, in NDJSON). */
  index: number;
  code: string;
  message: string;
}

/** An event the stream accepted, with its index in the batch. */
export interface AcceptedEvent {
  index: number;
  event: ActivityEvent;
}

/** The statuses a batch is answered with; a request refused whole has its own (`CollectorError`). */
export type BatchStatus = 200 | 400 | 429 | 503;

/** What became of a batch of events: every event is either accepted or rejected, in batch order. */
export interface BatchOutcome {
  status: BatchStatus;
  accepted: AcceptedEvent[];
  /** Sorted by index. */
  rejected: Rejection[];
  /** Seconds from handing the valid events to the stream until it answered for all of them. */
  putSeconds?: number;
}

/** Puts one record on the stream, resolving once the stream accepted it. */
export type PutRecord = (record: RecordToPut) => Promise<AcceptedRecord>;

/** Producer failures that mean the collector is shutting down. */
const CLOSING_PUT_CODES = new Set(['producer_closed', 'aborted']);
/** Stream failures that mean it cannot be reached or is failing (not throttling): the stream is down. */
const UNAVAILABLE_CODES = new Set(['stream_unavailable']);

/**
 * Validates a decoded batch with the pipeline's one schema (and the tracking plan, when given: an event
 * it refuses is rejected with the plan's reason; one it changes, by a dropped property or flagged
 * violations, goes on changed), puts the valid events on the stream and waits for its answers. Knows
 * nothing of HTTP or of the protocol the batch came in: any route that decodes its body into
 * `BodyItem`s answers with this outcome.
 */
export async function ingestBatch(
  items: readonly BodyItem[],
  facts: RequestFacts,
  put: PutRecord,
  plan?: TrackingPlan,
): Promise<BatchOutcome> {
  const rejected: Rejection[] = [];
  const sent: { index: number; event: ActivityEvent; answer: Promise<AcceptedRecord> }[] = [];
  for (const item of items) {
    if ('code' in item) {
      rejected.push(item);
      continue;
    }
    const prepared = prepareEvent(item.value, facts);
    if (!prepared.ok) {
      rejected.push({ index: item.index, code: prepared.code, message: prepared.message });
      continue;
    }
    let { event } = prepared;
    if (plan !== undefined) {
      const verdict = plan.check(event);
      if (!verdict.ok) {
        const { reason, message } = describeViolations(verdict.violations);
        rejected.push({ index: item.index, code: reason, message });
        continue;
      }
      event = verdict.event;
    }
    const record = { partitionKey: event.user_id, data: Buffer.from(JSON.stringify(event)) };
    let answer: Promise<AcceptedRecord>;
    try {
      answer = put(record);
    } catch (error) {
      answer = Promise.reject(error);
    }
    sent.push({ index: item.index, event, answer });
  }

  const putStarted = performance.now();
  const answers = await Promise.allSettled(sent.map((s) => s.answer));
  const putSeconds = sent.length > 0 ? (performance.now() - putStarted) / 1000 : undefined;

  const accepted: AcceptedEvent[] = [];
  let retriable = false;
  let closing = false;
  let unavailable = false;
  const refusedBeforeStream = rejected.length;
  for (const [i, answer] of answers.entries()) {
    const { index, event } = sent[i] as (typeof sent)[number]; // one answer per sent event
    if (answer.status === 'fulfilled') {
      accepted.push({ index, event });
      continue;
    }
    const error = answer.reason;
    const code = failureCode(error);
    if (CLOSING_PUT_CODES.has(code)) closing = true;
    if (UNAVAILABLE_CODES.has(code)) unavailable = true;
    if (isRetriable(error)) retriable = true;
    rejected.push({ index, code, message: describeError(error) });
  }
  if (rejected.length > refusedBeforeStream) rejected.sort((a, b) => a.index - b.index);

  const status = batchStatus({ accepted: accepted.length, closing: closing || unavailable, retriable });
  return { status, accepted, rejected, ...(putSeconds === undefined ? {} : { putSeconds }) };
}

/**
 * Why the stream did not take an event: the producer's code, or, for a record that timed out, the code of
 * the last failure when that says the stream is down (a throttled or busy stream keeps `put_timeout`).
 */
function failureCode(error: unknown): string {
  if (!(error instanceof PipelineError)) return 'put_failed';
  const cause = error.cause;
  if (error.code === 'put_timeout' && cause instanceof PipelineError && UNAVAILABLE_CODES.has(cause.code)) {
    return cause.code;
  }
  return error.code;
}

/**
 * The one status chain of a batch: 503 when the collector is closing or the stream is down (send
 * elsewhere or later), 429 when
 * the stream could not take events in time (send them again), 400 when no event was valid, else 200 (the
 * rejected ones, if any, are named in the answer).
 */
export function batchStatus(facts: { accepted: number; closing: boolean; retriable: boolean }): BatchStatus {
  if (facts.closing) return 503;
  if (facts.retriable) return 429;
  if (facts.accepted === 0) return 400;
  return 200;
}
