import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  /** How long to wait before failing (default 30 s: well inside the tests' 60 s). */
  timeoutMs?: number;
  /** The pause between checks (default 20 ms). */
  intervalMs?: number;
  /** What was seen, for the error when the wait times out (a count, the last output…). */
  state?: () => unknown;
}

/**
 * Waits until `check` holds, checking again every few milliseconds. `reason` says what is awaited
 * ("the consumer to land its first object"); it is in the error when the wait times out, with what
 * `state` saw last, so a wait that fails says why. Wait only for something that will come: when it
 * may not (the work may already be done), make that part of the condition.
 */
export async function waitFor(
  reason: string,
  check: () => boolean | Promise<boolean>,
  options: WaitOptions | number = {},
): Promise<void> {
  const {
    timeoutMs = 30_000,
    intervalMs = 20,
    state,
  } = typeof options === 'number' ? { timeoutMs: options } : options;
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) {
      const seen = state === undefined ? '' : `; last seen: ${describe(await state())}`;
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${reason}${seen}`);
    }
    await sleep(intervalMs);
  }
}

function describe(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
