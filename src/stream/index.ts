export { FileCheckpointStore } from './checkpoints/file-checkpoint-store.js';
export {
  createKinesisClient,
  KinesisStream,
  type KinesisStreamOptions,
  openKinesisStream,
} from './kinesis/index.js';
export {
  DEFAULT_LOCAL_SHARDS,
  LocalStream,
  type LocalStreamOptions,
  openLocalStream,
} from './local/index.js';
export {
  DEFAULT_CHECKPOINTS_DIR,
  type OpenStreamOptions,
  openStream,
  type Stream,
} from './open-stream.js';
export { checkPut } from './put-limits.js';
