import { ConfigError } from '../core/errors.js';
import { type Column, EVENT_COLUMNS, type LogicalType, PARTITION_COLUMNS } from '../layout/index.js';
import { escapePointer, type JsonSchema } from './plan-file.js';
import type { TrackingPlan } from './tracking-plan.js';

/** A column of a typed view: one planned property, typed. */
export interface TypedColumn extends Column {
  /** The key in `properties` it is taken from; `name` differs when that key is an event column's. */
  readonly property: string;
}

/** A typed view: one planned event, its properties as columns. */
export interface TypedView {
  /** The planned event whose rows it holds. */
  event: string;
  /** The view's name: the event's, or for Athena its form of it (`athenaViewName`). */
  name: string;
  /** The plan's properties of the event, in the plan's order. */
  columns: readonly TypedColumn[];
}

/** Where the views are made: `activity query` (DuckDB) or the Glue catalog (Athena). */
export type ViewEngine = 'duckdb' | 'athena';

/** Names a typed view cannot take: the landed datasets' own views. */
const TAKEN = new Set(['events', 'errors']);

/** The columns of `events` (the partitions included): a property named like one is prefixed. */
const EVENT_VIEW_COLUMNS = new Set<string>([...EVENT_COLUMNS, ...PARTITION_COLUMNS].map((c) => c.name));

/** What a typed view's column of a property named like an event column starts with. */
export const PROPERTY_PREFIX = 'properties_';

/**
 * The logical type of a property schema: `integer` → `bigint`, `number` → `double`, `boolean`,
 * `string` (`timestamp` with format `date-time`, `date` with format `date`); an object, an array, a
 * schema of several types (`null` aside) or none is `json`.
 */
export function logicalTypeOf(schema: JsonSchema): LogicalType {
  const given = schema.type;
  const types = (Array.isArray(given) ? given : given === undefined ? [] : [given]).filter(
    (t) => t !== 'null',
  );
  if (types.length !== 1) return 'json';
  switch (types[0]) {
    case 'integer':
      return 'bigint';
    case 'number':
      return 'double';
    case 'boolean':
      return 'boolean';
    case 'string':
      if (schema.format === 'date-time') return 'timestamp';
      if (schema.format === 'date') return 'date';
      return 'string';
    default:
      return 'json';
  }
}

/**
 * The column name of a property in a typed view: its own, but `properties_<key>` for a key named like
 * a column of `events` (`user_id`, `timestamp`, `dt`, `browser`, …, in any case), so that every view
 * keeps the event's own columns under their names and no name is listed twice.
 */
export function propertyColumnName(key: string): string {
  return EVENT_VIEW_COLUMNS.has(key.toLowerCase()) ? `${PROPERTY_PREFIX}${key}` : key;
}

/**
 * The Athena name of a planned event's view: lowercase letters, digits and `_`, as Athena names
 * tables (`Checkout Started` → `checkout_started`).
 */
export function athenaViewName(event: string): string {
  return event.toLowerCase().replace(/[^a-z0-9_]+/g, '_');
}

/**
 * The columns of a planned event's properties, in the plan's order. Names compare without case, as
 * DuckDB's and Athena's do: two properties that would give one column (`Amount` and `amount`, or
 * `user_id` and `properties_user_id`) are refused, naming both.
 */
export function planColumns(plan: TrackingPlan, event: string): TypedColumn[] {
  const required = new Set(plan.requiredOf(event));
  const byName = new Map<string, string>();
  return Object.entries(plan.propertiesOf(event)).map(([key, schema]): TypedColumn => {
    const name = propertyColumnName(key);
    const other = byName.get(name.toLowerCase());
    if (other !== undefined) {
      const at = (k: string) => `/events/${escapePointer(event)}/properties/properties/${escapePointer(k)}`;
      throw new ConfigError(
        `${plan.source}: ${at(other)} and ${at(key)} both give the column ${name} of the typed view of ${JSON.stringify(event)} (column names ignore case): rename one`,
      );
    }
    byName.set(name.toLowerCase(), key);
    const description =
      typeof schema.description === 'string' ? schema.description : `properties.${key} of ${event}`;
    return {
      name,
      property: key,
      type: logicalTypeOf(schema),
      ...(required.has(key) ? {} : { optional: true }),
      description,
    };
  });
}

/**
 * One typed view per planned event, but for an event whose view would be named like a dataset's
 * (`events`, `errors`). In DuckDB a view is named after its event, in Athena after `athenaViewName`;
 * view names compare without case in both. Two events that would give one view (`Purchase` and
 * `purchase`; in Athena `Checkout Started` and `checkout_started` too) are refused, naming both,
 * rather than one of them going without a view.
 */
export function typedViews(plan: TrackingPlan, engine: ViewEngine = 'duckdb'): TypedView[] {
  const byName = new Map<string, string>();
  const views: TypedView[] = [];
  for (const event of plan.eventNames) {
    const name = engine === 'athena' ? athenaViewName(event) : event;
    const key = name.toLowerCase();
    if (TAKEN.has(key)) continue;
    const other = byName.get(key);
    if (other !== undefined) {
      throw new ConfigError(
        `${plan.source}: /events/${escapePointer(other)} and /events/${escapePointer(event)} both give the typed view ${name}${engine === 'athena' ? ' in Athena' : ''} (view names ignore case${engine === 'athena' ? ', other characters than letters, digits and _ become _' : ''}): rename one`,
      );
    }
    byName.set(key, event);
    views.push({ event, name, columns: planColumns(plan, event) });
  }
  return views;
}
