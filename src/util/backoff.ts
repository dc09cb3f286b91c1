import { isRetriable } from '../core/errors.js';

/** Exponential backoff with full jitter (the AWS Architecture Blog's recommendation). */
export interface BackoffOptions {
  /** The first delay's ceiling, in milliseconds. */
  baseMs: number;
  /** No delay is longer than this. */
  maxMs: number;
  /** A source of numbers in [0, 1); `Math.random` unless a test needs repeatability. */
  random?: () => number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 100, maxMs: 5_000 };

/** The delay before retry number `attempt` (1 for the first retry). */
export function backoffDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor((options.random ?? Math.random)() * ceiling);
}

/** Resolves after `ms`, or rejects with the signal's reason once it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface RetryOptions {
  /** Tries in all, the first included; `Infinity` tries until `fn` succeeds or the signal aborts. */
  attempts: number;
  backoff: BackoffOptions;
  /** Aborting stops the waiting: `retry` then rejects with the last error. */
  signal?: AbortSignal;
  /** Whether an error is worth another try; by default, what the error itself says (`retriable`). */
  retriable?: (error: unknown) => boolean;
  /** Called before each wait, to say what failed and when the next try comes. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

/**
 * Calls `fn` until it succeeds, backing off with full jitter between tries, as long as the error is
 * retriable, tries are left and the signal has not aborted; then rejects with the last error. The
 * one retry loop of the pipeline: each layer that retries says here how often, and no other.
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const retriable = options.retriable ?? isRetriable;
  for (let attempt = 1; ; attempt++) {
    try {
      options.signal?.throwIfAborted();
      return await fn(attempt);
    } catch (error) {
      if (attempt >= options.attempts || !retriable(error) || options.signal?.aborted) throw error;
      const delay = backoffDelay(attempt, options.backoff);
      options.onRetry?.(error, attempt, delay);
      try {
        await sleep(delay, options.signal);
      } catch {
        throw error;
      }
    }
  }
}
