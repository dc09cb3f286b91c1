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

/** The stream refused or failed an operation. */
export class StreamError extends PipelineError {
  constructor(code: string, message: string, options: Omit<PipelineErrorOptions, 'stage'> = {}) {
    super(code, message, { ...options, stage: 'stream' });
    this.name = 'StreamError';
  }
}

/** The object store refused or failed an operation. */
export class StoreError extends PipelineError {
  constructor(code: string, message: string, options: Omit<PipelineErrorOptions, 'stage'> = {}) {
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
