/**
 * activity-pipeline: the library's public API. It loads no AWS SDK: `openStream` and `openStore` load the
 * Kinesis and S3 adapters (and the SDK under them) only for a `kinesis://` stream or an `s3://` sink, and
 * the adapters' classes are exported here as types. `activity-pipeline/aws` exports them as values.
 */
export * from './collector/index.js';
export * from './compact/index.js';
export * from './consumer/index.js';
export {
  ConfigError,
  PipelineError,
  type Stage,
  StoreError,
  type StoreErrorCode,
  StreamError,
  type StreamErrorCode,
} from './core/errors.js';
export * from './core/limits.js';
export * from './core/locations.js';
export type * from './core/ports.js';
export * from './event/index.js';
export * from './forget/index.js';
export * from './layout/index.js';
export * from './plan/index.js';
export * from './producer/index.js';
export * from './query/index.js';
export * from './redrive/index.js';
export * from './report/index.js';
export { DirectoryStore } from './sink/directory/index.js';
export {
  DEFAULT_LANDING_FORMAT,
  LANDING_FORMATS,
  type LandingFormat,
  loadParquetEncoder,
  parseLandingFormat,
} from './sink/formats/index.js';
export { openStore } from './sink/open-store.js';
export type { S3Store, S3StoreLocation, S3StoreOptions } from './sink/s3/index.js';
export { FileCheckpointStore } from './stream/checkpoints/file-checkpoint-store.js';
export type { KinesisStream, KinesisStreamOptions } from './stream/kinesis/index.js';
export { FileLeaseStore } from './stream/leases/file-lease-store.js';
export {
  DEFAULT_LOCAL_SHARDS,
  LocalStream,
  type LocalStreamOptions,
  openLocalStream,
} from './stream/local/index.js';
export {
  DEFAULT_CHECKPOINTS_DIR,
  type OpenStreamOptions,
  openStream,
  type Stream,
  type StreamConnection,
} from './stream/open-stream.js';
export { checkPut } from './stream/put-limits.js';
