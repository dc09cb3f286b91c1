import {
  type ColumnTable,
  ERROR_COLUMNS,
  EVENT_COLUMNS,
  type LogicalType,
  PARTITION_COLUMNS,
} from '../layout/index.js';
import type { TypedColumn } from '../plan/index.js';

/**
 * The SQL of the `events` and `errors` views over explicit lists of local files. Column types come
 * from the layout's column tables, not from the files, so an empty sink, a sink of one format or of
 * both, and files missing an optional field all give the same columns.
 */

/** A SQL string literal. */
export function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** A SQL identifier, quoted. */
export function sqlIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The DuckDB type of each logical type: what every source is cast to. */
const DUCKDB_TYPE: Record<LogicalType, string> = {
  string: 'VARCHAR',
  integer: 'INTEGER',
  bigint: 'BIGINT',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  timestamp: 'TIMESTAMPTZ',
  date: 'DATE',
  json: 'JSON',
};

type SqlColumn = readonly [name: string, type: string];

/** The columns of a column table, in order, with their DuckDB types. */
export function sqlColumns(columns: ColumnTable): SqlColumn[] {
  return columns.map(({ name, type }) => [name, DUCKDB_TYPE[type]] as const);
}

/** The partition columns, from the `dt=…/hour=…` path segments, as Athena's tables have them. */
const PARTITIONS = sqlColumns(PARTITION_COLUMNS);

const HIVE = `hive_partitioning = true, hive_types = {${PARTITIONS.map(([name, type]) => `${sqlString(name)}: ${sqlString(type)}`).join(', ')}}`;

function fileList(paths: readonly string[]): string {
  return `[${paths.map(sqlString).join(', ')}]`;
}

/** The typed projection every source of a view goes through, so the parts of a UNION line up. */
function projection(columns: ColumnTable): string {
  return [...sqlColumns(columns), ...PARTITIONS]
    .map(([name, type]) => `CAST(${sqlIdentifier(name)} AS ${type}) AS ${sqlIdentifier(name)}`)
    .join(', ');
}

function emptySource(columns: ColumnTable): string {
  const all = [...sqlColumns(columns), ...PARTITIONS]
    .map(([name, type]) => `CAST(NULL AS ${type}) AS ${sqlIdentifier(name)}`)
    .join(', ');
  return `SELECT ${all} WHERE false`;
}

function jsonSource(columns: ColumnTable, paths: readonly string[]): string {
  const struct = sqlColumns(columns)
    .map(([name, type]) => `${sqlIdentifier(name)}: ${sqlString(type)}`)
    .join(', ');
  return `SELECT ${projection(columns)} FROM read_json(${fileList(paths)}, format = 'newline_delimited', compression = 'gzip', columns = {${struct}}, ${HIVE})`;
}

/**
 * Objects written before a column was added lack it: unioned by name with a typed empty source, every
 * column of the table is there, null in those objects.
 */
function parquetSource(columns: ColumnTable, paths: readonly string[]): string {
  return `SELECT ${projection(columns)} FROM (${emptySource(columns)}
UNION ALL BY NAME SELECT * FROM read_parquet(${fileList(paths)}, union_by_name = true, ${HIVE}))`;
}

/** The local files of one dataset, by format. */
export interface SourceFiles {
  ndjson: readonly string[];
  parquet: readonly string[];
  /**
   * Objects that cannot hold a copy of any other row of their hour (`objectsWithoutCopies`): read as
   * they are, without the deduplicating window.
   */
  unique?: { ndjson: readonly string[]; parquet: readonly string[] };
}

/** Every row of the files, typed, with `dt` and `hour` (not `unique`: see `eventsSelect`). */
export function rawSource(columns: ColumnTable, files: SourceFiles): string {
  const parts: string[] = [];
  if (files.ndjson.length > 0) parts.push(jsonSource(columns, files.ndjson));
  if (files.parquet.length > 0) parts.push(parquetSource(columns, files.parquet));
  if (parts.length === 0) parts.push(emptySource(columns));
  return parts.join('\nUNION ALL\n');
}

/**
 * One row per `event_id` within each hour partition: the copy received first. Copies of an event (a
 * retried put, a replay, a redrive, an object and its compacted form) carry the event's own
 * `timestamp`, hence its partition, so deduplicating per partition removes them all; and because `dt`
 * and `hour` are in the PARTITION BY, DuckDB pushes filters on them below the window and reads only
 * the files of the hours asked for. Copies received at the same millisecond are the same record
 * landed twice, so which one is kept does not matter. Objects in `unique` skip the window: none of
 * their rows has a copy anywhere in its hour.
 */
export function eventsSelect(files: SourceFiles): string {
  const unique = files.unique ?? { ndjson: [], parquet: [] };
  const deduplicated = `SELECT * FROM (${rawSource(EVENT_COLUMNS, files)})
QUALIFY row_number() OVER (PARTITION BY dt, hour, event_id ORDER BY received_at) = 1`;
  if (unique.ndjson.length === 0 && unique.parquet.length === 0) return deduplicated;
  const read = rawSource(EVENT_COLUMNS, unique);
  if (files.ndjson.length === 0 && files.parquet.length === 0) return read;
  return `${deduplicated}\nUNION ALL\n${read}`;
}

/**
 * One row per failed record (its stream position and reason) within each partition: a replay that
 * lands the same bad record again under another object name is counted once.
 */
export function errorsSelect(files: SourceFiles): string {
  return `SELECT * FROM (${rawSource(ERROR_COLUMNS, files)})
QUALIFY row_number() OVER (
  PARTITION BY dt, hour, event_source_arn, shard_id, sequence_number, sub_sequence_number, reason) = 1`;
}

/** The JSON types (as `json_type` names them) a property of each logical type may hold. */
const JSON_TYPES: Record<LogicalType, readonly string[] | undefined> = {
  string: ['VARCHAR'],
  integer: ['UBIGINT', 'BIGINT'],
  bigint: ['UBIGINT', 'BIGINT'],
  double: ['UBIGINT', 'BIGINT', 'DOUBLE'],
  boolean: ['BOOLEAN'],
  timestamp: ['VARCHAR'],
  date: ['VARCHAR'],
  json: undefined,
};

/** A JSON pointer into `properties` (RFC 6901), as DuckDB's JSON functions take it. */
function pointer(name: string): string {
  return sqlString(`/${name.replaceAll('~', '~0').replaceAll('/', '~1')}`);
}

/** The event columns a typed view keeps: all of them but `event` (one value) and `properties` (typed). */
export const TYPED_VIEW_EVENT_COLUMNS: ColumnTable = EVENT_COLUMNS.filter(
  (c) => c.name !== 'event' && c.name !== 'properties',
);

/**
 * A typed view of one event over the `events` view: the event's rows; first the event columns of
 * `TYPED_VIEW_EVENT_COLUMNS`, then each column of `columns` taken from its key of `properties` and
 * typed by its logical type, then `dt` and `hour`. A value of another JSON type than its column (a
 * string where a number is planned), or one that does not parse (a date that is not one), is NULL:
 * the view shows what the plan allows.
 */
export function typedViewSelect(event: string, columns: readonly TypedColumn[]): string {
  const properties = sqlColumns(columns).map(([name, type], i) => {
    const accepted = JSON_TYPES[columns[i]?.type ?? 'json'];
    const at = pointer(columns[i]?.property ?? name);
    if (accepted === undefined) return `json_extract(properties, ${at}) AS ${sqlIdentifier(name)}`;
    const fits = `json_type(properties, ${at}) IN (${accepted.map(sqlString).join(', ')})`;
    return `TRY_CAST(CASE WHEN ${fits} THEN json_extract_string(properties, ${at}) END AS ${type}) AS ${sqlIdentifier(name)}`;
  });
  const columnsSql = [
    ...TYPED_VIEW_EVENT_COLUMNS.map((c) => sqlIdentifier(c.name)),
    ...properties,
    ...PARTITIONS.map(([name]) => sqlIdentifier(name)),
  ];
  return `SELECT ${columnsSql.join(', ')} FROM events WHERE event = ${sqlString(event)}`;
}
