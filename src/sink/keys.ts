import { StoreError } from '../core/errors.js';

const SAFE_SEGMENT = /^[A-Za-z0-9_=.-]{1,255}$/;
const MAX_KEY_LENGTH = 1024;

/**
 * Throws unless `key` is a relative, `/`-separated path of safe segments (letters, digits, `_`, `=`,
 * `.`, `-`; never `.` or `..`). Every object key passes here before it reaches a store, so no value
 * from an event can steer a write outside the sink.
 */
export function assertSafeKey(key: string): void {
  const segments = key.split('/');
  const safe =
    key.length > 0 &&
    key.length <= MAX_KEY_LENGTH &&
    segments.every((s) => SAFE_SEGMENT.test(s) && s !== '.' && s !== '..');
  if (!safe) {
    throw new StoreError(
      'unsafe_key',
      `object key ${JSON.stringify(key.slice(0, 200))} is not a safe relative path`,
    );
  }
}

/** True for names readers skip: work in progress or metadata, as Hadoop, Spark and Hive do. */
export function isHiddenName(name: string): boolean {
  return name.startsWith('_') || name.startsWith('.');
}
