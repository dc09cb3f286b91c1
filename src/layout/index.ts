/**
 * The landed layout: the contract that the consumer, `activity query`, compaction, redrive and the
 * Athena tables share. Datasets and their column tables, partitions, and every key builder and parser.
 */
export {
  type Column,
  type ColumnTable,
  columnNames,
  columnTable,
  type InputOf,
  inputColumns,
  type JsonValue,
  LOGICAL_TYPES,
  type LogicalType,
  type RowOf,
  rowProblem,
} from './columns.js';
export {
  COLUMNS,
  DATASETS,
  type Dataset,
  ERROR_COLUMNS,
  type ErrorLine,
  EVENT_COLUMNS,
  SENT_COLUMNS,
} from './datasets.js';
export { errorLine, type RawRecord, readErrorLine } from './error-line.js';
export {
  byPartition,
  compactedKey,
  isCompactedKey,
  type LandedObject,
  listLanded,
  MANIFEST_EXTENSION,
  MANIFEST_PREFIX,
  manifestKeyOf,
  objectKey,
  parseLandedKey,
} from './keys.js';
export { assertSafeKey, isHiddenName, NDJSON_GZIP, PARQUET } from './names.js';
export { PARTITION_COLUMNS, Partitioner, partitionKey, partitionOf } from './partitions.js';
