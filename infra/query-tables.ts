import type { aws_glue as glue } from 'aws-cdk-lib';
import {
  type ColumnTable,
  ERROR_COLUMNS as ERROR_TABLE,
  EVENT_COLUMNS as EVENT_TABLE,
  type LogicalType,
  PARTITION_COLUMNS,
} from '../src/layout/index.js';
import type { TypedColumn, TypedView } from '../src/plan/index.js';
// Athena quotes as DuckDB does (standard SQL): the helpers of `activity query`'s views serve both.
import { sqlIdentifier, sqlString, TYPED_VIEW_EVENT_COLUMNS } from '../src/query/views.js';
import type { LandingFormat } from '../src/sink/formats/index.js';

/**
 * The Glue type of each logical type, by how the objects are written. In NDJSON, times stay `string`:
 * which timestamp texts a JSON SerDe turns into a Hive timestamp varies, while the landed form (ISO
 * 8601, UTC, always with milliseconds) sorts and compares as text exactly as it does as time;
 * `from_iso8601_timestamp("timestamp")` gives a timestamp when one is needed. In Parquet they are
 * INT64 microseconds (UTC), typed `timestamp`, which Athena compares with `current_timestamp` directly.
 * JSON columns (`properties`, `context`) are free-form objects with no fixed shape, so they are `string`
 * in both: the SerDe hands a nested object to a string column as its JSON text, which
 * `json_extract_scalar(properties, '$.page')` reads whatever keys it holds; a `struct` would fix the
 * keys and a `map<string,string>` would fail on nested values.
 */
const GLUE_TYPE: Record<LandingFormat, Record<LogicalType, string>> = {
  ndjson: {
    string: 'string',
    integer: 'int',
    bigint: 'bigint',
    double: 'double',
    boolean: 'boolean',
    timestamp: 'string',
    date: 'string',
    json: 'string',
  },
  parquet: {
    string: 'string',
    integer: 'int',
    bigint: 'bigint',
    double: 'double',
    boolean: 'boolean',
    timestamp: 'timestamp',
    date: 'date',
    json: 'string',
  },
};

/** What a column comment adds to a column's description, by format and logical type. */
const COMMENT_NOTE: Record<LandingFormat, Partial<Record<LogicalType, string>>> = {
  ndjson: {
    timestamp: ', ISO 8601 UTC with milliseconds',
    json: ' (JSON object as text: use json_extract_scalar)',
  },
  parquet: { timestamp: ', UTC', json: ' (JSON object as text: use json_extract_scalar)' },
};

/** The Glue columns of a layout column table, in its order, for objects written in `format`. */
export function glueColumns(columns: ColumnTable, format: LandingFormat): glue.CfnTable.ColumnProperty[] {
  return columns.map((column) => ({
    name: column.name,
    type: GLUE_TYPE[format][column.type],
    comment: `${column.optional ? 'optional: ' : ''}${column.description}${COMMENT_NOTE[format][column.type] ?? ''}`,
  }));
}

/** Columns of `events/` NDJSON lines. */
export const EVENT_COLUMNS: glue.CfnTable.ColumnProperty[] = glueColumns(EVENT_TABLE, 'ndjson');

/**
 * Columns of `events/` Parquet objects (`src/sink/formats/parquet.ts`, and what `activity compact`
 * writes): the NDJSON columns, same names and order, with the times typed `timestamp`.
 */
export const EVENT_PARQUET_COLUMNS: glue.CfnTable.ColumnProperty[] = glueColumns(EVENT_TABLE, 'parquet');

/** The columns of the `events` table over events landed in `format`. */
export function eventColumns(format: LandingFormat): glue.CfnTable.ColumnProperty[] {
  return format === 'parquet' ? EVENT_PARQUET_COLUMNS : EVENT_COLUMNS;
}

/** Columns of `errors/` lines, which are NDJSON whatever the format of events. */
export const ERROR_COLUMNS: glue.CfnTable.ColumnProperty[] = glueColumns(ERROR_TABLE, 'ndjson');

/** `dt` and `hour`, as the landed layout names its folders: path text, so as NDJSON types them. */
export const PARTITION_KEYS: glue.CfnTable.ColumnProperty[] = glueColumns(PARTITION_COLUMNS, 'ndjson');

/** How Athena reads objects of each landing format: table parameters and storage descriptor. */
const STORAGE: Record<
  LandingFormat,
  {
    parameters: Record<string, string>;
    storage: Omit<glue.CfnTable.StorageDescriptorProperty, 'location' | 'columns'>;
  }
> = {
  // Gzip NDJSON, one event or error per line, read by the OpenX JSON SerDe.
  ndjson: {
    parameters: { classification: 'json', compressionType: 'gzip' },
    storage: {
      inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
      outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
      compressed: true,
      serdeInfo: { serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe' },
    },
  },
  // Parquet objects, read by column name; their compression (snappy, zstd) is inside the file.
  parquet: {
    parameters: { classification: 'parquet' },
    storage: {
      inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
      outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
      compressed: false,
      serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
    },
  },
};

export interface LandedTableOptions {
  name: string;
  description: string;
  /** How the dataset's objects are written: one format per table, as Athena reads only that one. */
  format: LandingFormat;
  columns: glue.CfnTable.ColumnProperty[];
  /** `s3://bucket/prefix/events/`, with the trailing `/`. */
  location: string;
  /** The first day partition projection covers, YYYY-MM-DD. */
  projectionStartDate: string;
}

/**
 * A table over one dataset of the landed layout (`<dataset>/dt=YYYY-MM-DD/hour=HH/*.ndjson.gz`, or
 * `*.parquet`) with partition projection: Athena computes the partitions from `dt` and `hour` instead
 * of reading them from the catalog, so data landed a second ago is queryable with no crawler and no
 * `MSCK REPAIR`. A table reads objects of its `format` only: an object of the other one fails the query.
 */
export function landedTableInput(options: LandedTableOptions): glue.CfnTable.TableInputProperty {
  const { parameters, storage } = STORAGE[options.format];
  return {
    name: options.name,
    description: options.description,
    tableType: 'EXTERNAL_TABLE',
    partitionKeys: PARTITION_KEYS,
    parameters: {
      EXTERNAL: 'TRUE',
      ...parameters,
      'projection.enabled': 'true',
      'projection.dt.type': 'date',
      'projection.dt.format': 'yyyy-MM-dd',
      'projection.dt.range': `${options.projectionStartDate},NOW`,
      'projection.dt.interval': '1',
      'projection.dt.interval.unit': 'DAYS',
      'projection.hour.type': 'integer',
      'projection.hour.range': '0,23',
      'projection.hour.digits': '2',
      'storage.location.template': `${options.location}dt=\${dt}/hour=\${hour}/`,
    },
    storageDescriptor: {
      location: options.location,
      columns: options.columns,
      ...storage,
    },
  };
}

/** Athena's (Trino's) name for each Glue column type, as a view's definition must give it. */
const TRINO_TYPE: Record<string, string> = {
  string: 'varchar',
  int: 'integer',
  bigint: 'bigint',
  double: 'double',
  boolean: 'boolean',
  timestamp: 'timestamp(3)',
  date: 'date',
};

/**
 * One property taken from `properties` (JSON text in both formats) and typed as its column: a value
 * of another JSON type (text where a number is planned) or one that does not parse is NULL, as in the
 * typed views of `activity query`.
 */
function propertyExpression(column: TypedColumn): string {
  const path = sqlString(`$[${JSON.stringify(column.property)}]`);
  const value = `json_extract(properties, ${path})`;
  const text = `json_format(${value})`;
  const isString = `substr(${text}, 1, 1) = '"'`;
  const scalar = `json_extract_scalar(properties, ${path})`;
  const isNumber = `regexp_like(${text}, '^-?[0-9]')`;
  switch (column.type) {
    case 'string':
      return `CASE WHEN ${isString} THEN ${scalar} END`;
    case 'integer':
      return `TRY_CAST(CASE WHEN ${isNumber} THEN ${text} END AS integer)`;
    case 'bigint':
      return `TRY_CAST(CASE WHEN ${isNumber} THEN ${text} END AS bigint)`;
    case 'double':
      return `TRY_CAST(CASE WHEN ${isNumber} THEN ${text} END AS double)`;
    case 'boolean':
      return `CASE ${text} WHEN 'true' THEN true WHEN 'false' THEN false END`;
    case 'timestamp':
      // In UTC, as the landed times are: a cast alone would keep the wall-clock time of the given offset.
      return `TRY(CAST(from_iso8601_timestamp(CASE WHEN ${isString} THEN ${scalar} END) AT TIME ZONE 'UTC' AS timestamp(3)))`;
    case 'date':
      return `TRY(from_iso8601_date(CASE WHEN ${isString} THEN ${scalar} END))`;
    default:
      return text;
  }
}

export interface TypedTableOptions {
  /** The planned event's view for Athena: `typedViews(plan, 'athena')`. */
  view: TypedView;
  /** The format of the `events` table the view reads. */
  format: LandingFormat;
  databaseName: string;
}

/**
 * The columns of an event's typed table, as the typed view of `activity query` has them: the event
 * columns but `event` and `properties`, the properties with their planned types (a key named like an
 * event column as `properties_<key>`), then `dt` and `hour`.
 */
export function typedColumns(
  columns: readonly TypedColumn[],
  format: LandingFormat,
): glue.CfnTable.ColumnProperty[] {
  // The view computes its property columns, so they are typed whatever the format of `events`: a
  // planned date-time is a `timestamp` over NDJSON too, as Parquet types its times.
  return [
    ...glueColumns(TYPED_VIEW_EVENT_COLUMNS, format),
    ...glueColumns(columns, 'parquet'),
    ...PARTITION_KEYS,
  ];
}

/**
 * An Athena view of one planned event over the `events` table, kept in the Glue catalog as Athena
 * keeps the views it creates (`VIRTUAL_VIEW`, the definition base64-encoded in `viewOriginalText`):
 * `SELECT currency, sum(amount) FROM purchase GROUP BY 1` works in Athena as in `activity query`.
 */
export function typedTableInput(options: TypedTableOptions): glue.CfnTable.TableInputProperty {
  const { view, format, databaseName } = options;
  const { event, name, columns } = view;
  const all = typedColumns(columns, format);
  const selected = [
    ...TYPED_VIEW_EVENT_COLUMNS.map((c) => sqlIdentifier(c.name)),
    ...columns.map((c) => `${propertyExpression(c)} AS ${sqlIdentifier(c.name)}`),
    ...PARTITION_COLUMNS.map((c) => sqlIdentifier(c.name)),
  ];
  const originalSql = `SELECT ${selected.join(', ')} FROM ${sqlIdentifier(databaseName)}."events" WHERE "event" = ${sqlString(event)}`;
  const definition = {
    originalSql,
    catalog: 'awsdatacatalog',
    schema: databaseName,
    columns: all.map((c) => ({ name: c.name, type: TRINO_TYPE[c.type ?? 'string'] ?? 'varchar' })),
  };
  return {
    name,
    description: `Planned event ${event}: its properties as typed columns (a view over events)`,
    tableType: 'VIRTUAL_VIEW',
    parameters: { presto_view: 'true', comment: 'Presto View' },
    viewOriginalText: `/* Presto View: ${Buffer.from(JSON.stringify(definition)).toString('base64')} */`,
    viewExpandedText: '/* Presto View */',
    storageDescriptor: { columns: all, serdeInfo: {} },
  };
}
