import type { SinkLocation } from '../core/locations.js';
import type { ObjectStore } from '../core/ports.js';
import { DirectoryStore } from './directory/index.js';

/**
 * The object store for a parsed `--sink` location. The S3 adapter (and the AWS SDK under it, tens
 * of MB per thread) is loaded only for an `s3://` sink.
 */
export async function openStore(location: SinkLocation): Promise<ObjectStore> {
  if (location.kind === 'directory') return new DirectoryStore(location.path);
  const { S3Store } = await import('./s3/index.js');
  return new S3Store(location);
}
