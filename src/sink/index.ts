export { DirectoryStore } from './directory/index.js';
export { openStore } from './open-store.js';
export {
  configuredS3Endpoint,
  createS3Client,
  DEFAULT_S3_MAX_ATTEMPTS,
  S3Store,
  type S3StoreLocation,
  type S3StoreOptions,
} from './s3/index.js';
