import { describeError, PipelineError, StreamError } from '../../core/errors.js';

/** What was being done when a Kinesis call failed, for the one-line message users see. */
export interface KinesisCallContext {
  stream: string;
  /** The Kinesis API operation, e.g. `PutRecords`. */
  operation: string;
  shardId?: string;
}

/** Error names (SDK `name` / Kinesis `__type`) meaning the call was throttled: retry later. */
const THROTTLED = new Set([
  'ProvisionedThroughputExceededException',
  'KMSThrottlingException',
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
  'LimitExceededException',
]);

/** Error names meaning the service had a transient fault. */
const UNAVAILABLE = new Set([
  'InternalFailureException',
  'InternalFailure',
  'InternalServerError',
  'InternalError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);

/** Error names meaning the credentials are refused or lack a permission. */
const ACCESS_DENIED = new Set([
  'AccessDeniedException',
  'AccessDenied',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'InvalidClientTokenId',
  'ExpiredTokenException',
  'ExpiredToken',
  'MissingAuthenticationToken',
  'KMSAccessDeniedException',
]);

/** Node.js socket error codes meaning the endpoint could not be reached (for now). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** Per-record `ErrorCode`s of `PutRecords` that a later retry of that record may get past. */
const RETRIABLE_RECORD_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'KMSThrottlingException',
  'InternalFailure',
  'InternalFailureException',
]);

export function isRetriableRecordError(errorCode: string): boolean {
  return RETRIABLE_RECORD_ERRORS.has(errorCode);
}

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  $retryable?: unknown;
}

function shapeOf(error: unknown): SdkErrorShape {
  return typeof error === 'object' && error !== null ? (error as SdkErrorShape) : {};
}

/** The AWS error name of a failed call (`ResourceNotFoundException`, …), or undefined for other failures. */
export function awsErrorName(error: unknown): string | undefined {
  const name = shapeOf(error).name;
  return typeof name === 'string' ? name : undefined;
}

function statusOf(error: unknown): number | undefined {
  const status = shapeOf(error).$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The socket error code of a network failure, looking through `cause`s. */
function networkCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const code = shapeOf(e).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The AWS message of a failure, on one line, without a trailing full stop. */
function awsMessage(error: unknown): string {
  return describeError(error).replace(/\s+/g, ' ').trim().replace(/\.$/, '');
}

export function streamUrl(stream: string): string {
  return `kinesis://${stream}`;
}

export function streamNotFound(stream: string, cause?: unknown): StreamError {
  return new StreamError(
    'stream_not_found',
    `no Kinesis stream "${stream}" in this account and region: create it with ` +
      `\`activity stream create --stream ${streamUrl(stream)}\`, or check AWS_REGION (and AWS_PROFILE)`,
    { cause },
  );
}

/**
 * Turns a failed Kinesis call into a `StreamError` with a stable code, `retriable` set, and one
 * line naming the stream and the likely fix. Never includes credentials: only AWS' own message,
 * which carries none. An abort is passed through untouched.
 */
export function toStreamError(error: unknown, context: KinesisCallContext): Error {
  if (error instanceof PipelineError) return error;
  const name = awsErrorName(error);
  if (name === 'AbortError') return error as Error;
  const { stream, operation } = context;
  const where = `Kinesis ${operation} on stream "${stream}"`;
  const reason = awsMessage(error);
  const status = statusOf(error);
  const options = (retriable: boolean) => ({ retriable, cause: error });

  if (name === 'ResourceNotFoundException') {
    if (context.shardId !== undefined && /shard/i.test(reason)) {
      return new StreamError(
        'shard_not_found',
        `no shard "${context.shardId}" in Kinesis stream "${stream}": list its shards with listShards (${reason})`,
        options(false),
      );
    }
    return streamNotFound(stream, error);
  }
  if (name === 'ExpiredIteratorException') {
    return new StreamError(
      'iterator_expired',
      `the shard iterator of stream "${stream}" expired (they last 5 minutes): get a new one with getShardIterator`,
      options(true),
    );
  }
  if (name === 'ResourceInUseException') {
    return new StreamError(
      'stream_in_use',
      `${where} failed because the stream is busy (being created, updated or deleted): try again shortly (${reason})`,
      options(true),
    );
  }
  if (name !== undefined && ACCESS_DENIED.has(name)) {
    return new StreamError(
      'access_denied',
      `${where} was refused (${name}: ${reason}): check the credentials in use (AWS_PROFILE, ` +
        `AWS_ACCESS_KEY_ID) and that their IAM policy allows kinesis:${operation} on the stream`,
      options(false),
    );
  }
  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(reason)) {
    return new StreamError(
      'credentials_missing',
      `no AWS credentials for ${where}: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, ` +
        'or run with an IAM role',
      options(false),
    );
  }
  if (/region is missing/i.test(reason)) {
    return new StreamError(
      'region_missing',
      `no AWS region for ${where}: set AWS_REGION (or a region in your AWS_PROFILE)`,
      options(false),
    );
  }
  if (name !== undefined && THROTTLED.has(name)) {
    return new StreamError(
      'throttled',
      `${where} was throttled (${name}): the pipeline retries with backoff; add shards if it persists`,
      options(true),
    );
  }
  if ((name !== undefined && UNAVAILABLE.has(name)) || (status !== undefined && status >= 500)) {
    return new StreamError(
      'stream_unavailable',
      `${where} failed on the service side (${name ?? `HTTP ${status}`}: ${reason}): try again later`,
      options(true),
    );
  }
  const network = networkCode(error);
  if (network !== undefined) {
    return new StreamError(
      'stream_unavailable',
      `could not reach Kinesis for stream "${stream}" (${network}): check the network, AWS_REGION and ` +
        'AWS_ENDPOINT_URL_KINESIS',
      options(true),
    );
  }
  if (name === 'InvalidArgumentException' || name === 'ValidationException') {
    return new StreamError('invalid_argument', `${where} was refused: ${reason}`, options(false));
  }
  const retriable = shapeOf(error).$retryable !== undefined && shapeOf(error).$retryable !== false;
  return new StreamError(
    'stream_failed',
    `${where} failed${name === undefined || name === 'Error' ? '' : ` (${name})`}: ${reason}`,
    options(retriable),
  );
}
