import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_RECORD_BYTES } from '../../src/core/limits.js';
import {
  MAX_EVENT_DEPTH,
  parseEventRecord,
  parseTime,
  positionEventId,
  REJECT_REASONS,
} from '../../src/event/index.js';
import { parseReasons, REDRIVE_REASONS } from '../../src/redrive/index.js';

const receivedAt = Date.parse('2026-11-25T19:31:12.041Z');
const context = { receivedAt, fallbackId: () => 'fallback-id' };
const bytes = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

describe('parseEventRecord', () => {
  it('accepts the seed format with epoch seconds and lands ISO 8601 UTC with milliseconds', () => {
    // Prepare
    const seed = { user_id: 'user_1', event: 'login', timestamp: 1764099072 };
    // Act
    const result = parseEventRecord(bytes(seed), context);
    // Assess
    expect(result).toMatchObject({
      ok: true,
      event: {
        event_id: 'fallback-id',
        user_id: 'user_1',
        event: 'login',
        timestamp: '2025-11-25T19:31:12.000Z',
        received_at: '2026-11-25T19:31:12.041Z',
      },
    });
  });

  it.each([
    [1764099072123, '2025-11-25T19:31:12.123Z'],
    ['1764099072', '2025-11-25T19:31:12.000Z'],
    ['2026-11-25T19:31:12Z', '2026-11-25T19:31:12.000Z'],
    ['2026-11-25T19:31:12.5+01:00', '2026-11-25T18:31:12.500Z'],
    ['2026-11-25 19:31:12.123456', '2026-11-25T19:31:12.123Z'],
    ['2026-11-25', '2026-11-25T00:00:00.000Z'],
    ['2024-02-29T23:59:59.999Z', '2024-02-29T23:59:59.999Z'],
  ])('reads the timestamp %j as %s', (timestamp, expected) => {
    const result = parseEventRecord(bytes({ user_id: 'u', event: 'e', timestamp }), context);
    expect(result.ok && result.event.timestamp).toBe(expected);
  });

  it.each([
    ['invalid_utf8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
    ['invalid_json', bytes('{"user_id": "u", ')],
    ['not_an_object', bytes('[1,2]')],
    ['not_an_object', bytes('null')],
    ['missing_field', bytes({ event: 'e', timestamp: 1764099072 })],
    ['missing_field', bytes({ user_id: 'u', timestamp: 1764099072 })],
    ['missing_field', bytes({ user_id: 'u', event: 'e' })],
    ['invalid_field', bytes({ user_id: 42, event: 'e', timestamp: 1764099072 })],
    ['invalid_field', bytes({ user_id: '', event: 'e', timestamp: 1764099072 })],
    ['invalid_field', bytes({ user_id: 'a\u0001b', event: 'e', timestamp: 1764099072 })],
    ['invalid_field', bytes({ user_id: 'x'.repeat(257), event: 'e', timestamp: 1764099072 })],
    ['invalid_field', bytes({ user_id: 'u', event: 'e', timestamp: 1764099072, surprise: 1 })],
    ['invalid_field', bytes({ user_id: 'u', event: 'e', timestamp: 1764099072, properties: [] })],
    ['invalid_field', bytes({ user_id: 'u', event: 'e', timestamp: true })],
    ['invalid_timestamp', bytes({ user_id: 'u', event: 'e', timestamp: 'yesterday' })],
    ['invalid_timestamp', bytes({ user_id: 'u', event: 'e', timestamp: '2026-02-31T00:00:00Z' })],
    ['invalid_timestamp', bytes({ user_id: 'u', event: 'e', timestamp: -5 })],
    ['invalid_timestamp', bytes({ user_id: 'u', event: 'e', timestamp: '2026-02-31T00:00:00.000Z' })],
    ['invalid_timestamp', bytes({ user_id: 'u', event: 'e', timestamp: '2026-01-01T24:00:00.000Z' })],
    ['timestamp_out_of_range', bytes({ user_id: 'u', event: 'e', timestamp: '1999-12-31T23:59:59Z' })],
    [
      'timestamp_out_of_range',
      bytes({ user_id: 'u', event: 'e', timestamp: receivedAt + 24 * 3600_000 + 1 }),
    ],
    ['record_too_large', Buffer.alloc(MAX_RECORD_BYTES + 1, 0x20)],
  ])('rejects with %s', (reason, data) => {
    const result = parseEventRecord(data, context);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toBe(reason);
      expect(result.message.length).toBeGreaterThan(5);
    }
  });

  it('names the bad value in its messages', () => {
    const result = parseEventRecord(bytes({ user_id: 42, event: 'e', timestamp: 1 }), context);
    expect(!result.ok && result.message).toBe('user_id must be a string (given number)');
    const unknown = parseEventRecord(
      bytes({ user_id: 'u', event: 'e', timestamp: 1764099072, foo: 1 }),
      context,
    );
    expect(!unknown.ok && unknown.message).toContain('"foo"');
  });

  it('keeps old events (late data and backfills are valid) and a hostile user_id as data', () => {
    const old = parseEventRecord(
      bytes({ user_id: '../../x', event: 'e', timestamp: '2001-01-01T00:00:00Z' }),
      context,
    );
    expect(old).toMatchObject({
      ok: true,
      event: { user_id: '../../x', timestamp: '2001-01-01T00:00:00.000Z' },
    });
  });

  it('keeps __proto__ keys in properties as plain data', () => {
    const result = parseEventRecord(
      bytes('{"user_id":"u","event":"e","timestamp":1764099072,"properties":{"__proto__":{"polluted":1}}}'),
      context,
    );
    expect(result.ok).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('never throws, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (data) => {
        const result = parseEventRecord(data, context);
        expect(typeof result.ok).toBe('boolean');
      }),
    );
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const result = parseEventRecord(bytes(value), context);
        expect(typeof result.ok).toBe('boolean');
      }),
    );
  });
});

describe('parseEventRecord: nothing lands that a reader cannot read back as it was sent', () => {
  const seed = '"user_id":"a","event":"e","timestamp":1764099072';
  const record = (fields: string) => Buffer.from(`{${fields}}`, 'utf8');

  it.each([
    ['session_id', `${seed},"session_id":"\\ud83d"`, 'session_id'],
    ['user_id', '"user_id":"\\ud83d","event":"e","timestamp":1764099072', 'user_id'],
    ['a value in properties', `${seed},"properties":{"x":["ok","\\udc00"]}`, 'properties.x[1]'],
    ['a key in context', `${seed},"context":{"\\ud800":1}`, 'context["\\ud800"]'],
  ])('refuses a lone surrogate in %s as invalid_unicode, naming where it is', (_, fields, where) => {
    // Prepare: valid JSON text and valid UTF-8 bytes, but not Unicode text
    const data = record(fields);
    // Act
    const result = parseEventRecord(data, context);
    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'invalid_unicode' });
    expect(!result.ok && result.message).toContain(`${where} holds a lone UTF-16 surrogate`);
    expect(!result.ok && result.message.isWellFormed()).toBe(true);
  });

  it('accepts surrogate pairs, escaped or not, and an escaped backslash before "ud800"', () => {
    const result = parseEventRecord(
      record(`${seed},"properties":{"a":"\\ud83d\\ude00","b":"😀","c":"\\\\ud800"}`),
      context,
    );
    expect(result.ok && result.event.properties).toEqual({ a: '😀', b: '😀', c: '\\ud800' });
  });

  it.each([
    ['properties.big', '"properties":{"big":12345678901234567890}', '12345678901234567000'],
    ['context.x', '"context":{"x":1e400}', 'null'],
    ['context.x', '"context":{"x":-1E+400}', 'null'],
    ['properties.tiny', '"properties":{"tiny":1e-400}', '0'],
    ['properties.n[2]', '"properties":{"n":[1,2,9007199254740993]}', '9007199254740992'],
    // 2^60 is a double, but its shortest form, the one that lands, is another integer.
    ['properties.p', '"properties":{"p":1152921504606846976}', '1152921504606847000'],
    ['properties.pi', '"properties":{"pi":3.14159265358979323846}', '3.141592653589793'],
  ])('refuses a number a double does not hold (%s) as unsafe_number', (where, fields, landed) => {
    const result = parseEventRecord(record(`${seed},${fields}`), context);
    expect(result).toMatchObject({ ok: false, reason: 'unsafe_number' });
    expect(!result.ok && result.message).toContain(`${where} is `);
    expect(!result.ok && result.message).toContain(`land as ${landed}`);
  });

  it('accepts numbers a double holds as written, however they are written', () => {
    const written =
      '[0.1,1.50,15e-1,1e21,1000000000000000000000,9007199254740992,-0,5e-324,1.7976931348623157e308,123456789012345.6]';
    const result = parseEventRecord(record(`${seed},"properties":{"n":${written}}`), context);
    expect(result.ok && result.event.properties?.n).toEqual(JSON.parse(written));
  });

  it('leaves numbers outside properties and context to the time rules', () => {
    // Epoch seconds with nanoseconds: a time, landed with milliseconds by design.
    const result = parseEventRecord(
      record('"user_id":"a","event":"e","timestamp":1764099072.123456789'),
      context,
    );
    expect(result.ok && result.event.timestamp).toBe('2025-11-25T19:31:12.123Z');
  });

  it(`refuses properties or context nested deeper than ${MAX_EVENT_DEPTH} levels as too_deep, as the collector does`, () => {
    // The event is level 1 and properties level 2: properties may hold 30 more levels.
    const nest = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
    const deepest = parseEventRecord(record(`${seed},"properties":${nest(MAX_EVENT_DEPTH - 1)}`), context);
    expect(deepest.ok).toBe(true);
    // One level more, and deep enough that writing the event again as JSON would overflow the stack.
    for (const levels of [MAX_EVENT_DEPTH, 100_000]) {
      const result = parseEventRecord(record(`${seed},"properties":${nest(levels)}`), context);
      expect(result).toMatchObject({ ok: false, reason: 'too_deep' });
      expect(!result.ok && result.message).toMatch(/^properties(\.a)+.* nests deeper than 32 levels/);
    }
    const inArray = parseEventRecord(
      record(`${seed},"context":{"k":[${nest(MAX_EVENT_DEPTH - 2)}]}`),
      context,
    );
    expect(!inArray.ok && inArray.message).toMatch(/^context\.k\[0\](\.a)+ nests deeper/);
  });

  it('gives redrive --reason every new reason', () => {
    expect(parseReasons(['invalid_unicode,unsafe_number', 'too_deep'])).toEqual([
      'invalid_unicode',
      'unsafe_number',
      'too_deep',
    ]);
    expect(REDRIVE_REASONS).toEqual(expect.arrayContaining([...REJECT_REASONS]));
  });

  it('never quotes half of a surrogate pair in a message', () => {
    // V8's message quotes the text cut short, here between the two halves of the second emoji.
    const data = Buffer.from(`x{"a":"😀😀" x ${'😀'.repeat(30)}}`, 'utf8');
    const result = parseEventRecord(data, context);
    expect(result).toMatchObject({ ok: false, reason: 'invalid_json' });
    expect(!result.ok && result.message.isWellFormed()).toBe(true);
  });
});

describe('parseTime', () => {
  it('treats numbers below 1e11 as seconds and the rest as milliseconds', () => {
    expect(parseTime(99_999_999_999)).toBe(99_999_999_999_000);
    expect(parseTime(100_000_000_000)).toBe(100_000_000_000);
  });

  it('reads only times a four-digit year can write, so no record can make the handler throw', () => {
    expect(parseTime(1e300)).toBeUndefined();
    expect(parseTime('999999999999999')).toBeUndefined();
    expect(parseTime('9999-12-31T23:59:59.999Z')).toBe(253_402_300_799_999);
    expect(new Date(parseTime('0099-12-31') ?? 0).getUTCFullYear()).toBe(99);
    const poison = parseEventRecord(Buffer.from('{"user_id":"u","event":"e","timestamp":1e300}'), {
      receivedAt: Date.now(),
      fallbackId: () => 'x',
    });
    expect(poison).toMatchObject({ ok: false, reason: 'invalid_timestamp' });
  });
});

describe('positionEventId', () => {
  it('is a stable UUID-shaped id that differs by position', () => {
    const a = positionEventId('arn:x', 'shardId-000000000000', '1');
    expect(a).toBe(positionEventId('arn:x', 'shardId-000000000000', '1'));
    expect(a).not.toBe(positionEventId('arn:x', 'shardId-000000000000', '2'));
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
