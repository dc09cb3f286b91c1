import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalTimeMs, isCanonicalTime, parseTime } from '../../src/event/time.js';

/** The reference: what `Date` makes of the landed form, refusing the dates it rolls over. */
function byDate(value: string): number | undefined {
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(value)) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return undefined;
  // Date.parse rolls 31 February over into March and takes hour 24.
  if (new Date(ms).getUTCDate() !== Number(value.slice(8, 10)) || value.slice(11, 13) >= '24')
    return undefined;
  return ms;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

describe('canonicalTimeMs', () => {
  it('reads the landed form as Date does, and refuses the dates Date rolls over', () => {
    // Prepare: every field over more than its range (month 13, day 31 of any month, hour 24, minute 60).
    const shaped = fc
      .record({
        // Centuries often: only every fourth of them is a leap year.
        year: fc.oneof(
          fc.integer({ min: 0, max: 9999 }),
          fc.integer({ min: 0, max: 99 }).map((c) => c * 100),
        ),
        month: fc.oneof(fc.integer({ min: 0, max: 19 }), fc.constant(2)),
        day: fc.oneof(fc.integer({ min: 0, max: 39 }), fc.integer({ min: 28, max: 31 })),
        hour: fc.integer({ min: 0, max: 29 }),
        minute: fc.integer({ min: 0, max: 69 }),
        second: fc.integer({ min: 0, max: 69 }),
        ms: fc.integer({ min: 0, max: 999 }),
      })
      .map(
        (t) =>
          `${pad(t.year, 4)}-${pad(t.month, 2)}-${pad(t.day, 2)}T${pad(t.hour, 2)}:${pad(t.minute, 2)}:${pad(t.second, 2)}.${pad(t.ms, 3)}Z`,
      );
    // A landed time with one character changed to anything.
    const changed = fc
      .tuple(fc.integer({ min: 0, max: 23 }), fc.string({ minLength: 1, maxLength: 1 }))
      .map(([at, c]) => {
        const landed = '2024-02-29T23:59:59.999Z';
        return `${landed.slice(0, at)}${c}${landed.slice(at + 1)}`;
      });
    fc.assert(
      fc.property(fc.oneof(shaped, changed, fc.string()), (value) => {
        // Act, Assess
        expect(canonicalTimeMs(value)).toBe(byDate(value));
        expect(isCanonicalTime(value)).toBe(byDate(value) !== undefined);
      }),
      { numRuns: 20_000 },
    );
  });

  it.each([
    '0000-01-01T00:00:00.000Z',
    '0000-02-29T23:59:59.999Z',
    '1900-02-29T00:00:00.000Z',
    '2000-02-29T00:00:00.000Z',
    '2100-02-29T00:00:00.000Z',
    '1969-12-31T23:59:59.999Z',
    '9999-12-31T23:59:59.999Z',
  ])('reads the calendar edge %s as Date does', (value) => {
    expect(canonicalTimeMs(value)).toBe(byDate(value));
  });

  it.each([
    ['2026-11-25T19:31:12.000Z', Date.UTC(2026, 10, 25, 19, 31, 12)],
    ['2024-02-29T00:00:00.000Z', Date.UTC(2024, 1, 29)],
    ['2000-02-29T00:00:00.000Z', Date.UTC(2000, 1, 29)],
    ['0099-12-31T23:59:59.999Z', Date.parse('0099-12-31T23:59:59.999Z')],
    ['0000-01-01T00:00:00.000Z', -62_167_219_200_000],
  ])('reads %s', (value, ms) => {
    expect(canonicalTimeMs(value)).toBe(ms);
    expect(parseTime(value)).toBe(ms);
  });

  it.each([
    '2023-02-29T00:00:00.000Z',
    '1900-02-29T00:00:00.000Z',
    '2026-04-31T00:00:00.000Z',
    '2026-11-25T24:00:00.000Z',
    '2026-11-25T19:60:00.000Z',
    '2026-11-25T19:31:60.000Z',
    '2026-11-25T19:31:12.000+00:00',
    '2026-11-25T19:31:12Z',
    '2026-11-25 19:31:12.000Z',
    '２026-11-25T19:31:12.000Z',
  ])('refuses %s', (value) => {
    expect(canonicalTimeMs(value)).toBeUndefined();
  });
});
