import path from 'node:path';
import type { StreamLocation } from '../core/locations.js';
import type { CheckpointStore, StreamAdmin, StreamReader, StreamWriter } from '../core/ports.js';
import { type LocalStreamOptions, openLocalStream } from './local/index.js';

/** A stream of either kind: written, read and administered through the ports. */
export type Stream = StreamWriter & StreamReader & StreamAdmin;

/** Where consumer checkpoints of streams that keep none themselves (Kinesis) are kept by default. */
export const DEFAULT_CHECKPOINTS_DIR = './.activity/checkpoints';

export interface OpenStreamOptions extends LocalStreamOptions {
  checkpointsDir?: string;
}

/**
 * The stream for a parsed `--stream` location, and where the local runner keeps its checkpoints:
 * in the embedded log itself, or for Kinesis in files under `checkpointsDir/kinesis-NAME/`. The Kinesis
 * adapter (and the AWS SDK under it) is loaded only for a `kinesis://` stream.
 */
export async function openStream(
  location: StreamLocation,
  options: OpenStreamOptions = {},
): Promise<{ stream: Stream; checkpoints: CheckpointStore }> {
  if (location.kind === 'local') {
    const stream = openLocalStream(location.path, options);
    return { stream, checkpoints: stream };
  }
  const [{ KinesisStream }, { FileCheckpointStore }] = await Promise.all([
    import('./kinesis/index.js'),
    import('./checkpoints/file-checkpoint-store.js'),
  ]);
  const dir = path.join(options.checkpointsDir ?? DEFAULT_CHECKPOINTS_DIR, `kinesis-${location.name}`);
  return { stream: new KinesisStream(location.name), checkpoints: new FileCheckpointStore(dir) };
}
