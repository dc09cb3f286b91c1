import { StoreError } from '../core/errors.js';

/** How an NDJSON object is stored: gzip-compressed, `.ndjson.gz`. Every `errors/` object is one. */
export const NDJSON_GZIP = {
  contentType: 'application/x-ndjson',
  contentEncoding: 'gzip',
  extension: '.ndjson.gz',
} as const;

/** How a Parquet object is stored: `.parquet`, with the media type registered for Parquet. */
export const PARQUET = {
  contentType: 'application/vnd.apache.parquet',
  extension: '.parquet',
} as const;

/**
 * True for names readers skip, as Hadoop, Spark and Hive do: work in progress (the directory store's
 * `_tmp/`) or metadata (redrive's `_redrive/`).
 */
export function isHiddenName(name: string): boolean {
  return name.startsWith('_') || name.startsWith('.');
}

const SAFE_SEGMENT = /^[A-Za-z0-9_=.-]{1,255}$/;
const MAX_KEY_LENGTH = 1024;

/**
 * Throws unless `key` is a relative, `/`-separated path of safe segments (letters, digits, `_`, `=`,
 * `.`, `-`; never `.` or `..`). Every object key passes here before it reaches a store, so no value
 * from an event can steer a write outside the sink.
 */
export function assertSafeKey(key: string): void {
  if (!isSafeKey(key)) {
    throw new StoreError(
      'unsafe_key',
      `object key ${JSON.stringify(key.slice(0, 200))} is not a safe relative path`,
    );
  }
}

function isSafeKey(key: string): boolean {
  return (
    key.length > 0 &&
    key.length <= MAX_KEY_LENGTH &&
    key.split('/').every((s) => SAFE_SEGMENT.test(s) && s !== '.' && s !== '..')
  );
}
