import { createHash } from 'node:crypto';
import type { z } from 'zod';
import { MAX_FUTURE_SKEW_MS, MAX_RECORD_BYTES, MIN_EVENT_TIME_MS } from '../core/limits.js';
import {
  describePath,
  findIllFormed,
  findTooDeep,
  findUnsafeNumbers,
  HOLDS_NUMBER,
  mayHoldLoneSurrogate,
  survey,
  TOO_DEEP,
  type UnsafeNumber,
  type ValuePath,
} from './faithful.js';
import {
  acceptEventInput,
  describeType,
  eventInputSchema,
  MAX_EVENT_DEPTH,
  SENT_FIELDS,
  SENT_JSON_FIELDS,
} from './schema.js';
import { canonicalTimeMs, formatTime, parseTime, type TimeFormatter } from './time.js';
import type { ActivityEvent, JsonValue } from './types.js';

/** Why a record was not landed as an event. Each lands in `errors/` with its original bytes. */
export type RejectReason =
  | 'record_too_large'
  | 'invalid_utf8'
  | 'invalid_json'
  | 'invalid_unicode'
  | 'unsafe_number'
  | 'too_deep'
  | 'not_an_object'
  | 'missing_field'
  | 'invalid_field'
  | 'invalid_timestamp'
  | 'timestamp_out_of_range';

export const REJECT_REASONS: readonly RejectReason[] = [
  'record_too_large',
  'invalid_utf8',
  'invalid_json',
  'invalid_unicode',
  'unsafe_number',
  'too_deep',
  'not_an_object',
  'missing_field',
  'invalid_field',
  'invalid_timestamp',
  'timestamp_out_of_range',
];

export type ParseResult =
  | { ok: true; event: ActivityEvent /** `event.timestamp` as epoch ms. */; timestampMs: number }
  | { ok: false; reason: RejectReason; message: string };

/** A record refused, with its reason. */
export type Refusal = Extract<ParseResult, { ok: false }>;

export interface ParseContext {
  /** When the pipeline received the record (the stream's arrival time): epoch ms. */
  receivedAt: number;
  /** The id to give an event that arrives without one; derive it from the stream position. */
  fallbackId: () => string;
  /** Formats `received_at`; a caller that parses many records of one arrival time passes one. */
  times?: TimeFormatter;
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
  return checkFaithful(text, value) ?? parseEvent(value, context);
}

/** Where custom values land as they were sent; elsewhere numbers are times, normalised by design. */
const KEPT_AS_SENT = new Set<unknown>(['properties', 'context', ...SENT_JSON_FIELDS]);

/**
 * Refuses what would not land as it was sent, with the JSON text of one event: a string with a lone
 * UTF-16 surrogate anywhere (UTF-8 cannot hold it, and DuckDB and Athena refuse to read the object
 * that has one), `properties` or `context` nested deeper than `MAX_EVENT_DEPTH` (writing them again
 * would overflow the stack), and a number in them that a double does not hold as written
 * (`12345678901234567890` would land as `12345678901234567000`, `1e400` as `null`). Each starts with
 * a cheap test (of the text, or one walk of those two small objects): the search for the value
 * itself runs only for records that may hold one.
 */
export function checkFaithful(text: string, value: unknown): Refusal | undefined {
  const illFormed = mayHoldLoneSurrogate(text) ? findIllFormed(value) : undefined;
  if (illFormed !== undefined) return invalidUnicode(illFormed);
  if (typeof value !== 'object' || value === null) return undefined;
  const { properties, context } = value as { properties?: unknown; context?: unknown };
  const found = survey(properties, KEPT_DEPTH) | survey(context, KEPT_DEPTH) | surveySent(value);
  if ((found & TOO_DEEP) !== 0) return tooDeep(value as Record<string, unknown>);
  if ((found & HOLDS_NUMBER) === 0) return undefined;
  for (const number of findUnsafeNumbers(text)) {
    const refused = unsafeNumber(number, number.path);
    if (refused !== undefined) return refused;
  }
  return undefined;
}

/** The levels `properties` and `context` may nest: the event is the first level. */
const KEPT_DEPTH = MAX_EVENT_DEPTH - 1;

/** False when `value` has no number in `properties` or `context`, the values that land as sent. */
export function mayHoldUnsafeNumber(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const { properties, context } = value as { properties?: unknown; context?: unknown };
  return (
    ((survey(properties, KEPT_DEPTH) | survey(context, KEPT_DEPTH) | surveySent(value)) & HOLDS_NUMBER) !== 0
  );
}

/** `survey` of the JSON columns senders fill (`traits`, …), which land as sent too. */
function surveySent(value: object): number {
  let found = 0;
  for (const field of SENT_JSON_FIELDS) {
    const sent = (value as Record<string, unknown>)[field];
    if (sent !== undefined) found |= survey(sent, KEPT_DEPTH);
  }
  return found;
}

function tooDeep(value: Record<string, unknown>): Refusal {
  let path: ValuePath = [];
  for (const field of KEPT_AS_SENT as Set<string>) {
    const inField = findTooDeep(value[field], KEPT_DEPTH);
    if (inField !== undefined) {
      path = [field, ...inField];
      break;
    }
  }
  return reject('too_deep', `${describePath(path)} nests deeper than ${MAX_EVENT_DEPTH} levels: flatten it`);
}

/** The refusal of a string or key with a lone surrogate at `path`. */
export function invalidUnicode(path: ValuePath): Refusal {
  return reject(
    'invalid_unicode',
    `${describePath(path)} holds a lone UTF-16 surrogate (an unpaired \\uD800-\\uDFFF escape): it is not Unicode text, and readers of the landed data (DuckDB, Athena) refuse it: send the whole character`,
  );
}

/**
 * The refusal of a number a double does not hold, `path` being where it is in the event; undefined
 * for a number outside `properties` and `context`.
 */
export function unsafeNumber(number: UnsafeNumber, path: ValuePath): Refusal | undefined {
  if (!KEPT_AS_SENT.has(path[0])) return undefined;
  const shown = number.text.length > 40 ? `${number.text.slice(0, 37)}...` : number.text;
  const why =
    number.landed === 'null'
      ? 'which is out of the range of a double (it would land as null)'
      : `which a double does not hold exactly (it would land as ${number.landed})`;
  return reject(
    'unsafe_number',
    `${describePath(path)} is ${shown}, ${why}: send it as a string to keep it exactly`,
  );
}

/** Validates and normalises one event already parsed from JSON. Never throws. */
export function parseEvent(value: unknown, context: ParseContext): ParseResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return reject('not_an_object', `event must be a JSON object (given ${describeType(value)})`);
  }
  // Most events pass the schema's rules checked in place; the schema itself parses the rest, and says why.
  let input = acceptEventInput(value);
  if (input === undefined) {
    const parsed = eventInputSchema.safeParse(value);
    if (!parsed.success) return schemaRefusal(value, parsed.error.issues[0]);
    input = parsed.data;
  }

  let receivedAt = context.receivedAt;
  if (input.received_at !== undefined) {
    const given = parseTime(input.received_at);
    if (given === undefined) return badTime('received_at', input.received_at);
    receivedAt = given;
  }
  // A timestamp already in the landed form is kept as it is (most producers send that form).
  const canonicalMs = typeof input.timestamp === 'string' ? canonicalTimeMs(input.timestamp) : undefined;
  const canonical = canonicalMs !== undefined;
  const timestamp = canonicalMs ?? parseTime(input.timestamp);
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
    received_at: context.times === undefined ? formatTime(receivedAt) : context.times.format(receivedAt),
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
  for (const field of SENT_FIELDS) {
    const sent = (input as Record<string, unknown>)[field];
    if (sent !== undefined) (event as Record<string, unknown>)[field] = sent;
  }
  return { ok: true, event, timestampMs: timestamp };
}

function schemaRefusal(value: object, issue: z.core.$ZodIssue | undefined): Refusal {
  const field = issue?.path[0];
  if (issue?.path.length === 1 && typeof field === 'string' && !Object.hasOwn(value, field)) {
    return reject('missing_field', `${field} is required`);
  }
  return reject('invalid_field', issue?.message ?? 'event is invalid');
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

function reject(reason: RejectReason, message: string): Refusal {
  // A message quotes what it was given, cut short: a cut may split a surrogate pair, and a lone
  // surrogate in an error line would make errors/ unreadable.
  return { ok: false, reason, message: message.toWellFormed() };
}

function badTime(field: string, value: string | number): ParseResult {
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 64)) : String(value);
  return reject(
    'invalid_timestamp',
    `${field} ${shown} is not epoch seconds, epoch milliseconds or ISO 8601`,
  );
}
