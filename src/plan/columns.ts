import type { Column, ColumnTable, LogicalType } from '../layout/index.js';
import type { JsonSchema } from './plan-file.js';
import type { TrackingPlan } from './tracking-plan.js';

/** A typed view of `activity query`: one planned event, its properties as columns. */
export interface TypedView {
  /** The event name, which is the view's name. */
  name: string;
  /** The plan's properties of the event, as a column table of the layout. */
  columns: ColumnTable;
}

/** Names a typed view cannot take: the landed datasets' own views. */
const TAKEN = new Set(['events', 'errors']);

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

/** The column table of a planned event's properties, in the plan's order. */
export function planColumns(plan: TrackingPlan, event: string): ColumnTable {
  const required = new Set(plan.requiredOf(event));
  return Object.entries(plan.propertiesOf(event)).map(([name, schema]): Column => {
    const description =
      typeof schema.description === 'string' ? schema.description : `properties.${name} of ${event}`;
    return {
      name,
      type: logicalTypeOf(schema),
      ...(required.has(name) ? {} : { optional: true }),
      description,
    };
  });
}

/** One typed view per planned event, but for an event named like a dataset's own view. */
export function typedViews(plan: TrackingPlan): TypedView[] {
  return plan.eventNames
    .filter((name) => !TAKEN.has(name.toLowerCase()))
    .map((name) => ({ name, columns: planColumns(plan, name) }));
}
