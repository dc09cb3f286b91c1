export {
  DEFAULT_LOCAL_SHARDS,
  DEFAULT_RETENTION_HOURS,
  LocalStream,
  type LocalStreamOptions,
  openLocalStream,
} from './local-stream.js';
