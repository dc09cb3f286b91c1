import path from 'node:path';
import type { StreamLocation } from '../core/locations.js';
import type { CheckpointStore, LeaseStore, StreamAdmin, StreamReader, StreamWriter } from '../core/ports.js';
import { type LocalStreamOptions, openLocalStream } from './local/index.js';

/** A stream of either kind: written, read and administered through the ports. */
export type Stream = StreamWriter & StreamReader & StreamAdmin;

/** Where consumer checkpoints of streams that keep none themselves (Kinesis) are kept by default. */
export const DEFAULT_CHECKPOINTS_DIR = './.activity/checkpoints';

export interface OpenStreamOptions extends LocalStreamOptions {
  checkpointsDir?: string;
}

/** A stream with the checkpoints and shard leases the local runner keeps for it. */
export interface StreamConnection {
  stream: Stream;
  checkpoints: CheckpointStore;
  leases: LeaseStore;
  /** Closes the stream and whatever keeps its checkpoints and leases. */
  close(): Promise<void>;
}

/**
 * The stream for a parsed `--stream` location, and where the local runner keeps its checkpoints and
 * shard leases: in the embedded log itself, or for Kinesis in files under `checkpointsDir/kinesis-NAME/`
 * (a file per consumer and shard, and `leases.sqlite`). The Kinesis
 * adapter (and the AWS SDK under it) is loaded only for a `kinesis://` stream.
 */
export async function openStream(
  location: StreamLocation,
  options: OpenStreamOptions = {},
): Promise<StreamConnection> {
  if (location.kind === 'local') {
    const stream = openLocalStream(location.path, options);
    return { stream, checkpoints: stream, leases: stream, close: () => stream.close() };
  }
  const [{ KinesisStream }, { FileCheckpointStore }, { FileLeaseStore }] = await Promise.all([
    import('./kinesis/index.js'),
    import('./checkpoints/file-checkpoint-store.js'),
    import('./leases/file-lease-store.js'),
  ]);
  const dir = path.join(options.checkpointsDir ?? DEFAULT_CHECKPOINTS_DIR, `kinesis-${location.name}`);
  const stream = new KinesisStream(location.name);
  const checkpoints = new FileCheckpointStore(dir);
  const leases = new FileLeaseStore(dir, checkpoints);
  return {
    stream,
    checkpoints,
    leases,
    close: async () => {
      leases.close();
      await stream.close();
    },
  };
}
