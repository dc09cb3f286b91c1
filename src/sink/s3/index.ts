export { displayEndpoint, type S3ErrorContext, type S3Operation, toStoreError } from './s3-errors.js';
export {
  configuredS3Endpoint,
  createS3Client,
  DEFAULT_S3_MAX_ATTEMPTS,
  S3Store,
  type S3StoreLocation,
  type S3StoreOptions,
} from './s3-store.js';
