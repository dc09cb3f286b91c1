import { isUtf8 } from 'node:buffer';

/**
 * Snowplow's tracker protocol mapped into the one event. Pure functions: no HTTP, no clock, so the
 * mapping can be tested alone. Fields our envelope lacks land in columns of their own (`SENT_COLUMNS`).
 *
 * | Snowplow                         | the event                                              |
 * |----------------------------------|--------------------------------------------------------|
 * | `eid`                            | `event_id` (retries keep it, so `events` dedupes them)  |
 * | `uid`, else `duid`               | `user_id`                                               |
 * | `duid`                           | `anonymous_id`                                          |
 * | `e=pv` / `pp`                    | `event` `page_view` / `page_ping` (`pp_*` in `properties`) |
 * | `e=se`                           | `event` is `se_ac`; `se_ca`, `se_ac`, `se_la`, `se_pr`, `se_va` in `properties` |
 * | `e=ue` (`ue_pr` / `ue_px`)       | `event` is the schema's name; its data in `properties`; the URI in `event_schema` |
 * | `e=tr` / `ti`                    | `transaction` / `transaction_item`, their fields in `properties` |
 * | `ttm`, else `dtm` + `stm`        | `timestamp` (derived: `dtm + (received − stm)`), `sent_at` |
 * | `sid`                            | `session_id`                                            |
 * | `url`, `refr`, `page`            | `context.page.url`, `.referrer`, `.title` (and `.path`) |
 * | `ua`                             | `context.user_agent`                                    |
 * | `co` / `cx`                      | `contexts`, as sent (`{schema, data: [...]}`)           |
 * | `aid`, `p`, `tv`, `tna`, `nuid`, `vid` | `context.snowplow.app_id`, `.platform`, `.tracker`, `.namespace`, `.network_user_id`, `.session_index` |
 * | any other field                  | `context.snowplow.fields`                               |
 */

/** The `schema` of a POST body; any `payload_data` version is read. */
export const PAYLOAD_DATA_SCHEMA =
  /^iglu:com\.snowplowanalytics\.snowplow\/payload_data\/jsonschema\/1-0-\d+$/;
const IGLU_URI = /^iglu:([a-zA-Z0-9_.-]+)\/([a-zA-Z0-9_.-]+)\/([a-zA-Z0-9_.-]+)\/(\d+-\d+-\d+)$/;

/** A Snowplow event mapped into an event input, or why it cannot be. */
export type SnowplowMapped =
  | {
      ok: true;
      value: Record<string, unknown>;
      /** The JSON texts the event's self-describing data (`ue`) and contexts (`cx`) were read from. */
      texts?: { ue?: string; contexts?: string };
      /**
       * True when a field this mapping does not read, which lands as sent (`context.snowplow.fields`),
       * is not a string: it may hold a number, to be checked in the body's text.
       */
      keptNonString?: true;
    }
  | { ok: false; code: 'missing_field' | 'invalid_field'; message: string };

const EVENT_NAMES: Record<string, string> = {
  pv: 'page_view',
  pp: 'page_ping',
  tr: 'transaction',
  ti: 'transaction_item',
};

const PAGE_PING = { pp_mix: 'min_x', pp_max: 'max_x', pp_miy: 'min_y', pp_may: 'max_y' } as const;
const STRUCTURED = {
  se_ca: 'category',
  se_ac: 'action',
  se_la: 'label',
  se_pr: 'property',
  se_va: 'value',
} as const;
const TRANSACTION = {
  tr_id: 'order_id',
  tr_af: 'affiliation',
  tr_tt: 'total',
  tr_tx: 'tax',
  tr_sh: 'shipping',
  tr_ci: 'city',
  tr_st: 'state',
  tr_co: 'country',
  tr_cu: 'currency',
} as const;
const TRANSACTION_ITEM = {
  ti_id: 'order_id',
  ti_sk: 'sku',
  ti_nm: 'name',
  ti_ca: 'category',
  ti_pr: 'price',
  ti_qu: 'quantity',
  ti_cu: 'currency',
} as const;
/** Numeric fields: sent as strings, landed as numbers. */
const NUMERIC = new Set([
  'pp_mix',
  'pp_max',
  'pp_miy',
  'pp_may',
  'se_va',
  'tr_tt',
  'tr_tx',
  'tr_sh',
  'ti_pr',
  'ti_qu',
]);

/** A field of a table, its readable name, and whether it lands as a number. */
type PickedField = readonly [field: string, name: string, numeric: boolean];
const picked = (table: Record<string, string>): readonly PickedField[] =>
  Object.entries(table).map(([field, name]) => [field, name, NUMERIC.has(field)] as const);
/** The same tables as triples, for the hot path. */
const PAGE_PING_PAIRS = picked(PAGE_PING);
const STRUCTURED_PAIRS = picked(STRUCTURED);
const TRANSACTION_PAIRS = picked(TRANSACTION);
const ITEM_PAIRS = picked(TRANSACTION_ITEM);
const TRACKER_PAIRS = Object.entries({
  aid: 'app_id',
  p: 'platform',
  tv: 'tracker',
  tna: 'namespace',
  nuid: 'network_user_id',
});
/** The path of an absolute URL: what follows its authority, up to a query or fragment. */
const URL_PATH = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*([^?#]*)/i;

/** Fields whose meaning is mapped into a field of the event; every other one goes to `context.snowplow.fields`. */
const MAPPED = new Set([
  'e',
  'eid',
  'dtm',
  'stm',
  'ttm',
  'uid',
  'duid',
  'nuid',
  'sid',
  'vid',
  'url',
  'refr',
  'page',
  'ua',
  'ue_pr',
  'ue_px',
  'co',
  'cx',
  'aid',
  'p',
  'tv',
  'tna',
  ...Object.keys(PAGE_PING),
  ...Object.keys(STRUCTURED),
  ...Object.keys(TRANSACTION),
  ...Object.keys(TRANSACTION_ITEM),
]);

/**
 * Reads a `POST …/tp2` body: `{"schema": "iglu:…/payload_data/jsonschema/1-0-4", "data": [...]}`.
 */
export function readSnowplowPayload(
  body: unknown,
): { ok: true; events: unknown[] } | { ok: false; message: string } {
  if (!isObject(body))
    return { ok: false, message: `the body must be a JSON object (given ${typeName(body)})` };
  if (typeof body.schema !== 'string' || !PAYLOAD_DATA_SCHEMA.test(body.schema)) {
    return {
      ok: false,
      message: `"schema" must be iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-N (given ${JSON.stringify(String(body.schema).slice(0, 100))})`,
    };
  }
  if (!Array.isArray(body.data)) {
    return { ok: false, message: `"data" must be an array of events (given ${typeName(body.data)})` };
  }
  return { ok: true, events: body.data };
}

/**
 * Maps one tracker-protocol event (its fields as the tracker sent them, mostly strings) into an event
 * input for `prepareEvent`, which validates it and corrects `timestamp` from `sent_at` by Snowplow's
 * derived-timestamp rule. `receivedAt` is the time of an event that carries none.
 */
export function mapSnowplowEvent(fields: unknown, options: { receivedAt: number }): SnowplowMapped {
  if (!isObject(fields)) {
    return {
      ok: false,
      code: 'invalid_field',
      message: `an event must be a JSON object (given ${typeName(fields)})`,
    };
  }
  const user = text(fields.uid) ?? text(fields.duid);
  if (user === undefined) return { ok: false, code: 'missing_field', message: 'uid or duid is required' };
  const e = fields.e;
  if (e === undefined) return { ok: false, code: 'missing_field', message: 'e (the event type) is required' };

  const snowplow: Record<string, unknown> = {};
  const texts: { ue?: string; contexts?: string } = {};
  const context: Record<string, unknown> = { snowplow };
  let schema: string | undefined;
  let event: unknown;
  let properties: Record<string, unknown> | undefined;
  switch (e) {
    case 'pv':
    case 'pp':
    case 'tr':
    case 'ti': {
      event = EVENT_NAMES[e as string];
      const names =
        e === 'pp' ? PAGE_PING_PAIRS : e === 'tr' ? TRANSACTION_PAIRS : e === 'ti' ? ITEM_PAIRS : undefined;
      if (names !== undefined) properties = pick(fields, names);
      break;
    }
    case 'se': {
      if (text(fields.se_ca) === undefined || text(fields.se_ac) === undefined) {
        return {
          ok: false,
          code: 'missing_field',
          message: 'se_ca and se_ac are required in a structured event',
        };
      }
      event = fields.se_ac;
      properties = pick(fields, STRUCTURED_PAIRS);
      break;
    }
    case 'ue': {
      const decoded = decodeJsonField(fields, 'ue_px', 'ue_pr');
      if (!decoded.ok) return decoded;
      if (decoded.text !== undefined) texts.ue = decoded.text;
      const inner = isObject(decoded.value) ? decoded.value.data : undefined;
      if (!isObject(inner) || typeof inner.schema !== 'string') {
        return {
          ok: false,
          code: decoded.value === undefined ? 'missing_field' : 'invalid_field',
          message:
            decoded.value === undefined
              ? 'ue_pr or ue_px is required in a self-describing event'
              : 'a self-describing event must hold {"schema": …, "data": {"schema": "iglu:…", "data": {…}}}',
        };
      }
      const uri = IGLU_URI.exec(inner.schema);
      if (uri === null) {
        return {
          ok: false,
          code: 'invalid_field',
          message: `the event's schema ${JSON.stringify(inner.schema.slice(0, 100))} is not an Iglu URI (iglu:vendor/name/jsonschema/1-0-0)`,
        };
      }
      event = uri[2];
      schema = inner.schema;
      if (inner.data !== undefined) {
        if (!isObject(inner.data)) {
          return {
            ok: false,
            code: 'invalid_field',
            message: `the event's data must be a JSON object (given ${typeName(inner.data)})`,
          };
        }
        properties = inner.data;
      }
      break;
    }
    default:
      return {
        ok: false,
        code: 'invalid_field',
        message: `e ${JSON.stringify(String(e).slice(0, 20))} is not one of pv, pp, se, ue, tr, ti`,
      };
  }

  const contexts = decodeJsonField(fields, 'cx', 'co');
  if (!contexts.ok) return contexts;
  if (contexts.text !== undefined) texts.contexts = contexts.text;
  if (contexts.value !== undefined) {
    const data = isObject(contexts.value) ? contexts.value.data : undefined;
    if (!Array.isArray(data)) {
      return {
        ok: false,
        code: 'invalid_field',
        message: 'co / cx must hold {"schema": …, "data": [ {"schema", "data"}, … ]}',
      };
    }
  }

  const page = pageOf(fields);
  if (page !== undefined) context.page = page;
  if (fields.ua !== undefined) context.user_agent = fields.ua;
  for (const [field, name] of TRACKER_PAIRS) if (fields[field] !== undefined) snowplow[name] = fields[field];
  if (fields.vid !== undefined) snowplow.session_index = numeric(fields.vid);
  let other: Record<string, unknown> | undefined;
  let keptNonString = false;
  for (const key of Object.keys(fields)) {
    if (MAPPED.has(key)) continue;
    // A null prototype: a "__proto__" key stays an own key, for the hostile-shape check to refuse.
    other ??= Object.create(null) as Record<string, unknown>;
    const kept = fields[key];
    other[key] = kept;
    if (typeof kept !== 'string') keptNonString = true;
  }
  if (other !== undefined) snowplow.fields = other;

  const value: Record<string, unknown> = { user_id: user, event, context };
  if (fields.duid !== undefined) value.anonymous_id = fields.duid;
  if (schema !== undefined) value.event_schema = schema;
  if (contexts.value !== undefined) value.contexts = contexts.value;
  if (fields.eid !== undefined) value.event_id = fields.eid;
  if (fields.sid !== undefined) value.session_id = fields.sid;
  if (properties !== undefined) value.properties = properties;
  // Snowplow's derived timestamp: the true time when the tracker set one, else the device's time
  // corrected by how far its clock was off when it sent (`prepareEvent` applies `sent_at`).
  if (fields.ttm !== undefined) {
    value.timestamp = numeric(fields.ttm);
    if (fields.stm !== undefined) snowplow.sent_at = numeric(fields.stm);
  } else if (fields.dtm !== undefined) {
    value.timestamp = numeric(fields.dtm);
    if (fields.stm !== undefined) value.sent_at = numeric(fields.stm);
  } else {
    value.timestamp = options.receivedAt;
    if (fields.stm !== undefined) snowplow.sent_at = numeric(fields.stm);
  }
  const mapped: SnowplowMapped =
    texts.ue === undefined && texts.contexts === undefined ? { ok: true, value } : { ok: true, value, texts };
  if (keptNonString) mapped.keptNonString = true;
  return mapped;
}

/**
 * Where a value of a tracker's event lands, by its path in the event's fields: a field this mapping
 * does not read goes to `context.snowplow.fields` as sent; the others are strings by the protocol.
 */
export function snowplowLandedPath(path: readonly (string | number)[]): (string | number)[] | undefined {
  const [field, ...rest] = path;
  return typeof field === 'string' && !MAPPED.has(field)
    ? ['context', 'snowplow', 'fields', field, ...rest]
    : undefined;
}

/**
 * The fields of `GET /i`'s query string, as Fastify parsed it: a repeated field keeps its first value.
 */
export function queryFields(query: unknown): Record<string, unknown> {
  const fields: Record<string, unknown> = Object.create(null);
  if (!isObject(query)) return fields;
  for (const key of Object.keys(query)) {
    const value = query[key];
    fields[key] = Array.isArray(value) ? value[0] : value;
  }
  return fields;
}

type Decoded =
  | { ok: true; value: unknown; text?: string }
  | { ok: false; code: 'invalid_field'; message: string };

/** The answer for a JSON field that is not set. */
const NOT_SET: Decoded = Object.freeze({ ok: true, value: undefined });

/** Reads a JSON field sent base64url-encoded (`encoded`) or plain (`plain`); undefined when neither is set. */
function decodeJsonField(fields: Record<string, unknown>, encoded: string, plain: string): Decoded {
  let textValue: string;
  const raw = fields[encoded];
  if (raw !== undefined) {
    if (typeof raw !== 'string') return invalid(`${encoded} must be base64url text (given ${typeName(raw)})`);
    const bytes = Buffer.from(raw, 'base64url');
    if (!isUtf8(bytes)) return invalid(`${encoded} does not decode to UTF-8 text`);
    textValue = bytes.toString('utf8');
  } else if (fields[plain] !== undefined) {
    const given = fields[plain];
    if (typeof given !== 'string')
      return isObject(given) ? { ok: true, value: given } : invalid(`${plain} must be JSON text`);
    textValue = given;
  } else {
    return NOT_SET;
  }
  try {
    return { ok: true, value: JSON.parse(textValue), text: textValue };
  } catch (error) {
    return invalid(`${raw !== undefined ? encoded : plain} is not valid JSON: ${(error as Error).message}`);
  }
}

function invalid(message: string): Decoded {
  return { ok: false, code: 'invalid_field', message };
}

function pageOf(fields: Record<string, unknown>): Record<string, unknown> | undefined {
  if (fields.url === undefined && fields.refr === undefined && fields.page === undefined) return undefined;
  const page: Record<string, unknown> = {};
  if (fields.url !== undefined) {
    page.url = fields.url;
    const path = typeof fields.url === 'string' ? URL_PATH.exec(fields.url) : null;
    if (path !== null) page.path = path[1] || '/';
  }
  if (fields.refr !== undefined) page.referrer = fields.refr;
  if (fields.page !== undefined) page.title = fields.page;
  return page;
}

/** The fields of `names` that are set, under their readable names; numeric ones as numbers. */
function pick(fields: Record<string, unknown>, names: readonly PickedField[]): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const [field, name, isNumeric] of names) {
    const value = fields[field];
    if (value !== undefined) picked[name] = isNumeric ? numeric(value) : value;
  }
  return picked;
}

/** A number sent as text becomes a number; anything else is left for the schema to judge. */
function numeric(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  // Text that begins with a digit is not blank (which Number reads as 0): most numbers are sent so.
  const first = value.charCodeAt(0);
  if (!(first >= 0x30 && first <= 0x39) && value.trim() === '') return value;
  const number = Number(value);
  return Number.isFinite(number) ? number : value;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}
