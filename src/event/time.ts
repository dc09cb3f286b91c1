import { canonicalTimeMs } from './canonical-time.js';

export { canonicalTimeMs };

/** Epoch numbers below this are seconds (the seed's form); at or above it, milliseconds. */
const EPOCH_MS_THRESHOLD = 1e11;

const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?([Zz]|([+-])(\d{2}):?(\d{2})?)?$/;

const EPOCH_STRING = /^\d{1,15}(\.\d+)?$/;

/** The times ISO 8601's four-digit years can write: 0000-01-01 to 9999-12-31T23:59:59.999Z. */
const MIN_TIME_MS = -62_167_219_200_000;
const MAX_TIME_MS = 253_402_300_799_999;

/** True when `value` is a valid time already in the landed form, so it can be kept as it is. */
export function isCanonicalTime(value: string): boolean {
  return canonicalTimeMs(value) !== undefined;
}

/**
 * Reads an event time: epoch seconds, epoch milliseconds (a number, or digits in a string), or
 * ISO 8601 (a date, or a date and time, with an optional offset; none means UTC).
 * Returns epoch milliseconds, or undefined when the value is none of these.
 */
export function parseTime(value: number | string): number | undefined {
  if (typeof value === 'number') return epochToMs(value);
  const canonical = canonicalTimeMs(value);
  if (canonical !== undefined) return canonical;
  if (EPOCH_STRING.test(value)) return epochToMs(Number(value));
  const m = ISO_8601.exec(value);
  if (m === null) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', zone, sign, oh = '0', om = '0'] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = Number(fraction.padEnd(3, '0').slice(0, 3));
  // Date.UTC reads years 0-99 as 1900-1999: set the full year on its own.
  const date = new Date(Date.UTC(2000, 0, 1, hour, minute, second, ms));
  date.setUTCFullYear(year, month - 1, day);
  const utc = date.getTime();
  // 31 February rolls over into March: reject dates that do not exist.
  if (date.getUTCDate() !== day) return undefined;
  if (zone === undefined || zone === 'Z' || zone === 'z') return inRange(utc);
  const offsetMinutes = Number(oh) * 60 + Number(om);
  if (Number(oh) > 23 || Number(om) > 59) return undefined;
  return inRange(sign === '+' ? utc - offsetMinutes * 60_000 : utc + offsetMinutes * 60_000);
}

function epochToMs(value: number): number | undefined {
  if (!Number.isFinite(value) || value < 0) return undefined;
  return inRange(Math.round(value < EPOCH_MS_THRESHOLD ? value * 1000 : value));
}

/** Only times the landed form can write (and read back); anything else is not a time. */
function inRange(ms: number): number | undefined {
  return ms >= MIN_TIME_MS && ms <= MAX_TIME_MS ? ms : undefined;
}

/** Two and three digits, zero-padded: the seconds and milliseconds of a formatted time. */
const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const THREE_DIGITS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
/** The range of a `Date`; outside it `toISOString` throws, as `formatTime` must. */
const MAX_DATE_MS = 8.64e15;

/**
 * The last minute `formatTime` wrote, and its text up to the seconds (`2026-11-25T19:31:`). A memo of a
 * pure function: the answer for a time never depends on it, only how fast it comes.
 */
let memoMinute = Number.NaN;
let memoPrefix = '';
/**
 * The minute before it: an event's times come from two clocks (the client's `sent_at` and
 * `original_timestamp`, the collector's `received_at` and the corrected `timestamp`), which a
 * minute's boundary, or a skew, puts in two minutes, asked for in turn.
 */
let otherMinute = Number.NaN;
let otherPrefix = '';

/**
 * ISO 8601 UTC with milliseconds, as every landed time is written: what `toISOString` writes, three
 * times as fast. Every event has three or four times and `toISOString` was a tenth of a collector
 * request's work; the times of one request share one or two minutes (the client's and the
 * collector's clocks), so only the seconds and milliseconds are written for each.
 */
export function formatTime(ms: number): string {
  if (!Number.isInteger(ms) || ms < -MAX_DATE_MS || ms > MAX_DATE_MS) return new Date(ms).toISOString();
  const minute = Math.floor(ms / 60_000);
  if (minute !== memoMinute) {
    const prefix =
      minute === otherMinute
        ? otherPrefix
        : // "…T19:31:" without "SS.mmmZ", which is seven characters in every year's form.
          new Date(minute * 60_000).toISOString().slice(0, -7);
    otherMinute = memoMinute;
    otherPrefix = memoPrefix;
    memoMinute = minute;
    memoPrefix = prefix;
  }
  const inMinute = ms - minute * 60_000;
  const second = Math.floor(inMinute / 1000);
  return `${memoPrefix}${TWO_DIGITS[second]}.${THREE_DIGITS[inMinute - second * 1000]}Z`;
}

/**
 * `formatTime` that remembers its last answer: the records of one batch often share an arrival
 * millisecond. One per invocation (or per request), so that no module state makes the function
 * impure.
 */
export class TimeFormatter {
  private lastMs = Number.NaN;
  private last = '';

  format(ms: number): string {
    if (ms !== this.lastMs) {
      this.last = formatTime(ms);
      this.lastMs = ms;
    }
    return this.last;
  }
}

const DURATION_AGO = /^([0-9]+(?:\.[0-9]+)?)(s|m|h|d)$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * Reads a point in time a user gives on the command line: whatever `parseTime` reads, or a duration
 * ago (`90s`, `15m`, `2h`, `7d`) counted back from `now`. Epoch milliseconds, or undefined.
 */
export function parseTimeOrAgo(raw: string, now = Date.now()): number | undefined {
  const text = raw.trim();
  const duration = DURATION_AGO.exec(text);
  if (duration === null) return parseTime(text);
  const ms = now - Number(duration[1]) * UNIT_MS[duration[2] as keyof typeof UNIT_MS];
  return Number.isFinite(ms) ? ms : undefined;
}
