/**
 * The landed form of a time (`2026-11-25T19:31:12.000Z`, what `toISOString` writes) read by its
 * characters, without a `Date` or a pattern: most producers send it, and every event has a time or
 * two in it. A regular expression, `Date.parse` and a `Date` cost a quarter of an event's validation.
 * `time.ts` gives it to the rest of the code; test/unit/canonical-time.test.ts holds it to `Date`.
 */

const MS_PER_DAY = 86_400_000;

/** The length of `YYYY-MM-DDTHH:MM:SS.mmmZ`. */
const CANONICAL_LENGTH = 24;

/** The decimal digit at `index` of `text`, or -1 when it is not one. */
function digit(text: string, index: number): number {
  const value = text.charCodeAt(index) - 0x30;
  return value >= 0 && value <= 9 ? value : -1;
}

/** The number written by `count` digits at `index`, or -1 when one of them is not a digit. */
function digits(text: string, index: number, count: number): number {
  let value = 0;
  for (let i = index; i < index + count; i++) {
    const d = digit(text, i);
    if (d < 0) return -1;
    value = value * 10 + d;
  }
  return value;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/**
 * Epoch milliseconds of `value` when it is a valid time already in the landed form (as
 * `isCanonicalTime` says), which is then what `Date.parse` reads; undefined for anything else.
 */
export function canonicalTimeMs(value: string): number | undefined {
  if (
    value.length !== CANONICAL_LENGTH ||
    value.charCodeAt(4) !== 0x2d || // -
    value.charCodeAt(7) !== 0x2d ||
    value.charCodeAt(10) !== 0x54 || // T
    value.charCodeAt(13) !== 0x3a || // :
    value.charCodeAt(16) !== 0x3a ||
    value.charCodeAt(19) !== 0x2e || // .
    value.charCodeAt(23) !== 0x5a // Z
  )
    return undefined;
  const year = digits(value, 0, 4);
  const month = digits(value, 5, 2);
  const day = digits(value, 8, 2);
  const hour = digits(value, 11, 2);
  const minute = digits(value, 14, 2);
  const second = digits(value, 17, 2);
  const ms = digits(value, 20, 3);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59 || ms < 0)
    return undefined;
  return daysFromCivil(year, month, day) * MS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000 + ms;
}
