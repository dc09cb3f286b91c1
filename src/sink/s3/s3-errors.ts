import { StoreError, type StoreErrorCode } from '../../core/errors.js';

/** The S3 operations the store performs, for messages and permission hints. */
export type S3Operation = 'connect' | 'put' | 'get' | 'list' | 'delete';

/** Where an error happened: the bucket, the object or prefix, and how to name the endpoint. */
export interface S3ErrorContext {
  operation: S3Operation;
  bucket: string;
  /** The full S3 key (or listing prefix) the call was about; absent for bucket-wide calls. */
  key?: string;
  /** The configured endpoint URL, when there is one (`AWS_ENDPOINT_URL_S3`…). */
  endpoint?: string;
  /** True when puts ask for SSE-KMS, so access errors can mention the KMS key. */
  kms?: boolean;
}

/** The fields of SDK and Node errors the mapping reads; everything is optional. */
interface ErrorLike {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  errno?: unknown;
  address?: unknown;
  port?: unknown;
  hostname?: unknown;
  Region?: unknown;
  errors?: unknown;
  cause?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown; attempts?: unknown };
  $response?: { headers?: Record<string, string | undefined> };
}

/** Connection errors that mean the endpoint could not be reached at all. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
]);
/** Connection errors after a connection was made. */
const CONNECTION_LOST_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);
/** Error codes the SDK's standard retry strategy treats as throttling (plus HTTP 429). */
const THROTTLING_NAMES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'BandwidthLimitExceeded',
  'LimitExceededException',
  'ProvisionedThroughputExceededException',
  'PriorRequestNotComplete',
]);
const TIMEOUT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);
const INVALID_CREDENTIAL_NAMES = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidToken']);
const EXPIRED_CREDENTIAL_NAMES = new Set([
  'ExpiredToken',
  'ExpiredTokenException',
  'TokenRefreshRequired',
  'RequestExpired',
]);
const WRONG_REGION_NAMES = new Set([
  'PermanentRedirect',
  'AuthorizationHeaderMalformed',
  'IllegalLocationConstraintException',
  'MovedPermanently',
  'Redirect',
  '301',
]);
const ACCESS_DENIED_NAMES = new Set(['AccessDenied', 'Forbidden', 'AllAccessDisabled', 'AccountProblem']);

const PERMISSIONS: Record<S3Operation, string> = {
  connect: 's3:ListBucket',
  list: 's3:ListBucket',
  put: 's3:PutObject',
  get: 's3:GetObject',
  delete: 's3:DeleteObject',
};

function asErrorLike(error: unknown): ErrorLike {
  return typeof error === 'object' && error !== null ? (error as ErrorLike) : {};
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The Node error code (`ECONNREFUSED`…) of an error, its `AggregateError` members or its causes. */
function networkCode(error: unknown, depth = 0): string | undefined {
  if (depth > 5) return undefined;
  const e = asErrorLike(error);
  const code = text(e.code);
  if (code !== undefined && (UNREACHABLE_CODES.has(code) || CONNECTION_LOST_CODES.has(code))) return code;
  if (Array.isArray(e.errors)) {
    for (const member of e.errors) {
      const found = networkCode(member, depth + 1);
      if (found !== undefined) return found;
    }
  }
  return e.cause === undefined ? undefined : networkCode(e.cause, depth + 1);
}

/** `host:port` from a Node connection error, when it carries one. */
function networkTarget(error: unknown, depth = 0): string | undefined {
  if (depth > 5) return undefined;
  const e = asErrorLike(error);
  const host = text(e.address) ?? text(e.hostname);
  if (host !== undefined) return typeof e.port === 'number' ? `${host}:${e.port}` : host;
  if (Array.isArray(e.errors)) {
    for (const member of e.errors) {
      const found = networkTarget(member, depth + 1);
      if (found !== undefined) return found;
    }
  }
  return e.cause === undefined ? undefined : networkTarget(e.cause, depth + 1);
}

/** An endpoint URL with any user name, password, query or fragment removed, for messages. */
export function displayEndpoint(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch {
    return '(an invalid URL)';
  }
}

/**
 * Turns anything the S3 client throws into a one-line `StoreError` that names the bucket or object
 * and the likely fix. `retriable` is true for what may clear up by itself (5xx, throttling, network
 * trouble): by then the SDK's own retries have been spent, so callers back off before trying again.
 * Messages never include credentials: only names of settings and the error code S3 gave.
 */
export function toStoreError(error: unknown, context: S3ErrorContext): StoreError {
  if (error instanceof StoreError) return error;
  const e = asErrorLike(error);
  const name = text(e.name) ?? 'Error';
  const message = (text(e.message) ?? String(error)).split('\n')[0] ?? '';
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  const attempts = typeof e.$metadata?.attempts === 'number' ? e.$metadata.attempts : 1;
  const after = attempts > 1 ? ` after ${attempts} attempts` : '';
  const { bucket, operation } = context;
  const where = context.key === undefined ? `s3://${bucket}` : `s3://${bucket}/${context.key}`;
  const fail = (code: StoreErrorCode, text: string, retriable: boolean): StoreError =>
    new StoreError(code, text, { retriable, cause: error });

  if (name === 'AbortError') return fail('aborted', `${operation} ${where} was aborted`, false);

  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(message)) {
    return fail(
      'credentials_missing',
      'no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
      false,
    );
  }
  if (EXPIRED_CREDENTIAL_NAMES.has(name) || /token.*expired|expired.*token/i.test(message)) {
    return fail(
      'credentials_expired',
      `the AWS credentials have expired (${name}): refresh them (e.g. aws sso login) or set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN`,
      false,
    );
  }
  if (INVALID_CREDENTIAL_NAMES.has(name)) {
    return fail(
      'credentials_invalid',
      `S3 rejected the AWS credentials for ${where} (${name}): check AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY`,
      false,
    );
  }
  if (/region is missing/i.test(message)) {
    return fail(
      'region_missing',
      'no AWS region configured: set AWS_REGION (or a region in the profile)',
      false,
    );
  }
  if (WRONG_REGION_NAMES.has(name) || status === 301) {
    const region = text(e.$response?.headers?.['x-amz-bucket-region']) ?? text(e.Region);
    const fix = region === undefined ? 'set AWS_REGION to it' : `set AWS_REGION=${region}`;
    return fail(
      'wrong_region',
      `bucket ${bucket} is in another region${region ? ` (${region})` : ''}: ${fix}`,
      false,
    );
  }
  if (name === 'NoSuchBucket' || (operation === 'connect' && (name === 'NotFound' || status === 404))) {
    return fail('bucket_not_found', `bucket ${bucket} does not exist: create it or check --sink`, false);
  }
  if (name === 'NoSuchKey' || (operation === 'get' && (name === 'NotFound' || status === 404))) {
    return fail('not_found', `no object ${where}`, false);
  }
  if (ACCESS_DENIED_NAMES.has(name) || status === 403) {
    const kms = context.kms ? ' (and kms:GenerateDataKey/kms:Decrypt on the KMS key)' : '';
    return fail(
      'access_denied',
      `access denied to ${where} (${operation} needs ${PERMISSIONS[operation]}): the credentials need s3:PutObject, s3:GetObject and s3:ListBucket on it${kms}`,
      false,
    );
  }

  const network = networkCode(error);
  if (
    (network !== undefined && UNREACHABLE_CODES.has(network)) ||
    /without establishing a connection/i.test(message)
  ) {
    const target =
      context.endpoint !== undefined ? displayEndpoint(context.endpoint) : (networkTarget(error) ?? 'for S3');
    const fix =
      context.endpoint !== undefined
        ? 'check that the server is running and AWS_ENDPOINT_URL_S3'
        : 'check that it is up, the network, and AWS_ENDPOINT_URL_S3 or AWS_REGION';
    return fail(
      'endpoint_unreachable',
      `cannot reach S3 endpoint ${target} (${network ?? 'connect timeout'})${after}: ${fix}`,
      true,
    );
  }
  if (network !== undefined) {
    return fail(
      'connection_lost',
      `lost the connection to S3 during ${operation} ${where} (${network})${after}`,
      true,
    );
  }
  if (TIMEOUT_NAMES.has(name)) {
    return fail('timeout', `${operation} ${where} timed out${after}`, true);
  }
  if (THROTTLING_NAMES.has(name) || status === 429) {
    return fail(
      'throttled',
      `S3 is throttling requests to ${where} (${name})${after}: slow down or retry later`,
      true,
    );
  }
  if (status !== undefined && status >= 500) {
    return fail(
      'server_error',
      `S3 failed to ${operation} ${where} (${status} ${name})${after}: ${message}`,
      true,
    );
  }
  const code = name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_');
  return fail(
    status === undefined ? 's3_error' : `s3_${code}`,
    `could not ${operation} ${where}: ${name}${status === undefined ? '' : ` (${status})`}: ${message}`,
    false,
  );
}
