import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_RECORD_BYTES } from '../../src/core/limits.js';
import { parseEventRecord, parseTime, positionEventId } from '../../src/event/index.js';

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
