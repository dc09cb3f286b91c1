import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatTime } from '../../src/event/index.js';

const MAX_DATE_MS = 8.64e15;

describe('formatTime', () => {
  it('writes what toISOString writes for every time a Date holds', () => {
    // Prepare: any time, and times near one another, as the times of one request are.
    const near = fc.integer({ min: -3_000_000, max: 3_000_000 }).map((d) => Date.now() + d);
    const any = fc.integer({ min: -MAX_DATE_MS, max: MAX_DATE_MS });
    const fractional = fc.double({ min: -MAX_DATE_MS, max: MAX_DATE_MS, noNaN: true });
    fc.assert(
      fc.property(fc.array(fc.oneof(near, any, fractional), { minLength: 1, maxLength: 20 }), (times) => {
        // Act, Assess: in any order, so an answer remembered for one minute never leaks into another.
        for (const ms of times) expect(formatTime(ms)).toBe(new Date(ms).toISOString());
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    [0, '1970-01-01T00:00:00.000Z'],
    [-1, '1969-12-31T23:59:59.999Z'],
    [-62_167_219_200_000, '0000-01-01T00:00:00.000Z'],
    [253_402_300_799_999, '9999-12-31T23:59:59.999Z'],
    [253_402_300_800_000, '+010000-01-01T00:00:00.000Z'],
    [-MAX_DATE_MS, '-271821-04-20T00:00:00.000Z'],
    [951_782_400_000, '2000-02-29T00:00:00.000Z'],
    [1_764_099_072_123, '2025-11-25T19:31:12.123Z'],
    [1_764_099_119_999, '2025-11-25T19:31:59.999Z'],
  ])('writes %d as %s', (ms, text) => {
    expect(formatTime(ms)).toBe(text);
  });

  it.each([Number.NaN, MAX_DATE_MS + 1, -MAX_DATE_MS - 1, Number.POSITIVE_INFINITY])(
    'throws for %d, which no Date holds, as toISOString does',
    (ms) => {
      expect(() => formatTime(ms)).toThrow(RangeError);
    },
  );
});
