import type { SinkLocation } from '../core/locations.js';
import type { ObjectStore } from '../core/ports.js';
import { DirectoryStore } from './directory/index.js';
import { S3Store } from './s3/index.js';

export { DirectoryStore } from './directory/index.js';
export { assertSafeKey, isHiddenName } from './keys.js';
export {
  configuredS3Endpoint,
  createS3Client,
  DEFAULT_S3_MAX_ATTEMPTS,
  S3Store,
  type S3StoreLocation,
  type S3StoreOptions,
} from './s3/index.js';

/** The object store for a parsed `--sink` location. */
export function openStore(location: SinkLocation): ObjectStore {
  if (location.kind === 'directory') return new DirectoryStore(location.path);
  return new S3Store(location);
}
