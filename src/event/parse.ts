import { createHash } from 'node:crypto';
import { MAX_FUTURE_SKEW_MS, MAX_RECORD_BYTES, MIN_EVENT_TIME_MS } from '../core/limits.js';
import { describeType, eventInputSchema } from './schema.js';
import { formatTime, isCanonicalTime, parseTime } from './time.js';
import type { ActivityEvent, JsonValue } from './types.js';

/** Why a record was not landed as an event. Each lands in `errors/` with its original bytes. */
export type RejectReason =
  | 'record_too_large'
  | 'invalid_utf8'
  | 'invalid_json'
  | 'not_an_object'
  | 'missing_field'
  | 'invalid_field'
  | 'invalid_timestamp'
  | 'timestamp_out_of_range';

export const REJECT_REASONS: readonly RejectReason[] = [
  'record_too_large',
  'invalid_utf8',
  'invalid_json',
  'not_an_object',
  'missing_field',
  'invalid_field',
  'invalid_timestamp',
  'timestamp_out_of_range',
];

export type ParseResult =
  | { ok: true; event: ActivityEvent /** `event.timestamp` as epoch ms. */; timestampMs: number }
  | { ok: false; reason: RejectReason; message: string };

export interface ParseContext {
  /** When the pipeline received the record (the stream's arrival time): epoch ms. */
  receivedAt: number;
  /** The id to give an event that arrives without one; derive it from the stream position. */
  fallbackId: () => string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes, parses and validates one stream record's bytes. Never throws. */
export function parseEventRecord(data: Uint8Array, context: ParseContext): ParseResult {
  if (data.byteLength > MAX_RECORD_BYTES) {
    return reject('record_too_large', `record is ${data.byteLength} bytes; the limit is ${MAX_RECORD_BYTES}`);
  }
  let text: string;
  try {
    text = utf8.decode(data);
  } catch {
    return reject('invalid_utf8', 'record is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return reject('invalid_json', `record is not valid JSON: ${(error as Error).message}`);
  }
  return parseEvent(value, context);
}

/** Validates and normalises one event already parsed from JSON. Never throws. */
export function parseEvent(value: unknown, context: ParseContext): ParseResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return reject('not_an_object', `event must be a JSON object (given ${describeType(value)})`);
  }
  const parsed = eventInputSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path[0];
    if (issue?.path.length === 1 && typeof field === 'string' && !Object.hasOwn(value, field)) {
      return reject('missing_field', `${field} is required`);
    }
    return reject('invalid_field', issue?.message ?? 'event is invalid');
  }
  const input = parsed.data;

  let receivedAt = context.receivedAt;
  if (input.received_at !== undefined) {
    const given = parseTime(input.received_at);
    if (given === undefined) return badTime('received_at', input.received_at);
    receivedAt = given;
  }
  // A timestamp already in the landed form is kept as it is (most producers send that form).
  const canonical = typeof input.timestamp === 'string' && isCanonicalTime(input.timestamp);
  const timestamp = canonical ? Date.parse(input.timestamp as string) : parseTime(input.timestamp);
  if (timestamp === undefined) return badTime('timestamp', input.timestamp);
  if (timestamp < MIN_EVENT_TIME_MS) {
    return reject('timestamp_out_of_range', `timestamp ${formatTime(timestamp)} is before 2000-01-01`);
  }
  if (timestamp > receivedAt + MAX_FUTURE_SKEW_MS) {
    return reject(
      'timestamp_out_of_range',
      `timestamp ${formatTime(timestamp)} is more than a day ahead of the time received (${formatTime(receivedAt)})`,
    );
  }

  const event: ActivityEvent = {
    event_id: input.event_id ?? context.fallbackId(),
    user_id: input.user_id,
    event: input.event,
    timestamp: canonical ? (input.timestamp as string) : formatTime(timestamp),
    received_at: formatTime(receivedAt),
  };
  if (input.session_id !== undefined) event.session_id = input.session_id;
  if (input.sent_at !== undefined) {
    const sentAt = parseTime(input.sent_at);
    if (sentAt === undefined) return badTime('sent_at', input.sent_at);
    event.sent_at = formatTime(sentAt);
  }
  if (input.original_timestamp !== undefined) {
    const original = parseTime(input.original_timestamp);
    if (original === undefined) return badTime('original_timestamp', input.original_timestamp);
    event.original_timestamp = formatTime(original);
  }
  if (input.properties !== undefined) event.properties = input.properties as { [key: string]: JsonValue };
  if (input.context !== undefined) event.context = input.context as { [key: string]: JsonValue };
  return { ok: true, event, timestampMs: timestamp };
}

/**
 * A deterministic event id for a record that arrived without one, from its stream position, so a
 * retried batch gives it the same id. Shaped as a UUID (version 8: custom, RFC 9562). The user records
 * of one KPL aggregate share its sequence number, so theirs also take their sub-sequence number; a
 * plain record's id depends on the first three alone.
 */
export function positionEventId(
  streamArn: string,
  shardId: string,
  sequenceNumber: string,
  subSequenceNumber?: number,
): string {
  const position =
    subSequenceNumber === undefined
      ? `${streamArn}\n${shardId}\n${sequenceNumber}`
      : `${streamArn}\n${shardId}\n${sequenceNumber}\n${subSequenceNumber}`;
  const hex = createHash('sha256').update(position).digest('hex');
  const variant = ((Number.parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function reject(reason: RejectReason, message: string): ParseResult {
  return { ok: false, reason, message };
}

function badTime(field: string, value: string | number): ParseResult {
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 64)) : String(value);
  return reject(
    'invalid_timestamp',
    `${field} ${shown} is not epoch seconds, epoch milliseconds or ISO 8601`,
  );
}
