import { describe, expect, it } from 'vitest';
import { prepareEvent } from '../../src/collector/index.js';
import { mapSegmentMessage, readSegmentBatch } from '../../src/collector/protocols/segment.js';

const RECEIVED = Date.parse('2026-11-25T12:00:10.000Z');

/** Maps a message and prepares it as the collector does, failing on a refusal. */
function landed(message: unknown, options: Partial<Parameters<typeof mapSegmentMessage>[1]> = {}) {
  const mapped = mapSegmentMessage(message, { receivedAt: RECEIVED, ...options });
  if (!mapped.ok) throw new Error(`expected a mapped message, got ${mapped.code}: ${mapped.message}`);
  const prepared = prepareEvent(mapped.value, { receivedAt: RECEIVED });
  if (!prepared.ok) throw new Error(`expected a valid event, got ${prepared.code}: ${prepared.message}`);
  return prepared.event;
}

describe('mapSegmentMessage', () => {
  it('maps a track call: messageId, userId, the name, properties, context and integrations', () => {
    const event = landed({
      type: 'track',
      messageId: 'msg-1',
      userId: 'user_1',
      anonymousId: 'anon-1',
      event: 'Order Completed',
      properties: { total: 30 },
      context: { library: { name: 'analytics-node' }, userAgent: 'ua' },
      integrations: { All: false },
      timestamp: '2026-11-25T12:00:00.000Z',
    });
    expect(event).toMatchObject({
      event_id: 'msg-1',
      user_id: 'user_1',
      event: 'Order Completed',
      timestamp: '2026-11-25T12:00:00.000Z',
      properties: { total: 30 },
      anonymous_id: 'anon-1',
      integrations: { All: false },
      context: { library: { name: 'analytics-node' }, userAgent: 'ua', segment: { type: 'track' } },
    });
  });

  it('lands each call type under its name, with traits, group and previous ids in their columns', () => {
    const base = { anonymousId: 'anon-1', timestamp: '2026-11-25T12:00:00.000Z' };
    expect(landed({ ...base, type: 'page', name: 'Home', properties: { url: '/x' } })).toMatchObject({
      user_id: 'anon-1',
      event: 'page_view',
      properties: { url: '/x', name: 'Home' },
    });
    expect(landed({ ...base, type: 'screen', name: 'Main' })).toMatchObject({
      event: 'screen_view',
      properties: { name: 'Main' },
    });
    expect(landed({ ...base, type: 'identify', userId: 'u', traits: { plan: 'pro' } })).toMatchObject({
      user_id: 'u',
      event: 'identify',
      traits: { plan: 'pro' },
      anonymous_id: 'anon-1',
    });
    expect(
      landed({ ...base, type: 'group', userId: 'u', groupId: 'g-1', traits: { seats: 3 } }),
    ).toMatchObject({
      event: 'group',
      group_id: 'g-1',
      traits: { seats: 3 },
    });
    expect(landed({ ...base, type: 'alias', userId: 'u', previousId: 'anon-1' })).toMatchObject({
      event: 'alias',
      previous_id: 'anon-1',
    });
    // The route's type wins over the body's, as Segment's single-call routes do.
    expect(landed({ ...base, type: 'page', event: 'x' }, { type: 'track' }).event).toBe('x');
  });

  it("corrects the client's clock by sentAt, from originalTimestamp when given (Segment's rule)", () => {
    // The client's clock runs 5 s behind: sent at 12:00:05 by its clock, received at 12:00:10.
    const event = landed({
      type: 'track',
      userId: 'u',
      event: 'e',
      originalTimestamp: '2026-11-25T12:00:01.000Z',
      timestamp: '2026-11-25T11:00:00.000Z',
      sentAt: '2026-11-25T12:00:05.000Z',
    });
    expect(event.timestamp).toBe('2026-11-25T12:00:06.000Z');
    expect(event.original_timestamp).toBe('2026-11-25T12:00:01.000Z');
    expect(event.context?.segment).toMatchObject({ timestamp: '2026-11-25T11:00:00.000Z' });
    // No time at all: the time received.
    expect(landed({ type: 'track', userId: 'u', event: 'e' }).timestamp).toBe('2026-11-25T12:00:10.000Z');
  });

  it("merges a batch's context and integrations into each message, the message's own keys winning", () => {
    const batch = readSegmentBatch({
      batch: [{ type: 'track', userId: 'u', event: 'e', context: { locale: 'fr' } }],
      context: { locale: 'en', app: { name: 'shop' } },
      integrations: { Amplitude: true },
      sentAt: '2026-11-25T12:00:10.000Z',
      writeKey: 'secret',
    });
    if (!batch.ok) throw new Error(batch.message);
    const event = landed(batch.messages[0], { defaults: batch.defaults });
    expect(event.context).toMatchObject({ locale: 'fr', app: { name: 'shop' } });
    expect(event.integrations).toEqual({ Amplitude: true });
  });

  it('keeps unknown fields under context.segment.other, but never the write key', () => {
    const event = landed({ type: 'track', userId: 'u', event: 'e', channel: 'server', writeKey: 'secret' });
    expect(event.context?.segment).toEqual({ type: 'track', other: { channel: 'server' } });
    expect(JSON.stringify(event)).not.toContain('secret');
  });

  it('refuses what cannot become an event, naming the field', () => {
    const refusal = (message: unknown, type?: 'track') => {
      const mapped = mapSegmentMessage(message, { receivedAt: RECEIVED, ...(type ? { type } : {}) });
      if (mapped.ok) throw new Error('expected a refusal');
      return mapped;
    };
    expect(refusal({ type: 'track', event: 'e' })).toMatchObject({
      code: 'missing_field',
      message: 'userId or anonymousId is required',
    });
    expect(refusal({ userId: 'u', event: 'e' })).toMatchObject({ code: 'missing_field' });
    expect(refusal({ type: 'shout', userId: 'u' }).message).toContain('"shout" is not one of');
    expect(refusal({ userId: 'u' }, 'track')).toMatchObject({ message: 'event is required in a track call' });
    expect(refusal([1])).toMatchObject({ code: 'invalid_field' });
  });

  it('leaves a "__proto__" field for the hostile-shape check to refuse', () => {
    const message = JSON.parse('{"type":"track","userId":"u","event":"e","__proto__":{"admin":true}}');
    const mapped = mapSegmentMessage(message, { receivedAt: RECEIVED });
    if (!mapped.ok) throw new Error(mapped.message);
    expect(prepareEvent(mapped.value, { receivedAt: RECEIVED })).toMatchObject({
      ok: false,
      code: 'forbidden_key',
    });
    expect(({} as { admin?: boolean }).admin).toBeUndefined();
  });
});
