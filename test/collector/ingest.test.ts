import { describe, expect, it } from 'vitest';
import {
  CollectorError,
  decodeBody,
  findHostile,
  MAX_EVENT_DEPTH,
  prepareEvent,
} from '../../src/collector/index.js';

const RECEIVED = Date.parse('2026-11-25T12:00:10.000Z');
/** A fresh valid event: `prepareEvent` completes the objects it is given in place. */
const valid = () => ({ user_id: 'user_1', event: 'click', timestamp: '2026-11-25T12:00:00.000Z' });

function prepared(value: unknown, facts: Partial<Parameters<typeof prepareEvent>[1]> = {}) {
  const result = prepareEvent(value, { receivedAt: RECEIVED, ...facts });
  if (!result.ok) throw new Error(`expected a valid event, got ${result.code}: ${result.message}`);
  return result.event;
}

function refusal(value: unknown, facts: Partial<Parameters<typeof prepareEvent>[1]> = {}) {
  const result = prepareEvent(value, { receivedAt: RECEIVED, ...facts });
  if (result.ok) throw new Error('expected the event to be refused');
  return result;
}

function thrown(run: () => unknown): CollectorError {
  try {
    run();
  } catch (error) {
    if (error instanceof CollectorError) return error;
    throw error;
  }
  throw new Error('expected a CollectorError');
}

/** Nests `{"a": …}` `depth` objects deep, ending in 1. */
function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

describe('decodeBody', () => {
  it('reads one event, an array, and a batch with a batch-wide sent_at', () => {
    expect(decodeBody('json', Buffer.from(JSON.stringify(valid()))).items).toEqual([
      { index: 0, value: valid() },
    ]);
    expect(decodeBody('json', Buffer.from(JSON.stringify([valid(), 3]))).items).toEqual([
      { index: 0, value: valid() },
      { index: 1, value: 3 },
    ]);
    const batch = decodeBody('json', Buffer.from(JSON.stringify({ batch: [valid()], sent_at: 1 })));
    expect(batch).toEqual({ items: [{ index: 0, value: valid() }], batchSentAt: 1 });
  });

  it('refuses a whole body that is not JSON, not UTF-8, or a malformed batch, naming the fix', () => {
    expect(thrown(() => decodeBody('json', Buffer.from('{"user_id": ')))).toMatchObject({
      statusCode: 400,
      code: 'invalid_json',
    });
    expect(thrown(() => decodeBody('json', Buffer.from([0x7b, 0xff, 0x7d])))).toMatchObject({
      statusCode: 400,
      code: 'invalid_utf8',
    });
    const extra = thrown(() => decodeBody('json', Buffer.from('{"batch": [], "write_key": "k"}')));
    expect(extra).toMatchObject({ statusCode: 400, code: 'invalid_batch' });
    expect(extra.message).toContain('"write_key"');
    expect(thrown(() => decodeBody('json', Buffer.from('{"batch": {}}'))).message).toContain(
      '"batch" must be an array of events (given object)',
    );
  });

  it('reads NDJSON line by line: blank lines skipped, CRLF and a BOM accepted, bad lines rejected by line index', () => {
    const body = Buffer.concat([
      Buffer.from(`\ufeff${JSON.stringify(valid())}\r\n\n   \nnot json\n`),
      Buffer.from([0x7b, 0xff, 0x7d, 0x0a]),
      Buffer.from(JSON.stringify({ ...valid(), event: 'last' })),
    ]);
    const { items } = decodeBody('ndjson', body);
    expect(items.map((item) => item.index)).toEqual([0, 3, 4, 5]);
    expect(items[0]).toEqual({ index: 0, value: valid() });
    expect(items[1]).toMatchObject({ index: 3, code: 'invalid_json' });
    expect(items[2]).toMatchObject({ index: 4, code: 'invalid_utf8', message: 'line 5 is not valid UTF-8' });
    expect(items[3]).toEqual({ index: 5, value: { ...valid(), event: 'last' } });
  });
});

describe('prepareEvent', () => {
  it('sets received_at from the server clock, replacing any value the client sent', () => {
    expect(prepared(valid()).received_at).toBe('2026-11-25T12:00:10.000Z');
    expect(prepared({ ...valid(), received_at: '2020-01-01T00:00:00Z' }).received_at).toBe(
      '2026-11-25T12:00:10.000Z',
    );
  });

  it('corrects the timestamp for client clock skew and keeps the original (timestamp + received_at - sent_at)', () => {
    // The client clock is 1 h behind: it stamped the event at 11:00:00 and sent it at 11:00:04.
    const event = prepared({
      ...valid(),
      timestamp: '2026-11-25T11:00:00.000Z',
      sent_at: '2026-11-25T11:00:04.000Z',
    });
    expect(event.timestamp).toBe('2026-11-25T12:00:06.000Z');
    expect(event.original_timestamp).toBe('2026-11-25T11:00:00.000Z');
    expect(event.sent_at).toBe('2026-11-25T11:00:04.000Z');
  });

  it('applies a batch-wide sent_at, unless the event has its own; without sent_at nothing is corrected', () => {
    const batchWide = prepared({ ...valid(), timestamp: 1795605600 }, { batchSentAt: 1795605605000 });
    // 1795605600 s is 2026-11-25T11:20:00Z; sent 5 s later by the client's clock, received at 12:00:10.
    expect(batchWide.timestamp).toBe('2026-11-25T12:00:05.000Z');
    expect(batchWide.original_timestamp).toBe('2026-11-25T11:20:00.000Z');
    const own = prepared(
      { ...valid(), sent_at: '2026-11-25T12:00:01.000Z' },
      { batchSentAt: '2026-11-25T00:00:00.000Z' },
    );
    expect(own.timestamp).toBe('2026-11-25T12:00:09.000Z');
    const plain = prepared(valid());
    expect(plain.timestamp).toBe(valid().timestamp);
    expect(plain.original_timestamp).toBeUndefined();
    expect(plain.sent_at).toBeUndefined();
  });

  it('refuses a sent_at that is not a time, and a corrected time out of range, with the schema reasons', () => {
    expect(refusal({ ...valid(), sent_at: 'yesterday' })).toMatchObject({ code: 'invalid_timestamp' });
    // A client that says it sent the event two days before it happened puts it two days ahead.
    expect(
      refusal({ ...valid(), timestamp: '2026-11-27T12:00:00.000Z', sent_at: '2026-11-25T12:00:00.000Z' }),
    ).toMatchObject({ code: 'timestamp_out_of_range' });
  });

  it("adds the user agent and, when given, the client IP to context, keeping a client's own user_agent", () => {
    const event = prepared(
      { ...valid(), context: { locale: 'de' } },
      { userAgent: 'Browser/1.0', ip: '10.0.0.7' },
    );
    expect(event.context).toEqual({ locale: 'de', user_agent: 'Browser/1.0', ip: '10.0.0.7' });
    expect(prepared(valid(), { userAgent: 'Browser/1.0' }).context).toEqual({ user_agent: 'Browser/1.0' });
    expect(
      prepared({ ...valid(), context: { user_agent: 'App/2' } }, { userAgent: 'proxy' }).context,
    ).toEqual({
      user_agent: 'App/2',
    });
    expect(prepared(valid()).context).toBeUndefined();
    expect(refusal({ ...valid(), context: 'x' }, { userAgent: 'B' })).toMatchObject({
      code: 'invalid_field',
    });
  });

  it('gives an event without an id a UUIDv7 of the time received, and keeps a given id', () => {
    const id = prepared(valid()).event_id;
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16)).toBe(RECEIVED);
    expect(prepared({ ...valid(), event_id: 'e-1' }).event_id).toBe('e-1');
  });

  it('validates with the one schema: unknown fields, missing fields and wrong types are refused', () => {
    expect(refusal({ ...valid(), colour: 'red' })).toMatchObject({ code: 'invalid_field' });
    expect(refusal({ event: 'x', timestamp: 1 })).toMatchObject({ code: 'missing_field' });
    expect(refusal([valid()])).toMatchObject({ code: 'not_an_object' });
    expect(refusal({ ...valid(), user_id: 42 })).toMatchObject({ code: 'invalid_field' });
  });
});

describe('hostile events', () => {
  it('refuses __proto__ keys anywhere and constructor.prototype, and never pollutes Object.prototype', () => {
    const bodies = [
      '{"__proto__": {"polluted": true}, "user_id": "u", "event": "e", "timestamp": 1764099072}',
      '{"user_id": "u", "event": "e", "timestamp": 1764099072, "properties": {"a": [{"__proto__": {"polluted": true}}]}}',
      '{"user_id": "u", "event": "e", "timestamp": 1764099072, "context": {"constructor": {"prototype": {"polluted": true}}}}',
    ];
    for (const body of bodies) {
      const [item] = decodeBody('json', Buffer.from(body)).items;
      expect(refusal(item && 'value' in item ? item.value : undefined)).toMatchObject({
        code: 'forbidden_key',
      });
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // A plain "constructor" value is ordinary data.
    expect(prepared({ ...valid(), properties: { constructor: 'Lego' } }).properties).toEqual({
      constructor: 'Lego',
    });
  });

  it(`refuses events nested deeper than ${MAX_EVENT_DEPTH} levels, naming where`, () => {
    expect(findHostile(nested(MAX_EVENT_DEPTH) as object)).toBeUndefined();
    const finding = findHostile(nested(MAX_EVENT_DEPTH + 1) as object);
    expect(finding?.code).toBe('too_deep');
    expect(finding?.message).toMatch(/^a\.a\.a.*nests deeper than 32 levels: flatten it$/);
    // 100,000 levels: no stack overflow, one clear refusal.
    const deep = JSON.parse(`${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`);
    expect(refusal({ ...valid(), properties: deep })).toMatchObject({ code: 'too_deep' });
  });

  it('keeps messages about huge strings short: the length is shown, never the value', () => {
    const huge = 'x'.repeat(500_000);
    const result = refusal({ ...valid(), user_id: huge });
    expect(result.code).toBe('invalid_field');
    expect(result.message).toBe('user_id must be at most 256 characters (given 500000)');
    expect(prepared({ ...valid(), properties: { text: huge } }).properties?.text).toHaveLength(500_000);
  });
});
