import { parquetWriteBuffer, type SchemaElement } from 'hyparquet-writer';
import type { ActivityEvent } from '../../event/types.js';
import { type ColumnTable, EVENT_COLUMNS, type LogicalType } from '../../layout/index.js';
import { PARQUET_ROW_GROUP_SIZE } from './index.js';

/**
 * How each logical type is stored. Every column is OPTIONAL, as DuckDB writes them, so the objects the
 * consumer writes and those `activity compact` writes have one schema.
 */
const ELEMENT: Record<LogicalType, Omit<SchemaElement, 'name' | 'repetition_type'>> = {
  string: { type: 'BYTE_ARRAY', converted_type: 'UTF8' },
  integer: { type: 'INT32', converted_type: 'INT_32' },
  // Instants are INT64 microseconds adjusted to UTC: what DuckDB, Arrow and Spark write for a time-zone
  // aware timestamp, which Athena (Trino), Spark and DuckDB all read as a timestamp. The legacy
  // converted type is set too, for older readers.
  timestamp: {
    type: 'INT64',
    converted_type: 'TIMESTAMP_MICROS',
    logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' },
  },
  date: { type: 'INT32', converted_type: 'DATE', logical_type: { type: 'DATE' } },
  // JSON text with the JSON logical type: DuckDB reads it as JSON, Athena and Spark as a string.
  json: { type: 'BYTE_ARRAY', converted_type: 'JSON', logical_type: { type: 'JSON' } },
};

/** The Parquet columns of a column table, in its order. */
export function parquetColumns(columns: ColumnTable): SchemaElement[] {
  return columns.map(({ name, type }) => {
    const { type: physical, ...annotations } = ELEMENT[type];
    return { name, type: physical, repetition_type: 'OPTIONAL', ...annotations };
  });
}

/**
 * The Parquet schema of landed events: the columns of `EVENT_COLUMNS`, in order, with times as
 * timestamps. `dt` and `hour` are not columns: as in Hive, they are the object's path.
 */
export const EVENT_PARQUET_SCHEMA: readonly SchemaElement[] = [
  { name: 'activity_event', num_children: EVENT_COLUMNS.length },
  ...parquetColumns(EVENT_COLUMNS),
];

/** Microseconds since the epoch of a landed ISO 8601 time. */
function micros(iso: unknown): bigint | null {
  if (iso === undefined) return null;
  return BigInt(Date.parse(iso as string)) * 1000n;
}

/** Days since the epoch of a `YYYY-MM-DD` date. */
function days(date: unknown): number | null {
  if (date === undefined) return null;
  return Date.parse(`${date as string}T00:00:00.000Z`) / 86_400_000;
}

/** A landed value as the writer takes it for a column of each logical type. */
const VALUE: Record<LogicalType, (value: unknown) => unknown> = {
  string: (v) => v ?? null,
  integer: (v) => v ?? null,
  timestamp: micros,
  date: days,
  json: (v) => asWritten(v as object | undefined),
};

/**
 * A JSON column's value, so that hyparquet writes it as it is. It copies each object key by key
 * before `JSON.stringify`, and a copy by assignment turns a `"__proto__"` key into the copy's
 * prototype: the key was lost. It passes an object without a prototype through untouched.
 */
function asWritten(value: object | undefined): object | null {
  return value === undefined ? null : Object.assign(Object.create(null), value);
}

/**
 * Encodes landed events as one Parquet object (snappy-compressed, statistics on), with pure
 * JavaScript (`hyparquet-writer`): nothing native, so it bundles into the Lambda file.
 */
export function encodeEventsParquet(events: readonly ActivityEvent[]): Uint8Array {
  const buffer = parquetWriteBuffer({
    schema: [...EVENT_PARQUET_SCHEMA],
    columnData: EVENT_COLUMNS.map(({ name, type }) => {
      const value = VALUE[type];
      return { name, data: events.map((e) => value(e[name])) };
    }),
    rowGroupSize: PARQUET_ROW_GROUP_SIZE,
    createdBy: 'activity-pipeline',
  });
  return new Uint8Array(buffer);
}
