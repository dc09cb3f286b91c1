import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_USER_ID_LENGTH } from '../../src/core/limits.js';
import { enrich, enrichedLine } from '../../src/enrich/index.js';
import { findUnsafeNumbers, scanNumbers } from '../../src/event/faithful.js';
import {
  acceptEventInput,
  eventInputSchema,
  FIELD_TESTS_MATCH_SCHEMA,
  MAX_NAME_LENGTH,
} from '../../src/event/schema.js';
import type { ActivityEvent } from '../../src/event/types.js';
import { eventLike, validEvent } from './arbitraries.js';

// Each fast path of the consumer must give what its slow path gives, for any input: these properties
// compare the two on the same values.

/** Values as they come out of JSON.parse, event-like or not. */
const parsedJson = fc
  .oneof(
    fc.jsonValue(),
    eventLike,
    validEvent.map(({ event }) => event),
  )
  .map((value) => JSON.parse(JSON.stringify(value) ?? 'null') as unknown);

/** Values at the edges of the schema's rules: lengths around each limit, numbers JSON cannot hold. */
const edgeValue = fc.oneof(
  fc.string({ unit: 'binary', minLength: MAX_NAME_LENGTH - 1, maxLength: MAX_NAME_LENGTH + 1 }),
  fc.string({ minLength: MAX_USER_ID_LENGTH - 1, maxLength: MAX_USER_ID_LENGTH + 1 }),
  fc.string({ unit: 'binary', maxLength: 4 }),
  fc.constantFrom(Number.POSITIVE_INFINITY, Number.NaN, -0, 0, '', null, undefined, true, [], [1]),
  fc.constantFrom(Object.create(null), new Date(0), new Map(), { a: 1 }),
  fc.double(),
);

/** A text field at its length limit, one below or one above it, sometimes with a control character. */
const lengthEdge = fc
  .tuple(
    fc.constantFrom(
      ['user_id', MAX_USER_ID_LENGTH] as const,
      ['event_id', MAX_NAME_LENGTH] as const,
      ['event', MAX_NAME_LENGTH] as const,
      ['session_id', MAX_NAME_LENGTH] as const,
    ),
    fc.integer({ min: -1, max: 1 }),
    fc.constantFrom('a', 'é', '\u0007', '\u009f', '😀'),
  )
  .map(([[field, limit], offset, last]): [string, unknown] => [field, 'x'.repeat(limit + offset - 1) + last]);

const fieldName = fc.constantFrom(...Object.keys(eventInputSchema.shape), 'extra', '__proto__');

/** A valid event with fields set to edge values, added, or taken away. */
const nearEvent = fc
  .tuple(
    validEvent,
    fc.array(fc.oneof(fc.tuple(fieldName, edgeValue), lengthEdge), { minLength: 1, maxLength: 3 }),
    fc.option(fc.constantFrom(...Object.keys(eventInputSchema.shape)), { nil: undefined }),
  )
  .map(([{ event }, edits, removed]) => {
    const value: Record<string, unknown> = { ...event, session_id: 's' };
    for (const [key, edge] of edits)
      Object.defineProperty(value, key, {
        value: edge,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    if (removed !== undefined) delete value[removed];
    return value;
  });

describe('the schema checked in place', () => {
  it('names the schema’s fields', () => {
    expect(FIELD_TESTS_MATCH_SCHEMA).toBe(true);
  });

  it('accepts a JSON value exactly when the schema does, and as the schema would give it', () => {
    fc.assert(
      fc.property(parsedJson, (value) => {
        const parsed = eventInputSchema.safeParse(value);
        const accepted = acceptEventInput(value);
        expect(accepted !== undefined).toBe(parsed.success);
        if (accepted !== undefined) expect(accepted).toStrictEqual(parsed.data);
      }),
      { numRuns: 2000 },
    );
  });

  it('never accepts what the schema refuses, whatever the value', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), eventLike, nearEvent), (value) => {
        const parsed = eventInputSchema.safeParse(value);
        const accepted = acceptEventInput(value);
        if (accepted !== undefined) expect(accepted).toStrictEqual(parsed.data);
      }),
      { numRuns: 2000 },
    );
  });
});

/** A JSON number token of any form: long, with a fraction, an exponent, leading zeros in the fraction. */
const numberToken = fc.oneof(
  fc.stringMatching(/^-?(0|[1-9]\d{0,24})(\.\d{1,24})?([eE][+-]?\d{1,3})?$/),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc.bigInt().map(String),
  // 16 digits, the fewest a double may not hold: above 2^53 most of them
  fc.bigInt({ min: 2n ** 53n, max: 10n ** 16n - 1n }).map(String),
);
const whitespace = fc.constantFrom('', ' ', '\n', '\t', '\r\n  ');

/** JSON text holding number tokens in objects and arrays, with whitespace where JSON allows it. */
const textWithNumbers = fc
  .array(fc.tuple(whitespace, numberToken, whitespace, fc.string({ maxLength: 8 })), {
    minLength: 1,
    maxLength: 6,
  })
  .map((parts) => {
    const items = parts.map(([before, token, after]) => `${before}${token}${after}`);
    const fields = parts.map(
      ([before, token, after, key], i) => `${JSON.stringify(`${key}${i}`)}:${before}${token}${after}`,
    );
    return `{"event":"e","properties":{${fields.join(',')},"list":[${items.join(',')}]},"context":{"id":"3e4${items.length}"}}`;
  });

describe('the cheap test before the search for unsafe numbers', () => {
  it('lets the scan see every number it would refuse', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          textWithNumbers,
          fc.jsonValue().map((v) => JSON.stringify(v, null, 1)),
        ),
        (json) => {
          expect(findUnsafeNumbers(json)).toStrictEqual(scanNumbers(json));
        },
      ),
      { numRuns: 3000 },
    );
  });
});

/** Events as the parser lands them, with every source of enrichment, present or not. */
const landedEvent = fc
  .record(
    {
      event_id: fc.uuid(),
      user_id: fc.string({ minLength: 1 }),
      event: fc.string({ minLength: 1 }),
      timestamp: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      received_at: fc.constant('2026-11-25T19:31:12.041Z'),
      session_id: fc.string(),
      properties: fc.record(
        {
          url: fc.oneof(
            fc.webUrl({ withQueryParameters: true }),
            fc.constantFrom(
              'https://shop.example/p?utm_source=news&utm_medium=email&utm_campaign=w%C3%A9&utm_term="q"&utm_content=\\',
              '/deals?utm_campaign=spring',
            ),
          ),
          referrer: fc.oneof(
            fc.webUrl(),
            fc.constantFrom('https://www.google.com/', 'https://t.co/x', '/home', ''),
          ),
          amount: fc.double(),
          note: fc.string({ unit: 'binary' }),
        },
        { requiredKeys: [] },
      ),
      context: fc.record(
        {
          user_agent: fc.oneof(
            fc.constantFrom(
              'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
              'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
              'Mozilla/5.0 "quoted" \\ agent\u0001',
              '   ',
            ),
            fc.string({ unit: 'binary' }),
          ),
          userAgent: fc.string(),
          page: fc.record(
            { url: fc.webUrl({ withQueryParameters: true }), referrer: fc.webUrl() },
            { requiredKeys: [] },
          ),
        },
        { requiredKeys: [] },
      ),
      traits: fc.dictionary(fc.string(), fc.jsonValue()),
    },
    { requiredKeys: ['event_id', 'user_id', 'event', 'timestamp', 'received_at'] },
  )
  .map((event) => event as ActivityEvent);

describe('the enriched line written without the copy', () => {
  it('is the bytes of the enriched event as JSON', () => {
    fc.assert(
      fc.property(landedEvent, (event) => {
        expect(enrichedLine(event)).toBe(JSON.stringify(enrich(event)));
      }),
      { numRuns: 3000 },
    );
  });
});
