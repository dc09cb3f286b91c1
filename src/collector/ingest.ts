import { isUtf8 } from 'node:buffer';
import {
  type ActivityEvent,
  checkFaithful,
  findIllFormed,
  findUnsafeNumbers,
  formatTime,
  invalidUnicode,
  mayHoldLoneSurrogate,
  mayHoldUnsafeNumber,
  type ParseContext,
  parseEvent,
  parseTime,
  type Refusal,
  unsafeNumber,
  type ValuePath,
} from '../event/index.js';
import { uuidv7 } from '../producer/index.js';
import { CollectorError } from './errors.js';
import { findHostile } from './hostile.js';

/** How the body of `POST /v1/events` is framed. */
export type BodyFormat = 'json' | 'ndjson';

/** One event of a request, parsed, or the reason it could not be. */
export type BodyItem =
  | { index: number; value: unknown }
  | { index: number; code: BodyItemCode; message: string };

/** Why one event of a body was refused before the schema saw it. */
export type BodyItemCode =
  | 'invalid_utf8'
  | 'invalid_json'
  | 'invalid_unicode'
  | 'unsafe_number'
  | 'too_deep'
  // What a protocol's mapping refuses (Segment's, Snowplow's), before the schema sees the event.
  | 'missing_field'
  | 'invalid_field'
  | 'message_too_large';

export interface DecodedBody {
  items: BodyItem[];
  /** `sent_at` given once for a whole `{"batch": [...]}`. */
  batchSentAt?: unknown;
}

/**
 * What `prepareEvent` keeps for the events of one request: the context `parseEvent` is given, and
 * the `sent_at` last parsed with its epoch milliseconds.
 */
interface RequestMemo {
  context: ParseContext;
  parsed: boolean;
  value?: unknown;
  ms?: number | undefined;
}

/** Per-request memos of `prepareEvent`, kept with the request's facts. */
const memos = new WeakMap<RequestFacts, RequestMemo>();

/** The memo of `facts`' request, made for its first event. */
function memoOf(facts: RequestFacts): RequestMemo {
  let memo = memos.get(facts);
  if (memo === undefined) {
    const { receivedAt } = facts;
    memo = { context: { receivedAt, fallbackId: () => uuidv7(receivedAt) }, parsed: false };
    memos.set(facts, memo);
  }
  return memo;
}

/** What the collector knows about a request, beyond its body. */
export interface RequestFacts {
  /** When the collector read the request: epoch ms. It becomes each event's `received_at`. */
  receivedAt: number;
  userAgent?: string;
  /** Recorded as `context.ip` only when the collector is asked to. */
  ip?: string;
  batchSentAt?: unknown;
}

export type PreparedEvent = { ok: true; event: ActivityEvent } | { ok: false; code: string; message: string };

const BOM = 0xfeff;

/**
 * Parses a request body into events: one event, a JSON array of events, `{"batch": [...]}` (with an
 * optional batch-wide `sent_at`), or NDJSON. A JSON body that cannot be read is refused whole (400);
 * in NDJSON each line stands alone, so a bad line is one rejected event, indexed by its line (0-based).
 */
export function decodeBody(format: BodyFormat, body: Buffer): DecodedBody {
  return format === 'ndjson' ? decodeNdjson(body) : decodeJson(body);
}

function decodeJson(body: Buffer): DecodedBody {
  if (!isUtf8(body)) {
    throw new CollectorError(400, 'invalid_utf8', 'body is not valid UTF-8: send JSON encoded as UTF-8');
  }
  const text = stripBom(body.toString('utf8'));
  const { shape, ...decoded } = decodeJsonText(text);
  return { ...decoded, items: refuseUnfaithful(text, decoded.items, shape) };
}

/** How a JSON body holds its events: alone, in an array, or in `{"batch": [...]}`. */
type BodyShape = 'event' | 'array' | 'batch';

function decodeJsonText(text: string): DecodedBody & { shape: BodyShape } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CollectorError(
      400,
      'invalid_json',
      `body is not valid JSON (${(error as Error).message}): send one event, an array of events, {"batch": [...]} or NDJSON with Content-Type: application/x-ndjson`,
    );
  }
  if (Array.isArray(value)) {
    return { items: value.map((event, index) => ({ index, value: event })), shape: 'array' };
  }
  if (typeof value === 'object' && value !== null && Object.hasOwn(value, 'batch')) {
    const { batch, sent_at: batchSentAt, ...rest } = value as Record<string, unknown>;
    const unknown = Object.keys(rest);
    if (unknown.length > 0) {
      throw new CollectorError(
        400,
        'invalid_batch',
        `unknown field ${unknown.map((k) => JSON.stringify(k.slice(0, 64))).join(', ')} beside "batch": a batch has only "batch" and "sent_at"`,
      );
    }
    if (!Array.isArray(batch)) {
      throw new CollectorError(
        400,
        'invalid_batch',
        `"batch" must be an array of events (given ${typeName(batch)})`,
      );
    }
    const items = batch.map((event, index) => ({ index, value: event }));
    return batchSentAt === undefined ? { items, shape: 'batch' } : { items, batchSentAt, shape: 'batch' };
  }
  return { items: [{ index: 0, value }], shape: 'event' };
}

function decodeNdjson(body: Buffer): DecodedBody {
  const items: BodyItem[] = [];
  let start = 0;
  for (let index = 0; start < body.length; index++) {
    const newline = body.indexOf(10, start);
    const end = newline === -1 ? body.length : newline;
    let line = body.subarray(start, end);
    start = end + 1;
    if (line.length > 0 && line[line.length - 1] === 13) line = line.subarray(0, -1);
    if (isBlank(line)) continue;
    if (!isUtf8(line)) {
      items.push({ index, code: 'invalid_utf8', message: `line ${index + 1} is not valid UTF-8` });
      continue;
    }
    try {
      const text = stripBom(line.toString('utf8'));
      const value: unknown = JSON.parse(text);
      const refused = checkFaithful(text, value);
      items.push(refused === undefined ? { index, value } : refusedItem(index, refused));
    } catch (error) {
      items.push({
        index,
        code: 'invalid_json',
        message: `line ${index + 1} is not valid JSON: ${(error as Error).message}`,
      });
    }
  }
  return { items };
}

/**
 * Refuses the events of a JSON body that would not land as they were sent, as the consumer does
 * (`checkFaithful`): a lone surrogate anywhere, a number in `properties` or `context` that a double
 * does not hold. The numbers are found in the body's text, so each is traced to its event by its
 * path: `[i]…` in an array, `batch[i]…` in a batch, the path itself in a lone event.
 */
function refuseUnfaithful(text: string, items: BodyItem[], shape: BodyShape): BodyItem[] {
  const surrogates = mayHoldLoneSurrogate(text);
  const numbers = items.some((item) => 'value' in item && mayHoldUnsafeNumber(item.value));
  if (!surrogates && !numbers) return items;
  const refused = new Map<number, Refusal>();
  if (numbers) {
    for (const number of findUnsafeNumbers(text)) {
      const [index, path] = eventPathOf(number.path, shape);
      if (index === undefined || refused.has(index)) continue;
      const refusal = unsafeNumber(number, path);
      if (refusal !== undefined) refused.set(index, refusal);
    }
  }
  return items.map((item) => {
    if (!('value' in item)) return item;
    const illFormed = surrogates ? findIllFormed(item.value) : undefined;
    const refusal = illFormed === undefined ? refused.get(item.index) : invalidUnicode(illFormed);
    return refusal === undefined ? item : refusedItem(item.index, refusal);
  });
}

/** The event index, and the path inside that event, of a path into a body. */
function eventPathOf(path: ValuePath, shape: BodyShape): [number | undefined, ValuePath] {
  if (shape === 'event') return [0, path];
  const start = shape === 'batch' ? 1 : 0;
  if (shape === 'batch' && path[0] !== 'batch') return [undefined, path];
  const index = path[start];
  return typeof index === 'number' ? [index, path.slice(start + 1)] : [undefined, path];
}

function refusedItem(index: number, refusal: Refusal): BodyItem {
  return { index, code: refusal.reason as BodyItemCode, message: refusal.message };
}

/**
 * Turns one parsed event into what lands, with the schema every stage uses, after the collector's
 * own steps: refuse hostile shapes; set `received_at` to when the collector read the request
 * (a client's own value is replaced: only the server's clock is trusted); correct `timestamp` for the
 * client's clock skew when `sent_at` is known (Segment's rule, `timestamp + (received_at - sent_at)`),
 * keeping the client's value as `original_timestamp`; add the user agent (unless the client gave one)
 * and, when asked, the client IP to `context`; give an event without an `event_id` a UUIDv7.
 *
 * It completes `value` in place: the collector owns the objects `decodeBody` parsed, and copying them
 * (a spread of a parsed object) costs more than all the rest of the work here.
 */
export function prepareEvent(value: unknown, facts: RequestFacts): PreparedEvent {
  const memo = memoOf(facts);
  const { context } = memo;
  if (!isObject(value)) return asPrepared(parseEvent(value, context));
  const hostile = findHostile(value);
  if (hostile !== undefined) return { ok: false, code: hostile.code, message: hostile.message };

  // Times go to the schema as epoch milliseconds where they can, so none is parsed twice: this is
  // the collector's hot path.
  const input = value;
  input.received_at = facts.receivedAt;
  const sentAt = input.sent_at ?? facts.batchSentAt;
  if (sentAt !== undefined) {
    const sent = parseSentAt(sentAt, memo);
    input.sent_at = asTimeInput(sent, sentAt);
    const timestamp = isTimeInput(input.timestamp) ? parseTime(input.timestamp) : undefined;
    if (sent !== undefined && timestamp !== undefined) {
      const corrected = timestamp + (facts.receivedAt - sent);
      input.original_timestamp ??= asTimeInput(timestamp, input.timestamp);
      // Out of the range of dates, the corrected time is left for the schema to refuse.
      if (corrected >= EPOCH_MS_THRESHOLD && corrected <= MAX_DATE_MS) input.timestamp = corrected;
      else input.timestamp = corrected >= 0 && corrected <= MAX_DATE_MS ? formatTime(corrected) : corrected;
    }
  }
  if (facts.userAgent !== undefined || facts.ip !== undefined) {
    input.context ??= {};
    // A context that is not an object is left for the schema to refuse with its own message.
    if (isObject(input.context)) {
      const enriched = input.context;
      if (facts.userAgent !== undefined && enriched.user_agent === undefined)
        enriched.user_agent = facts.userAgent;
      if (facts.ip !== undefined) enriched.ip = facts.ip;
    }
  }
  return asPrepared(parseEvent(input, context));
}

/** The largest epoch milliseconds a `Date` holds. */
const MAX_DATE_MS = 8.64e15;
/** `parseTime` reads numbers below this as epoch seconds. */
const EPOCH_MS_THRESHOLD = 1e11;

/** A time as the schema should receive it: its epoch milliseconds when it cannot be mistaken for seconds. */
function asTimeInput(ms: number | undefined, original: unknown): unknown {
  return ms !== undefined && ms >= EPOCH_MS_THRESHOLD ? ms : original;
}

/**
 * Parses `sent_at`, remembering the last answer in `memo`: the events of one request share one. The
 * memo lives as long as the request (in its facts), so no module state makes this impure.
 */
function parseSentAt(value: unknown, memo: RequestMemo): number | undefined {
  if (!memo.parsed || value !== memo.value) {
    memo.parsed = true;
    memo.value = value;
    memo.ms = isTimeInput(value) ? parseTime(value) : undefined;
  }
  return memo.ms;
}

function asPrepared(result: ReturnType<typeof parseEvent>): PreparedEvent {
  return result.ok ? result : { ok: false, code: result.reason, message: result.message };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isTimeInput(value: unknown): value is string | number {
  return typeof value === 'string' || typeof value === 'number';
}

function isBlank(line: Uint8Array): boolean {
  for (const byte of line) if (byte !== 32 && byte !== 9) return false;
  return true;
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === BOM ? text.slice(1) : text;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}
