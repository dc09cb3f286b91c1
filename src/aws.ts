/**
 * activity-pipeline/aws: the Kinesis and S3 adapters as values, for building them with a client or
 * options of your own, and the HTTP collector as a Lambda function behind API Gateway. Importing this loads the AWS SDK; `openStream` and `openStore` from the main
 * entry load it only when a location needs it.
 */

export {
  type CollectorLambda,
  type CollectorLambdaHandler,
  createCollectorLambda,
  handler as collectorLambdaHandler,
} from './collector/lambda/handler.js';
export {
  CLIENT_IP_MODES,
  type ClientIpMode,
  type CollectorLambdaSettings,
  DEFAULT_LAMBDA_PUT_TIMEOUT_MS,
  LAMBDA_MAX_BODY_BYTES,
  readLambdaSettings,
} from './collector/lambda/settings.js';
export { readWriteKey } from './collector/lambda/write-key.js';
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
