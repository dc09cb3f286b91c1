/** The pipeline stage an error comes from. */
export type Stage =
  | 'config'
  | 'event'
  | 'collector'
  | 'producer'
  | 'stream'
  | 'consumer'
  | 'sink'
  | 'query'
  | 'cli';

export interface PipelineErrorOptions {
  stage: Stage;
  retriable?: boolean;
  cause?: unknown;
}

/**
 * The one base error of the pipeline. `code` is a stable string users and tests can match on;
 * `retriable` says whether trying again later may succeed (the store is down) or never will
 * (a bad flag, an oversize record).
 */
export class PipelineError extends Error {
  readonly code: string;
  readonly stage: Stage;
  readonly retriable: boolean;

  constructor(code: string, message: string, options: PipelineErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PipelineError';
    this.code = code;
    this.stage = options.stage;
    this.retriable = options.retriable ?? false;
  }
}

/** A bad flag, URL or setting: never retriable. */
export class ConfigError extends PipelineError {
  constructor(message: string, cause?: unknown) {
    super('invalid_config', message, { stage: 'config', retriable: false, cause });
    this.name = 'ConfigError';
  }
}

/** Every code a stream adapter (the embedded log, Kinesis) or its checkpoints and leases fail with. */
export type StreamErrorCode =
  | 'access_denied'
  | 'checkpoints_unreadable'
  | 'credentials_missing'
  | 'invalid_aggregate'
  | 'invalid_argument'
  | 'invalid_iterator'
  | 'invalid_sequence_number'
  | 'invalid_partition_key'
  | 'iterator_expired'
  | 'put_too_large'
  | 'record_too_large'
  | 'region_missing'
  | 'shard_limit_exceeded'
  | 'shard_not_found'
  | 'stream_busy'
  | 'stream_closed'
  | 'stream_exists'
  | 'stream_failed'
  | 'stream_in_use'
  | 'stream_not_active'
  | 'stream_not_connected'
  | 'stream_not_found'
  | 'stream_unavailable'
  | 'throttled'
  | 'too_many_records'
  | 'unsupported_log_version';

/** Every code an object store (a directory, S3) fails with; `fs_*` and `s3_*` carry the system's own. */
export type StoreErrorCode =
  | 'aborted'
  | 'access_denied'
  | 'bucket_not_found'
  | 'connection_lost'
  | 'credentials_expired'
  | 'credentials_invalid'
  | 'credentials_missing'
  | 'endpoint_unreachable'
  | 'forgotten_list_conflict'
  | 'invalid_forgotten_list'
  | 'invalid_manifest'
  | 'manifest_not_written'
  | 'not_found'
  | 'region_missing'
  | 'server_error'
  | 'throttled'
  | 'timeout'
  | 'unsafe_key'
  | 'wrong_region'
  | 's3_error'
  | `s3_${string}`
  | `fs_${string}`;

/** The stream refused or failed an operation. */
export class StreamError extends PipelineError {
  declare readonly code: StreamErrorCode;

  constructor(code: StreamErrorCode, message: string, options: Omit<PipelineErrorOptions, 'stage'> = {}) {
    super(code, message, { ...options, stage: 'stream' });
    this.name = 'StreamError';
  }
}

/** The object store refused or failed an operation. */
export class StoreError extends PipelineError {
  declare readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string, options: Omit<PipelineErrorOptions, 'stage'> = {}) {
    super(code, message, { ...options, stage: 'sink' });
    this.name = 'StoreError';
  }
}

/** True when `error` says that trying again later may succeed. */
export function isRetriable(error: unknown): boolean {
  return error instanceof PipelineError ? error.retriable : false;
}

/** A short, one-line description of any thrown value. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
