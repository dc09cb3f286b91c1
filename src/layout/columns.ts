/**
 * Column tables: the one declaration of a dataset's columns (name, logical type, optional,
 * description). The NDJSON lines, the Parquet schema, the DuckDB views and the Glue tables are derived
 * from them, each by its own map from logical type to physical type, so a new column is one row.
 */

/** A JSON value, as events carry in `properties` and `context`. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * What a column holds, whatever the format: `string` (UTF-8 text), `integer` (a whole number that fits
 * 32 bits), `bigint` (a whole number that fits 64 bits), `double` (a 64-bit floating-point number),
 * `boolean`, `timestamp` (an instant; ISO 8601 UTC text with milliseconds in NDJSON), `date`
 * (`YYYY-MM-DD`, UTC) or `json` (a JSON object; JSON text where the format has no JSON type). The
 * landed datasets use five of them; a tracking plan's typed views use them all.
 */
export type LogicalType =
  | 'string'
  | 'integer'
  | 'bigint'
  | 'double'
  | 'boolean'
  | 'timestamp'
  | 'date'
  | 'json';

export const LOGICAL_TYPES: readonly LogicalType[] = [
  'string',
  'integer',
  'bigint',
  'double',
  'boolean',
  'timestamp',
  'date',
  'json',
];

export interface Column {
  readonly name: string;
  readonly type: LogicalType;
  /** May be absent: left out of an NDJSON line, null in Parquet and in the views. */
  readonly optional?: boolean;
  /** Required once landed, but filled in by the pipeline when a producer leaves it out. */
  readonly assigned?: boolean;
  /** Filled in by the consumer (enrichment) and never sent: producers' input has no such field. */
  readonly derived?: boolean;
  /** One line for people: the Glue column comment is made from it. */
  readonly description: string;
}

/** A dataset's columns, in their landed order. */
export type ColumnTable = readonly Column[];

/** Declares a column table, keeping its literal names and types for `RowOf` and `InputOf`. */
export function columnTable<const T extends ColumnTable>(columns: T): T {
  return columns;
}

/** The column names of a table, in order. */
export function columnNames(columns: ColumnTable): string[] {
  return columns.map((c) => c.name);
}

/** The value of each logical type in a landed row. */
interface LandedValue {
  string: string;
  integer: number;
  bigint: number;
  double: number;
  boolean: boolean;
  timestamp: string;
  date: string;
  json: { [key: string]: JsonValue };
}

/** The value of each logical type as a producer may send it: times in any accepted form. */
interface InputValue extends Omit<LandedValue, 'timestamp'> {
  timestamp: string | number;
}

type Flat<T> = { [K in keyof T]: T[K] } & {};

type Typed<T extends ColumnTable, Values, Optional, Left = never> = Flat<
  {
    [C in T[number] as C extends Optional | Left ? never : C['name']]: Values[C['type'] & keyof Values];
  } & {
    [C in T[number] as C extends Left ? never : C extends Optional ? C['name'] : never]?: Values[C['type'] &
      keyof Values];
  }
>;

/** A landed row of a table: its required columns always present, its optional ones maybe. */
export type RowOf<T extends ColumnTable> = Typed<T, LandedValue, { optional: true }>;

/** A row as producers send it: columns the pipeline assigns may be left out, times in any form. */
export type InputOf<T extends ColumnTable> = Typed<
  T,
  InputValue,
  { optional: true } | { assigned: true },
  { derived: true }
>;

/** The columns producers may send: all but the derived ones. */
export function inputColumns(columns: ColumnTable): ColumnTable {
  return columns.filter((c) => c.derived !== true);
}

const IS: Record<LogicalType, [(value: unknown) => boolean, noun: string]> = {
  string: [(v) => typeof v === 'string', 'a string'],
  integer: [(v) => Number.isSafeInteger(v), 'an integer'],
  bigint: [(v) => Number.isSafeInteger(v), 'an integer'],
  double: [(v) => typeof v === 'number', 'a number'],
  boolean: [(v) => typeof v === 'boolean', 'a boolean'],
  timestamp: [(v) => typeof v === 'string', 'a time string'],
  date: [(v) => typeof v === 'string', 'a date string'],
  json: [(v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'a JSON object'],
};

/**
 * Why a parsed NDJSON line is not a row of `columns`, or undefined when it is: every column it has is
 * of its type, and every column in `required` is there. Columns it does not know are left alone.
 */
export function rowProblem(
  columns: ColumnTable,
  row: { readonly [name: string]: unknown },
  required: ReadonlySet<string>,
): string | undefined {
  for (const { name, type } of columns) {
    const value = row[name];
    const [is, noun] = IS[type];
    if (value === undefined) {
      if (required.has(name)) return `${name} is missing or not ${noun}`;
    } else if (!is(value)) {
      return required.has(name) ? `${name} is missing or not ${noun}` : `${name} is not ${noun}`;
    }
  }
  return undefined;
}
