/**
 * Segment's HTTP Tracking API mapped into the one event. Pure functions: no HTTP, no clock, so the
 * mapping can be tested alone. Fields our envelope lacks land in columns of their own (`SENT_COLUMNS`).
 *
 * | Segment                       | the event                                              |
 * |-------------------------------|--------------------------------------------------------|
 * | `messageId`                   | `event_id` (retries keep it, so `events` dedupes them)  |
 * | `userId`, else `anonymousId`  | `user_id`                                               |
 * | `anonymousId`                 | `anonymous_id`                                          |
 * | `type` + `event` / `name`     | `event`: track's name, `page_view`, `screen_view`, `identify`, `group`, `alias` |
 * | `originalTimestamp`, else `timestamp` | `timestamp`, corrected for skew with `sentAt`   |
 * | `sentAt` (message or batch)   | `sent_at`                                               |
 * | `properties`                  | `properties` (page/screen `name`, `category` added)     |
 * | `traits` (or `context.traits`) | `traits`                                               |
 * | `groupId`                     | `group_id`                                              |
 * | `previousId`                  | `previous_id`                                           |
 * | `context`                     | `context`, as sent                                      |
 * | `integrations` (batch's merged) | `integrations`                                        |
 * | `type`                        | `context.segment.type`                                  |
 * | any other field               | `context.segment.other` (`writeKey` is never kept)      |
 */

/** The call types of Segment's API. */
export const SEGMENT_TYPES = ['track', 'identify', 'page', 'screen', 'group', 'alias'] as const;
export type SegmentType = (typeof SEGMENT_TYPES)[number];

/** Segment's documented limits: 32 KB a message, 500 KB a batch. */
export const SEGMENT_MAX_MESSAGE_BYTES = 32 * 1024;
export const SEGMENT_MAX_BATCH_BYTES = 500 * 1024;

/** The event name each call type lands under; `track` keeps its own `event`. */
const EVENT_NAMES: Record<Exclude<SegmentType, 'track'>, string> = {
  page: 'page_view',
  screen: 'screen_view',
  identify: 'identify',
  group: 'group',
  alias: 'alias',
};

/** Fields of a message this mapping reads; every other one is kept under `context.segment.other`. */
const MAPPED = new Set([
  'type',
  'messageId',
  'userId',
  'anonymousId',
  'event',
  'name',
  'category',
  'properties',
  'traits',
  'context',
  'integrations',
  'groupId',
  'previousId',
  'timestamp',
  'originalTimestamp',
  'sentAt',
  'receivedAt',
  'writeKey',
]);

/** A message mapped into an event input, or why it cannot be. */
export type SegmentMapped =
  | { ok: true; value: Record<string, unknown> }
  | { ok: false; code: 'missing_field' | 'invalid_field'; message: string };

/** What a batch gives every message: its `sentAt`, and its `context` and `integrations` to merge. */
export interface SegmentBatchDefaults {
  sentAt?: unknown;
  context?: unknown;
  integrations?: unknown;
}

/** How to map a message: the call type its route implies, what its batch gives it, when it came. */
export interface SegmentMapOptions {
  type?: SegmentType;
  defaults?: SegmentBatchDefaults;
  receivedAt: number;
}

/**
 * Maps one Segment message into an event input for `prepareEvent` (which validates it with the one
 * schema and corrects `timestamp` for the client's clock skew from `sent_at`). `type` is the call type
 * the route implies (`/v1/track`), or undefined when the message names its own (`/v1/batch`).
 * `receivedAt` is the timestamp of a message that has none (Segment's own rule).
 */
export function mapSegmentMessage(message: unknown, options: SegmentMapOptions): SegmentMapped {
  if (!isObject(message)) {
    return {
      ok: false,
      code: 'invalid_field',
      message: `a message must be a JSON object (given ${typeName(message)})`,
    };
  }
  const type = options.type ?? message.type;
  if (!isSegmentType(type)) {
    return type === undefined
      ? {
          ok: false,
          code: 'missing_field',
          message: 'type is required in a batch: track, identify, page, screen, group or alias',
        }
      : {
          ok: false,
          code: 'invalid_field',
          message: `type ${JSON.stringify(String(type).slice(0, 40))} is not one of track, identify, page, screen, group, alias`,
        };
  }

  const userId = identity(message.userId);
  const anonymousId = identity(message.anonymousId);
  const user = userId ?? anonymousId;
  if (user === undefined) {
    return { ok: false, code: 'missing_field', message: 'userId or anonymousId is required' };
  }

  let event: unknown;
  if (type === 'track') {
    event = message.event;
    if (event === undefined)
      return { ok: false, code: 'missing_field', message: 'event is required in a track call' };
  } else {
    event = EVENT_NAMES[type];
  }

  const defaults = options.defaults ?? {};
  const given = mergeObjects(defaults.context, message.context);
  if (given !== undefined && !isObject(given)) {
    return {
      ok: false,
      code: 'invalid_field',
      message: `context must be a JSON object (given ${typeName(given)})`,
    };
  }
  const context: Record<string, unknown> = given === undefined ? {} : given;
  const segment: Record<string, unknown> = { type };
  const other = otherFields(message);
  if (other !== undefined) segment.other = other;
  context.segment = segment;

  const value: Record<string, unknown> = {
    user_id: user,
    event,
    timestamp: message.originalTimestamp ?? message.timestamp ?? options.receivedAt,
    context,
  };
  if (anonymousId !== undefined) value.anonymous_id = anonymousId;
  const traits = message.traits ?? (isObject(context.traits) ? context.traits : undefined);
  if (traits !== undefined) value.traits = traits;
  if (message.groupId !== undefined) value.group_id = identity(message.groupId) ?? message.groupId;
  if (message.previousId !== undefined)
    value.previous_id = identity(message.previousId) ?? message.previousId;
  const integrations = mergeObjects(defaults.integrations, message.integrations);
  if (integrations !== undefined) value.integrations = integrations;
  if (message.messageId !== undefined) value.event_id = message.messageId;
  const sentAt = message.sentAt ?? defaults.sentAt;
  if (sentAt !== undefined && (message.originalTimestamp !== undefined || message.timestamp !== undefined)) {
    value.sent_at = sentAt;
  }
  if (message.timestamp !== undefined && message.originalTimestamp !== undefined) {
    // Both given: the client's own event time is `originalTimestamp`; keep what it called `timestamp` too.
    segment.timestamp = message.timestamp;
  }

  let properties = message.properties;
  if (
    (type === 'page' || type === 'screen') &&
    (message.name !== undefined || message.category !== undefined)
  ) {
    if (properties !== undefined && !isObject(properties)) {
      return {
        ok: false,
        code: 'invalid_field',
        message: `properties must be a JSON object (given ${typeName(properties)})`,
      };
    }
    properties = { ...(properties ?? {}) };
    const page = properties as Record<string, unknown>;
    if (message.name !== undefined) page.name ??= message.name;
    if (message.category !== undefined) page.category ??= message.category;
  } else if (message.name !== undefined || message.category !== undefined) {
    if (message.name !== undefined) segment.name = message.name;
    if (message.category !== undefined) segment.category = message.category;
  }
  if (properties !== undefined) value.properties = properties;
  return { ok: true, value };
}

/**
 * Reads a Segment batch body: `{"batch": [...], "sentAt", "context", "integrations", "writeKey"}`.
 * Returns the messages and what each inherits, or a message saying why the body is not a batch.
 */
export function readSegmentBatch(
  body: unknown,
): { ok: true; messages: unknown[]; defaults: SegmentBatchDefaults } | { ok: false; message: string } {
  if (!isObject(body))
    return { ok: false, message: `a batch must be a JSON object (given ${typeName(body)})` };
  if (!Array.isArray(body.batch)) {
    return { ok: false, message: `"batch" must be an array of messages (given ${typeName(body.batch)})` };
  }
  const defaults: SegmentBatchDefaults = {};
  if (body.sentAt !== undefined) defaults.sentAt = body.sentAt;
  if (body.context !== undefined) defaults.context = body.context;
  if (body.integrations !== undefined) defaults.integrations = body.integrations;
  return { ok: true, messages: body.batch, defaults };
}

/**
 * Where a value of a message lands in the event, by its path in the message: under `properties`,
 * `context`, `traits` or `integrations` as sent, or moved into `context` (fields this mapping does not
 * read); undefined for what lands elsewhere or not at all.
 */
export function segmentLandedPath(path: readonly (string | number)[]): (string | number)[] | undefined {
  const [field, ...rest] = path;
  if (field === 'properties' || field === 'context' || field === 'traits' || field === 'integrations')
    return [field, ...rest];
  if (typeof field === 'string' && !MAPPED.has(field)) return ['context', 'segment', 'other', field, ...rest];
  return undefined;
}

/** The write key a body carries as `writeKey`, if any. */
export function segmentBodyWriteKey(body: unknown): string | undefined {
  return isObject(body) && typeof body.writeKey === 'string' ? body.writeKey : undefined;
}

function isSegmentType(value: unknown): value is SegmentType {
  return typeof value === 'string' && (SEGMENT_TYPES as readonly string[]).includes(value);
}

/** An id as Segment's libraries send it: a non-empty string, or a number (some send numeric ids). */
function identity(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** `extra` over `base`, one level deep, when both are objects; otherwise whichever is given. */
function mergeObjects(base: unknown, extra: unknown): unknown {
  if (base === undefined) return extra;
  if (extra === undefined) return isObject(base) ? { ...base } : base;
  if (isObject(base) && isObject(extra)) return { ...base, ...extra };
  return extra;
}

/** The fields this mapping does not read, so none is dropped without a word. */
function otherFields(message: Record<string, unknown>): Record<string, unknown> | undefined {
  let other: Record<string, unknown> | undefined;
  for (const key of Object.keys(message)) {
    if (MAPPED.has(key)) continue;
    // A null prototype: a "__proto__" key stays an own key, for the hostile-shape check to refuse.
    other ??= Object.create(null) as Record<string, unknown>;
    other[key] = message[key];
  }
  return other;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}
