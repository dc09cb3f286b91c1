import { parquetWriteBuffer, type SchemaElement } from 'hyparquet-writer';
import type { ActivityEvent } from '../../event/types.js';
import { PARQUET_ROW_GROUP_SIZE } from './index.js';

// Instants are INT64 microseconds adjusted to UTC: what DuckDB, Arrow and Spark write for a time-zone
// aware timestamp, which Athena (Trino), Spark and DuckDB all read as a timestamp. The legacy
// converted type is set too, for older readers. Every column is OPTIONAL, as DuckDB writes them, so
// the objects the consumer writes and those `activity compact` writes have one schema.
const instant = (name: string): SchemaElement => ({
  name,
  type: 'INT64',
  repetition_type: 'OPTIONAL',
  converted_type: 'TIMESTAMP_MICROS',
  logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' },
});
const text = (name: string): SchemaElement => ({
  name,
  type: 'BYTE_ARRAY',
  repetition_type: 'OPTIONAL',
  converted_type: 'UTF8',
});
// JSON text with the JSON logical type: DuckDB reads it as JSON, Athena and Spark as a string.
const json = (name: string): SchemaElement => ({
  name,
  type: 'BYTE_ARRAY',
  repetition_type: 'OPTIONAL',
  converted_type: 'JSON',
  logical_type: { type: 'JSON' },
});

const COLUMNS: SchemaElement[] = [
  text('event_id'),
  text('user_id'),
  text('event'),
  instant('timestamp'),
  instant('received_at'),
  text('session_id'),
  instant('sent_at'),
  instant('original_timestamp'),
  json('properties'),
  json('context'),
];

/**
 * The Parquet schema of landed events: the NDJSON fields, in the same order, with times as
 * timestamps. `dt` and `hour` are not columns: as in Hive, they are the object's path.
 */
export const EVENT_PARQUET_SCHEMA: readonly SchemaElement[] = [
  { name: 'activity_event', num_children: COLUMNS.length },
  ...COLUMNS,
];

/** Microseconds since the epoch of a landed ISO 8601 time. */
function micros(iso: string | undefined): bigint | null {
  if (iso === undefined) return null;
  return BigInt(Date.parse(iso)) * 1000n;
}

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
  const column = <T>(pick: (e: ActivityEvent) => T) => events.map(pick);
  const buffer = parquetWriteBuffer({
    schema: [...EVENT_PARQUET_SCHEMA],
    columnData: [
      { name: 'event_id', data: column((e) => e.event_id) },
      { name: 'user_id', data: column((e) => e.user_id) },
      { name: 'event', data: column((e) => e.event) },
      { name: 'timestamp', data: column((e) => micros(e.timestamp)) },
      { name: 'received_at', data: column((e) => micros(e.received_at)) },
      { name: 'session_id', data: column((e) => e.session_id ?? null) },
      { name: 'sent_at', data: column((e) => micros(e.sent_at)) },
      { name: 'original_timestamp', data: column((e) => micros(e.original_timestamp)) },
      { name: 'properties', data: column((e) => asWritten(e.properties)) },
      { name: 'context', data: column((e) => asWritten(e.context)) },
    ],
    rowGroupSize: PARQUET_ROW_GROUP_SIZE,
    createdBy: 'activity-pipeline',
  });
  return new Uint8Array(buffer);
}
