import type { aws_glue as glue } from 'aws-cdk-lib';
import {
  type ColumnTable,
  ERROR_COLUMNS as ERROR_TABLE,
  EVENT_COLUMNS as EVENT_TABLE,
  type LogicalType,
  PARTITION_COLUMNS,
} from '../src/layout/index.js';
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
