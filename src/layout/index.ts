/**
 * The landed layout: the contract that the consumer, `activity query`, compaction, redrive and the
 * Athena tables share. Datasets, partitions, and every key builder and parser.
 */
export { DATASETS, type Dataset } from './datasets.js';
export { errorLine, type RawRecord } from './error-line.js';
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
export { Partitioner, partitionKey, partitionOf } from './partitions.js';
