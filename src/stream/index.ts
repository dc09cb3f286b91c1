import { ConfigError } from '../core/errors.js';
import type { StreamLocation } from '../core/locations.js';
import { type LocalStream, type LocalStreamOptions, openLocalStream } from './local/index.js';

export {
  DEFAULT_LOCAL_SHARDS,
  LocalStream,
  type LocalStreamOptions,
  openLocalStream,
} from './local/index.js';

/** The stream for a parsed `--stream` location. */
export function openStream(location: StreamLocation, options: LocalStreamOptions = {}): LocalStream {
  if (location.kind === 'local') return openLocalStream(location.path, options);
  throw new ConfigError(
    `kinesis://${location.name} streams are not supported by this version: use the embedded log (a path)`,
  );
}
