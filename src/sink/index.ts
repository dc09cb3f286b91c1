import { ConfigError } from '../core/errors.js';
import type { SinkLocation } from '../core/locations.js';
import type { ObjectStore } from '../core/ports.js';
import { DirectoryStore } from './directory/index.js';

export { DirectoryStore } from './directory/index.js';
export { assertSafeKey, isHiddenName } from './keys.js';

/** The object store for a parsed `--sink` location. */
export function openStore(location: SinkLocation): ObjectStore {
  if (location.kind === 'directory') return new DirectoryStore(location.path);
  throw new ConfigError(
    `s3://${location.bucket}/${location.prefix} sinks are not supported by this version: use a directory sink`,
  );
}
