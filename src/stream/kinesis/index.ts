export { isRetriableRecordError, type KinesisCallContext, toStreamError } from './errors.js';
export {
  createKinesisClient,
  DEFAULT_WAIT_TIMEOUT_MS,
  KinesisStream,
  type KinesisStreamOptions,
  MAX_GET_RECORDS,
  openKinesisStream,
} from './kinesis-stream.js';
