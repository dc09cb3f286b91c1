import { ConfigError } from '../core/errors.js';
import { parseTimeOrAgo } from '../event/index.js';

export const HOUR_MS = 3_600_000;

/** The default `--before`: the start of the previous hour, so the hour just ended may still get its stragglers. */
export function defaultCompactBefore(now = Date.now()): Date {
  return new Date((Math.floor(now / HOUR_MS) - 1) * HOUR_MS);
}

/** Parses `--before`: ISO 8601 (a date is its midnight UTC), epoch seconds or milliseconds, or a duration ago (`2h`, `7d`). */
export function parseCompactBefore(raw: string, now = Date.now()): Date {
  const ms = parseTimeOrAgo(raw, now);
  if (ms === undefined) {
    throw new ConfigError(
      `--before must be an ISO 8601 date or time (UTC unless it has an offset), epoch seconds or milliseconds, or a duration ago such as 2h or 7d (given "${raw}")`,
    );
  }
  return new Date(ms);
}
