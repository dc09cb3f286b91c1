import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_FUTURE_SKEW_MS, MIN_EVENT_TIME_MS } from '../../src/core/limits.js';
import { type ParseResult, parseEventRecord, REJECT_REASONS } from '../../src/event/index.js';
import { eventLike, mutatedEvent, RECEIVED_AT, utf8, validEvent } from './arbitraries.js';

// Arbitrary input must never make the parser throw: a throw in the consumer fails the whole batch,
// and a record that fails every retry blocks its shard.

const context = { receivedAt: RECEIVED_AT, fallbackId: () => 'fallback-id' };
const LANDED_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Parses, turning a throw into a failed property with the input shown. */
function parse(data: Uint8Array): ParseResult {
  try {
    return parseEventRecord(data, context);
  } catch (error) {
    throw new Error(`parseEventRecord threw ${String(error)} on ${Buffer.from(data).toString('utf8')}`);
  }
}

/** What every result must look like, valid or not. */
function assertWellFormed(result: ParseResult): void {
  if (!result.ok) {
    expect(REJECT_REASONS).toContain(result.reason);
    expect(typeof result.message).toBe('string');
    expect(result.message.length).toBeGreaterThan(0);
    return;
  }
  const { event, timestampMs } = result;
  expect(event.timestamp).toMatch(LANDED_TIME);
  expect(event.received_at).toMatch(LANDED_TIME);
  expect(Date.parse(event.timestamp)).toBe(timestampMs);
  expect(timestampMs).toBeGreaterThanOrEqual(MIN_EVENT_TIME_MS);
  expect(timestampMs).toBeLessThanOrEqual(Date.parse(event.received_at) + MAX_FUTURE_SKEW_MS);
  for (const field of ['event_id', 'user_id', 'event'] as const) {
    expect(typeof event[field]).toBe('string');
    expect(event[field].length).toBeGreaterThan(0);
  }
}

describe('the event parser under arbitrary input', () => {
  it('never throws on arbitrary bytes, and reports a known reason when it rejects', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (data) => assertWellFormed(parse(data))),
      { numRuns: 500 },
    );
  });

  it('never throws on arbitrary JSON or event-like objects with fields of any type and range', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), eventLike), (value) => assertWellFormed(parse(utf8(value)))),
      { numRuns: 1000 },
    );
  });

  it('never throws on valid events with bytes replaced or cut off', () => {
    fc.assert(
      fc.property(mutatedEvent, (data) => assertWellFormed(parse(data))),
      { numRuns: 500 },
    );
  });

  it('accepts every valid event, keeping its instant in the landed form', () => {
    fc.assert(
      fc.property(validEvent, ({ event, expectedMs }) => {
        const result = parse(utf8(event));
        expect(result.ok, JSON.stringify(result)).toBe(true);
        if (!result.ok) return;
        assertWellFormed(result);
        expect(result.timestampMs).toBe(expectedMs);
        expect(result.event.user_id).toBe(event.user_id);
        expect(result.event.event_id).toBe(event.event_id ?? 'fallback-id');
      }),
      { numRuns: 500 },
    );
  });

  it('keeps the instant of a time given in any ISO 8601 form, for every four-digit year', () => {
    const DAY_MS = 86_400_000;
    const firstDay = Date.parse('0000-01-01T00:00:00Z') / DAY_MS;
    const lastDay = Date.parse('9999-12-31T00:00:00Z') / DAY_MS;
    const time = fc.record({
      day: fc.integer({ min: firstDay, max: lastDay }),
      second: fc.integer({ min: 0, max: 86_399 }),
      form: fc.constantFrom('no-millis', 'offset', 'space', 'date'),
    });
    fc.assert(
      fc.property(validEvent, time, ({ event }, { day, second, form }) => {
        const ms = day * DAY_MS + (form === 'date' ? 0 : second * 1000);
        const canonical = new Date(ms).toISOString();
        const text =
          form === 'date'
            ? canonical.slice(0, 10)
            : form === 'no-millis'
              ? canonical.replace('.000Z', 'Z')
              : form === 'offset'
                ? canonical.replace('Z', '+00:00')
                : canonical.replace('T', ' ');
        const result = parse(utf8({ ...event, sent_at: text }));
        expect(result.ok, `${text}: ${JSON.stringify(result)}`).toBe(true);
        if (result.ok) expect(result.event.sent_at, text).toBe(canonical);
      }),
      { numRuns: 500 },
    );
  });

  it('gives back the same event when a landed event is parsed again', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          validEvent.map(({ event }) => event),
          eventLike,
        ),
        (value) => {
          const first = parse(utf8(value));
          if (!first.ok) return;
          const again = parse(utf8(first.event));
          expect(again).toEqual(first);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
