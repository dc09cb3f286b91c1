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
/** The most shards the embedded log is created with. */
export const MAX_LOCAL_SHARDS = 256;
/** Events may not be more than this far ahead of the time the stream received them. */
export const MAX_FUTURE_SKEW_MS = 24 * 60 * 60 * 1000;
/** Events may not be older than this instant. */
export const MIN_EVENT_TIME_MS = Date.UTC(2000, 0, 1);
