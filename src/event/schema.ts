import { z } from 'zod';
import { MAX_USER_ID_LENGTH } from '../core/limits.js';
import { SENT_COLUMNS } from '../layout/index.js';

/** How deeply objects and arrays may nest inside one event (the event itself is level 1). */
export const MAX_EVENT_DEPTH = 32;

/** The longest `event` name, `event_id` or `session_id`. */
export const MAX_NAME_LENGTH = 128;

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

const TEXT_PATTERNS = new Map<number, RegExp>();

/** One pattern checks length and characters together: the hot path runs a single check per field. */
function textPattern(maxLength: number): RegExp {
  let pattern = TEXT_PATTERNS.get(maxLength);
  if (pattern === undefined) {
    pattern = new RegExp(`^[^\\u0000-\\u001f\\u007f-\\u009f]{1,${maxLength}}$`);
    TEXT_PATTERNS.set(maxLength, pattern);
  }
  return pattern;
}

function text(field: string, maxLength: number) {
  const valid = textPattern(maxLength);
  return z
    .string({ error: (issue) => `${field} must be a string (given ${describeType(issue.input)})` })
    .regex(valid, {
      error: (issue) => {
        const value = String(issue.input);
        if (value.length === 0) return `${field} must not be empty`;
        if (value.length > maxLength)
          return `${field} must be at most ${maxLength} characters (given ${value.length})`;
        if (CONTROL_CHARACTER.test(value)) return `${field} must not contain control characters`;
        return `${field} is invalid`;
      },
    });
}

function timeInput(field: string) {
  return z.union([z.number(), z.string()], {
    error: (issue) =>
      `${field} must be epoch seconds, epoch milliseconds or an ISO 8601 string (given ${describeType(issue.input)})`,
  });
}

/** A JSON object (not an array or null). Checked by shape only: its values came from JSON already. */
function jsonObject(field: string) {
  return z.custom<{ [key: string]: unknown }>(
    (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
    { error: (issue) => `${field} must be a JSON object (given ${describeType(issue.input)})` },
  );
}

/** The names of the columns senders fill as sent (`SENT_COLUMNS`), and which of them are JSON. */
export const SENT_FIELDS: readonly string[] = SENT_COLUMNS.map((c) => c.name);
export const SENT_JSON_FIELDS: readonly string[] = SENT_COLUMNS.filter((c) => c.type === 'json').map(
  (c) => c.name,
);

/** The schema of each column of `SENT_COLUMNS`, by its type: text as ids are, or a JSON object. */
function sentFields() {
  return Object.fromEntries(
    SENT_COLUMNS.map(({ name, type }) => [
      name,
      (type === 'json' ? jsonObject(name) : text(name, MAX_USER_ID_LENGTH)).optional(),
    ]),
  ) as unknown as SentSchemas;
}

type SentSchemas = {
  [C in (typeof SENT_COLUMNS)[number] as C['name']]: z.ZodOptional<
    C['type'] extends 'json' ? ReturnType<typeof jsonObject> : ReturnType<typeof text>
  >;
};

/**
 * The one event schema, used by the producer, the collector and the consumer. It checks shapes
 * and types; `parseEvent` then normalises times and applies the time-range rules.
 * Unknown top-level fields are rejected: custom data belongs in `properties`.
 */
export const eventInputSchema = z.strictObject(
  {
    event_id: text('event_id', MAX_NAME_LENGTH).optional(),
    user_id: text('user_id', MAX_USER_ID_LENGTH),
    event: text('event', MAX_NAME_LENGTH),
    timestamp: timeInput('timestamp'),
    received_at: timeInput('received_at').optional(),
    sent_at: timeInput('sent_at').optional(),
    original_timestamp: timeInput('original_timestamp').optional(),
    session_id: text('session_id', MAX_NAME_LENGTH).optional(),
    properties: jsonObject('properties').optional(),
    context: jsonObject('context').optional(),
    ...sentFields(),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown field ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}: put custom data in "properties"`
        : `event must be a JSON object (given ${describeType(issue.input)})`,
  },
);

export type EventInput = z.infer<typeof eventInputSchema>;

/** A field's test for `acceptEventInput`: the schema's rule, run without building anything. */
interface FieldTest {
  test: (value: unknown) => boolean;
  optional: boolean;
}

const isText = (maxLength: number) => {
  const pattern = textPattern(maxLength);
  return (value: unknown) => typeof value === 'string' && pattern.test(value);
};
const isTime = (value: unknown) =>
  typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
const isJsonObject = (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The schema's fields, each with the test the schema applies to it (the same patterns). */
const FIELD_TESTS = new Map<string, FieldTest>([
  ['event_id', { test: isText(MAX_NAME_LENGTH), optional: true }],
  ['user_id', { test: isText(MAX_USER_ID_LENGTH), optional: false }],
  ['event', { test: isText(MAX_NAME_LENGTH), optional: false }],
  ['timestamp', { test: isTime, optional: false }],
  ['received_at', { test: isTime, optional: true }],
  ['sent_at', { test: isTime, optional: true }],
  ['original_timestamp', { test: isTime, optional: true }],
  ['session_id', { test: isText(MAX_NAME_LENGTH), optional: true }],
  ['properties', { test: isJsonObject, optional: true }],
  ['context', { test: isJsonObject, optional: true }],
  ...SENT_COLUMNS.map(({ name, type }): [string, FieldTest] => [
    name,
    { test: type === 'json' ? isJsonObject : isText(MAX_USER_ID_LENGTH), optional: true },
  ]),
]);

/**
 * True when `FIELD_TESTS` names exactly the schema's fields, each as optional as there: should a
 * field be added to the schema alone, `acceptEventInput` takes nothing and the schema decides all.
 */
export const FIELD_TESTS_MATCH_SCHEMA =
  Object.entries(eventInputSchema.shape).every(
    ([name, schema]) => FIELD_TESTS.get(name)?.optional === schema.safeParse(undefined).success,
  ) && FIELD_TESTS.size === Object.keys(eventInputSchema.shape).length;

const REQUIRED_FIELDS = [...FIELD_TESTS.values()].filter((field) => !field.optional).length;

/**
 * The event itself when the schema would accept it as it is (its output would hold the same values),
 * checked field by field with the schema's rules and without building anything; undefined when it
 * may not: `eventInputSchema` then decides, and says why. Only plain objects, such as JSON's, are
 * taken. Most events pass at once, and the schema's own parse costs many allocations per event.
 */
export function acceptEventInput(value: unknown): EventInput | undefined {
  if (!FIELD_TESTS_MATCH_SCHEMA || typeof value !== 'object' || value === null) return undefined;
  if (Object.getPrototypeOf(value) !== Object.prototype) return undefined;
  let required = 0;
  for (const key of Object.keys(value)) {
    const field = FIELD_TESTS.get(key);
    if (field === undefined || !field.test((value as Record<string, unknown>)[key])) return undefined;
    if (!field.optional) required++;
  }
  return required === REQUIRED_FIELDS ? (value as EventInput) : undefined;
}

export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
