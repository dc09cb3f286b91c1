import { z } from 'zod';
import { MAX_USER_ID_LENGTH } from '../core/limits.js';
import { SENT_COLUMNS } from '../layout/index.js';

/** How deeply objects and arrays may nest inside one event (the event itself is level 1). */
export const MAX_EVENT_DEPTH = 32;

/** The longest `event` name, `event_id` or `session_id`. */
export const MAX_NAME_LENGTH = 128;

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

/** One pattern checks length and characters together: the hot path runs a single check per field. */
function text(field: string, maxLength: number) {
  const valid = new RegExp(`^[^\\u0000-\\u001f\\u007f-\\u009f]{1,${maxLength}}$`);
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

export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
