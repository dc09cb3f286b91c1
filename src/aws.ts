/**
 * activity-pipeline/aws: the Kinesis and S3 adapters as values, for building them with a client or
 * options of your own. Importing this loads the AWS SDK; `openStream` and `openStore` from the main
 * entry load it only when a location needs it.
 */
export {
  configuredS3Endpoint,
  createS3Client,
  DEFAULT_S3_MAX_ATTEMPTS,
  S3Store,
  type S3StoreLocation,
  type S3StoreOptions,
} from './sink/s3/index.js';
export {
  createKinesisClient,
  KinesisStream,
  type KinesisStreamOptions,
  openKinesisStream,
} from './stream/kinesis/index.js';
