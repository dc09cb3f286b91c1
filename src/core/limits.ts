import { ConfigError } from './errors.js';

/** Limits shared by every stage. Kinesis' own limits are kept here so the embedded log enforces them too. */

/** The largest record (data plus partition key) Kinesis accepts: 1 MiB. */
export const MAX_RECORD_BYTES = 1024 * 1024;
/** The most records one `PutRecords` call may carry. */
export const MAX_PUT_RECORDS = 500;
/** The most bytes one `PutRecords` call may carry (data plus partition keys). */
export const MAX_PUT_BYTES = 5 * 1024 * 1024;
/** The longest partition key Kinesis accepts, in Unicode characters. */
export const MAX_PARTITION_KEY_LENGTH = 256;
/** The longest `user_id` accepted; it is the partition key. */
export const MAX_USER_ID_LENGTH = 256;
/** Lambda's largest Kinesis batch size. */
export const MAX_BATCH_SIZE = 10_000;
/** Lambda's longest batching window, in milliseconds. */
export const MAX_BATCH_WINDOW_MS = 300_000;
/** Lambda's largest synchronous invocation payload; the runner keeps batches under it. */
export const MAX_INVOKE_PAYLOAD_BYTES = 6 * 1024 * 1024;
/**
 * Names Kinesis accepts for streams, consumers and shards: 1-128 letters, digits, `_`, `.` and `-`.
 * Consumer names and checkpoint files follow the same rule.
 */
export const KINESIS_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;
/** An S3 bucket name: 3-63 lower-case letters, digits, `.` and `-`, starting and ending alphanumeric. */
export const S3_BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** The collector's largest request body by default, and the most it may be set to. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
export const MAX_MAX_BODY_BYTES = 64 * 1024 * 1024;
/** The most shards the embedded log is created with. */
export const MAX_LOCAL_SHARDS = 256;
/** Events may not be more than this far ahead of the time the stream received them. */
export const MAX_FUTURE_SKEW_MS = 24 * 60 * 60 * 1000;
/** Events may not be older than this instant. */
export const MIN_EVENT_TIME_MS = Date.UTC(2000, 0, 1);

/**
 * The one integer-range check: `value` when it is an integer from `min` to `max`, else a
 * `ConfigError` that names the setting and the value given, in the CDK's style:
 * `batch size must be an integer between 1 and 10000 (given 0)`. `shown` is how the value appears
 * in the message (flags show the text typed, in quotes).
 */
export function checkInteger(name: string, value: unknown, min: number, max: number, shown?: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(
      `${name} must be an integer between ${min} and ${max} (given ${shown ?? String(value)})`,
    );
  }
  return value;
}
