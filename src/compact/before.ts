import { ConfigError } from '../core/errors.js';
import { parseTime } from '../event/index.js';

export const HOUR_MS = 3_600_000;

/** The default `--before`: the start of the previous hour, so the hour just ended may still get its stragglers. */
export function defaultCompactBefore(now = Date.now()): Date {
  return new Date((Math.floor(now / HOUR_MS) - 1) * HOUR_MS);
}

const DURATION = /^([0-9]+(?:\.[0-9]+)?)(m|h|d)$/;
const UNIT_MS = { m: 60_000, h: HOUR_MS, d: 24 * HOUR_MS } as const;

/** Parses `--before`: ISO 8601 (a date is its midnight UTC), epoch seconds or milliseconds, or a duration ago (`2h`, `7d`). */
export function parseCompactBefore(raw: string, now = Date.now()): Date {
  const text = raw.trim();
  const duration = DURATION.exec(text);
  const ms =
    duration === null
      ? parseTime(text)
      : now - Number(duration[1]) * UNIT_MS[duration[2] as keyof typeof UNIT_MS];
  if (ms === undefined || !Number.isFinite(ms)) {
    throw new ConfigError(
      `--before must be an ISO 8601 date or time (UTC unless it has an offset), epoch seconds or milliseconds, or a duration ago such as 2h or 7d (given "${raw}")`,
    );
  }
  return new Date(ms);
}
