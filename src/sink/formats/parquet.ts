import { gzipSync } from 'node:zlib';
import { ByteWriter, type ColumnSource, ParquetWriter, type SchemaElement } from 'hyparquet-writer';
import { canonicalTimeMs } from '../../event/time.js';
import type { ActivityEvent } from '../../event/types.js';
import { type ColumnTable, EVENT_COLUMNS, type LogicalType } from '../../layout/index.js';
import {
  DISTINCT_EVENT_IDS_KEY,
  distinctIdRange,
  PARQUET_GZIP_LEVEL,
  PARQUET_ROW_GROUP_SIZE,
} from './index.js';

/**
 * How each logical type is stored. Every column is OPTIONAL, as DuckDB writes them, so the objects the
 * consumer writes and those `activity compact` writes have one schema.
 */
const ELEMENT: Record<LogicalType, Omit<SchemaElement, 'name' | 'repetition_type'>> = {
  string: { type: 'BYTE_ARRAY', converted_type: 'UTF8' },
  integer: { type: 'INT32', converted_type: 'INT_32' },
  bigint: { type: 'INT64', converted_type: 'INT_64' },
  double: { type: 'DOUBLE' },
  boolean: { type: 'BOOLEAN' },
  // Instants are INT64 milliseconds adjusted to UTC: landed times have milliseconds, no finer, and a
  // millisecond column delta-encodes in fewer bits than the same times in microseconds. DuckDB reads it
  // as TIMESTAMPTZ, Athena (Trino) and Spark as a timestamp. The legacy converted type is set too, for
  // older readers.
  timestamp: {
    type: 'INT64',
    converted_type: 'TIMESTAMP_MILLIS',
    logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' },
  },
  date: { type: 'INT32', converted_type: 'DATE', logical_type: { type: 'DATE' } },
  // JSON text with the JSON logical type: DuckDB reads it as JSON, Athena and Spark as a string.
  json: { type: 'BYTE_ARRAY', converted_type: 'JSON', logical_type: { type: 'JSON' } },
};

/**
 * The encoding of each logical type's pages, where the writer's own choice (dictionary when it at
 * least halves a column, else plain) is not the best. Times arrive nearly in order, so their deltas
 * are small: DELTA_BINARY_PACKED packs a column of them into a few bits a row.
 */
const ENCODING: Partial<Record<LogicalType, ColumnSource['encoding']>> = {
  timestamp: 'DELTA_BINARY_PACKED',
};

/**
 * Logical types whose columns carry no min/max statistics: no reader prunes by a JSON column's bounds,
 * and the writer would keep them whole in the footer, at a cost in time (BENCHMARKS.md, "Parquet").
 */
const NO_STATISTICS: ReadonlySet<LogicalType> = new Set(['json']);

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

/** Milliseconds since the epoch of a landed ISO 8601 time, which is always in the canonical form. */
function millis(iso: unknown): bigint | null {
  if (iso === undefined) return null;
  return BigInt(canonicalTimeMs(iso as string) ?? Date.parse(iso as string));
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
  bigint: (v) => (v === undefined ? null : BigInt(v as number)),
  double: (v) => v ?? null,
  boolean: (v) => v ?? null,
  timestamp: millis,
  date: days,
  json: (v) => (v === undefined ? null : JSON.stringify(v)),
};

/** Parquet's GZIP codec with zlib, which both Node.js and the Lambda runtime carry: nothing to bundle. */
const COMPRESSORS = { GZIP: (page: Uint8Array) => gzipSync(page, { level: PARQUET_GZIP_LEVEL }) };

/**
 * Encodes landed events as one Parquet object (gzip-compressed, statistics on), with pure
 * JavaScript (`hyparquet-writer`) and zlib: nothing native to ship, so it bundles into the Lambda file.
 * The same events give the same bytes, so a retried batch overwrites its object with itself. When
 * no two events share an `event_id`, the object says so, with its id range (`DISTINCT_EVENT_IDS_KEY`).
 */
export function encodeEventsParquet(events: readonly ActivityEvent[]): Uint8Array {
  const range = distinctIdRange(events.map((e) => e.event_id));
  const schema = EVENT_PARQUET_SCHEMA.map((element) => ({ ...element }));
  // JSON columns are serialised here, once, and handed to the writer as text: with the JSON converted
  // type it would copy each object, serialise and encode it again (a quarter of its time; BENCHMARKS.md,
  // "Parquet"). The footer, written last, still says JSON.
  const json = schema.filter((element) => element.converted_type === 'JSON');
  for (const element of json) element.converted_type = 'UTF8';
  const writer = new ByteWriter();
  const parquet = new ParquetWriter({
    writer,
    schema,
    codec: 'GZIP',
    compressors: COMPRESSORS,
    createdBy: 'activity-pipeline',
    ...(range === undefined
      ? {}
      : { kvMetadata: [{ key: DISTINCT_EVENT_IDS_KEY, value: JSON.stringify(range) }] }),
  });
  parquet.write({
    columnData: EVENT_COLUMNS.map(({ name, type }): ColumnSource => {
      const value = VALUE[type];
      const encoding = ENCODING[type];
      const data = events.map((e) => value(e[name]));
      return {
        name,
        data,
        // A column of nulls has no values to compress, and a page compressed anyway costs a zlib
        // stream's set-up (most of a batch's optional columns: sent fields, campaigns, referrers).
        ...(data.every((v) => v === null) ? { codec: 'UNCOMPRESSED' as const } : {}),
        ...(encoding === undefined ? {} : { encoding }),
        ...(NO_STATISTICS.has(type) ? { statistics: false } : {}),
      };
    }),
    rowGroupSize: PARQUET_ROW_GROUP_SIZE,
  });
  for (const element of json) element.converted_type = 'JSON';
  parquet.finish();
  return new Uint8Array(writer.getBuffer());
}
