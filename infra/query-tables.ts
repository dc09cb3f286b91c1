import type { aws_glue as glue } from 'aws-cdk-lib';
import type { LandingFormat } from '../src/sink/formats/index.js';

/**
 * Columns of `events/` NDJSON lines. Times stay `string`: which timestamp texts a JSON SerDe turns into
 * a Hive timestamp varies, while the landed form (ISO 8601, UTC, always with milliseconds) sorts and
 * compares as text exactly as it does as time; `from_iso8601_timestamp("timestamp")` gives a timestamp
 * when one is needed. `properties` and `context` are free-form JSON objects with no fixed shape, so they are
 * `string` too: the SerDe hands a nested object to a string column as its JSON text, which
 * `json_extract_scalar(properties, '$.page')` reads whatever keys it holds; a `struct` would fix the
 * keys and a `map<string,string>` would fail on nested values.
 */
export const EVENT_COLUMNS: glue.CfnTable.ColumnProperty[] = [
  {
    name: 'event_id',
    type: 'string',
    comment: 'deduplication key: UUIDv7, or derived from the stream position',
  },
  { name: 'user_id', type: 'string', comment: 'the partition key of the stream' },
  { name: 'event', type: 'string', comment: 'event name, such as page_view or purchase' },
  { name: 'timestamp', type: 'string', comment: 'event time, ISO 8601 UTC with milliseconds' },
  { name: 'received_at', type: 'string', comment: 'when the stream received it, ISO 8601 UTC' },
  { name: 'session_id', type: 'string', comment: 'optional' },
  { name: 'sent_at', type: 'string', comment: 'optional: when the client sent it, by its clock' },
  { name: 'original_timestamp', type: 'string', comment: 'optional: the client time before skew correction' },
  { name: 'properties', type: 'string', comment: 'JSON object as text: use json_extract_scalar' },
  { name: 'context', type: 'string', comment: 'JSON object as text: use json_extract_scalar' },
];

/** The event times, stored in Parquet as INT64 microseconds (UTC), with their comments there. */
const PARQUET_TIMES: Readonly<Record<string, string>> = {
  timestamp: 'event time, UTC',
  received_at: 'when the stream received it, UTC',
  sent_at: 'optional: when the client sent it, by its clock, UTC',
  original_timestamp: 'optional: the client time before skew correction, UTC',
};

/**
 * Columns of `events/` Parquet objects (`src/sink/formats/parquet.ts`, and what `activity compact`
 * writes): the NDJSON columns, same names and order, with the four times typed `timestamp`; Athena
 * compares them with `current_timestamp` directly. `properties` and `context` are JSON text, `string`.
 */
export const EVENT_PARQUET_COLUMNS: glue.CfnTable.ColumnProperty[] = EVENT_COLUMNS.map((column) => {
  const comment = PARQUET_TIMES[column.name];
  return comment === undefined ? column : { ...column, type: 'timestamp', comment };
});

/** The columns of the `events` table over events landed in `format`. */
export function eventColumns(format: LandingFormat): glue.CfnTable.ColumnProperty[] {
  return format === 'parquet' ? EVENT_PARQUET_COLUMNS : EVENT_COLUMNS;
}

/** Columns of `errors/` lines: the record as it sat in the stream, and why it did not land as an event. */
export const ERROR_COLUMNS: glue.CfnTable.ColumnProperty[] = [
  { name: 'reason', type: 'string', comment: 'typed reason code' },
  { name: 'message', type: 'string', comment: 'what was wrong, in one line' },
  { name: 'shard_id', type: 'string' },
  { name: 'sequence_number', type: 'string', comment: 'up to 128 digits: text, not a number' },
  {
    name: 'sub_sequence_number',
    type: 'string',
    comment: 'position inside a KPL aggregate, when there is one',
  },
  { name: 'partition_key', type: 'string' },
  { name: 'approximate_arrival_timestamp', type: 'string', comment: 'ISO 8601 UTC' },
  { name: 'event_source_arn', type: 'string' },
  { name: 'data', type: 'string', comment: 'the original bytes, base64' },
];

/** `dt` and `hour`, as the landed layout names its folders. */
export const PARTITION_KEYS: glue.CfnTable.ColumnProperty[] = [
  { name: 'dt', type: 'string', comment: 'YYYY-MM-DD, UTC' },
  { name: 'hour', type: 'int', comment: '0-23, UTC' },
];

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
