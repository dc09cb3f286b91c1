import type { JsonSchema, PlanFile } from './plan-file.js';

/**
 * What the landed data says of one top-level key of an event's `properties` (or of `identify`'s
 * `context.traits`): how often it held each JSON type, and its most frequent values.
 */
export interface KeyObservation {
  event: string;
  /** `properties`, or `traits` for `identify`'s `context.traits`. */
  part: 'properties' | 'traits';
  key: string;
  /** DuckDB's name of the JSON type: VARCHAR, UBIGINT, BIGINT, DOUBLE, BOOLEAN, NULL, ARRAY, OBJECT. */
  jsonType: string;
  /** Events of that name in which the key held a value of that type. */
  count: number;
  /** The most frequent values of that type, as JSON text. */
  examples: readonly string[];
}

/** The SQL of the observations, over the `events` view of `activity query`. */
export const OBSERVATIONS_SQL = `
SELECT e.event, 'properties' AS part, j.key, j.type AS json_type, count(*)::DOUBLE AS count,
       approx_top_k(j.value, 3)::VARCHAR[] AS examples
FROM events e, json_each(e.properties) j
GROUP BY ALL
UNION ALL
SELECT e.event, 'traits', j.key, j.type, count(*)::DOUBLE, approx_top_k(j.value, 3)::VARCHAR[]
FROM events e, json_each(coalesce(e.traits, e.context -> '$.traits')) j
WHERE e.event = 'identify' AND json_type(coalesce(e.traits, e.context -> '$.traits')) = 'OBJECT'
GROUP BY ALL
ORDER BY 1, 2, 3, 4`;

/** Events per name. */
export const TOTALS_SQL = 'SELECT event, count(*)::DOUBLE AS count FROM events GROUP BY ALL ORDER BY event';

/** How many examples a drafted property keeps. */
const EXAMPLES = 3;

const JSON_SCHEMA_TYPE: { [duckdb: string]: string } = {
  VARCHAR: 'string',
  UBIGINT: 'integer',
  BIGINT: 'integer',
  DOUBLE: 'number',
  BOOLEAN: 'boolean',
  NULL: 'null',
  ARRAY: 'array',
  OBJECT: 'object',
};

/**
 * A draft plan from what has landed: every event name seen, each with the JSON types of its
 * properties (integer and number seen together give number), the properties present in every one of
 * its events as `required`, and a few frequent values as `examples`. The policies are the defaults;
 * the draft is meant to be read and tightened (enums, patterns, formats), then used.
 */
export function draftPlan(
  totals: ReadonlyMap<string, number>,
  observations: readonly KeyObservation[],
  description?: string,
): PlanFile {
  type Draft = { types: Set<string>; count: number; examples: unknown[] };
  const byEvent = new Map<string, { properties: Map<string, Draft>; traits: Map<string, Draft> }>();
  for (const name of totals.keys()) byEvent.set(name, { properties: new Map(), traits: new Map() });
  for (const o of observations) {
    const parts = byEvent.get(o.event);
    if (parts === undefined) continue;
    const keys = parts[o.part];
    let draft = keys.get(o.key);
    if (draft === undefined) {
      draft = { types: new Set(), count: 0, examples: [] };
      keys.set(o.key, draft);
    }
    const type = JSON_SCHEMA_TYPE[o.jsonType] ?? 'string';
    draft.types.add(type);
    draft.count += o.count;
    if (type !== 'object' && type !== 'array' && type !== 'null') {
      for (const text of o.examples) {
        if (draft.examples.length < EXAMPLES) draft.examples.push(JSON.parse(text));
      }
    }
  }
  const schemaOf = (keys: Map<string, Draft>, total: number, counted: boolean): JsonSchema => {
    const properties: { [key: string]: JsonSchema } = {};
    const required: string[] = [];
    for (const [key, draft] of [...keys].sort(([a], [b]) => a.localeCompare(b))) {
      if (draft.types.has('integer') && draft.types.has('number')) draft.types.delete('integer');
      const types = [...draft.types].sort();
      const schema: JsonSchema = { type: types.length === 1 ? types[0] : types };
      if (draft.examples.length > 0) schema.examples = draft.examples;
      properties[key] = schema;
      if (counted && draft.count >= total) required.push(key);
    }
    return { type: 'object', ...(required.length > 0 ? { required } : {}), properties };
  };
  const events: PlanFile['events'] = {};
  for (const [name, parts] of [...byEvent].sort(([a], [b]) => a.localeCompare(b))) {
    const total = totals.get(name) ?? 0;
    events[name] = {
      description: `${total} event${total === 1 ? '' : 's'} seen`,
      properties: schemaOf(parts.properties, total, true),
    };
    // Not every identify carries traits: none is required.
    if (name === 'identify' && parts.traits.size > 0) {
      const traits = events[name];
      if (traits !== undefined) traits.traits = schemaOf(parts.traits, total, false);
    }
  }
  return {
    ...(description === undefined ? {} : { description }),
    policies: { unplanned_events: 'allow', unplanned_properties: 'allow', violations: 'reject' },
    events,
  };
}
