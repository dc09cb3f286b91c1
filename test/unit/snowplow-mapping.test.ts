import { describe, expect, it } from 'vitest';
import { prepareEvent } from '../../src/collector/index.js';
import {
  mapSnowplowEvent,
  queryFields,
  readSnowplowPayload,
} from '../../src/collector/protocols/snowplow.js';

const RECEIVED = Date.parse('2026-11-25T12:00:10.000Z');
const DTM = String(Date.parse('2026-11-25T12:00:01.000Z'));

function landed(fields: Record<string, unknown>) {
  const mapped = mapSnowplowEvent(fields, { receivedAt: RECEIVED });
  if (!mapped.ok) throw new Error(`expected a mapped event, got ${mapped.code}: ${mapped.message}`);
  const prepared = prepareEvent(mapped.value, { receivedAt: RECEIVED });
  if (!prepared.ok) throw new Error(`expected a valid event, got ${prepared.code}: ${prepared.message}`);
  return prepared.event;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('mapSnowplowEvent', () => {
  it('maps a page view: eid, uid, sid, the page, the user agent and the tracker', () => {
    const event = landed({
      e: 'pv',
      eid: 'a1b2c3',
      uid: 'user_1',
      duid: 'd-1',
      sid: 's-1',
      vid: '2',
      dtm: DTM,
      url: 'https://shop.example/cart?x=1',
      refr: 'https://search.example/',
      page: 'Cart',
      ua: 'Mozilla/5.0',
      aid: 'shop',
      p: 'web',
      tv: 'js-4.0.0',
      tna: 'sp',
      res: '1920x1080',
    });
    expect(event).toMatchObject({
      event_id: 'a1b2c3',
      user_id: 'user_1',
      event: 'page_view',
      session_id: 's-1',
      timestamp: '2026-11-25T12:00:01.000Z',
      anonymous_id: 'd-1',
      context: {
        page: {
          url: 'https://shop.example/cart?x=1',
          path: '/cart',
          referrer: 'https://search.example/',
          title: 'Cart',
        },
        user_agent: 'Mozilla/5.0',
        snowplow: {
          app_id: 'shop',
          platform: 'web',
          tracker: 'js-4.0.0',
          namespace: 'sp',
          session_index: 2,
          fields: { res: '1920x1080' },
        },
      },
    });
    // No uid: the device's id is the user.
    expect(landed({ e: 'pv', duid: 'd-1' }).user_id).toBe('d-1');
  });

  it("derives the time by Snowplow's rule: dtm + (received - stm)", () => {
    // The device's clock runs 5 s behind: sent at 12:00:05 by its clock, received at 12:00:10.
    const stm = String(Date.parse('2026-11-25T12:00:05.000Z'));
    const event = landed({ e: 'pv', uid: 'u', dtm: DTM, stm });
    expect(event.timestamp).toBe('2026-11-25T12:00:06.000Z');
    expect(event.sent_at).toBe('2026-11-25T12:00:05.000Z');
    // A true timestamp is taken as it is.
    const ttm = String(Date.parse('2026-11-25T11:00:00.000Z'));
    expect(landed({ e: 'pv', uid: 'u', dtm: DTM, stm, ttm }).timestamp).toBe('2026-11-25T11:00:00.000Z');
  });

  it('maps structured events, page pings and transactions into properties, numbers as numbers', () => {
    expect(
      landed({ e: 'se', uid: 'u', se_ca: 'shop', se_ac: 'add_to_cart', se_la: 'mug', se_va: '9.5' }),
    ).toMatchObject({
      event: 'add_to_cart',
      properties: { category: 'shop', action: 'add_to_cart', label: 'mug', value: 9.5 },
    });
    expect(
      landed({ e: 'pp', uid: 'u', pp_mix: '0', pp_max: '10', pp_miy: '5', pp_may: '900' }),
    ).toMatchObject({
      event: 'page_ping',
      properties: { min_x: 0, max_x: 10, min_y: 5, max_y: 900 },
    });
    expect(landed({ e: 'tr', uid: 'u', tr_id: 'o-1', tr_tt: '30', tr_cu: 'EUR' })).toMatchObject({
      event: 'transaction',
      properties: { order_id: 'o-1', total: 30, currency: 'EUR' },
    });
    expect(landed({ e: 'ti', uid: 'u', ti_id: 'o-1', ti_sk: 'mug', ti_qu: '2' })).toMatchObject({
      event: 'transaction_item',
      properties: { order_id: 'o-1', sku: 'mug', quantity: 2 },
    });
  });

  it('lands numeric fields as numbers only when their text is one, keeping blank and other text', () => {
    const value = (se_va: string) =>
      landed({ e: 'se', uid: 'u', se_ca: 'shop', se_ac: 'buy', se_va }).properties?.value;
    expect(['-1.5', ' 7', '1e3', '0x10', '', '  ', 'abc', 'Infinity', '12abc'].map(value)).toEqual([
      -1.5,
      7,
      1000,
      16,
      '',
      '  ',
      'abc',
      'Infinity',
      '12abc',
    ]);
  });

  it('lands a self-describing event under its schema name, with the URI and the contexts kept', () => {
    const schema = 'iglu:com.acme/add_to_wishlist/jsonschema/1-0-0';
    const ue = {
      schema: 'iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0',
      data: { schema, data: { sku: 'mug' } },
    };
    const contexts = {
      schema: 'iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0',
      data: [{ schema: 'iglu:com.acme/user/jsonschema/1-0-0', data: { tier: 'gold' } }],
    };
    const encoded = landed({ e: 'ue', uid: 'u', ue_px: b64(ue), cx: b64(contexts) });
    const plain = landed({ e: 'ue', uid: 'u', ue_pr: JSON.stringify(ue), co: JSON.stringify(contexts) });
    for (const event of [encoded, plain]) {
      expect(event).toMatchObject({
        event: 'add_to_wishlist',
        properties: { sku: 'mug' },
        event_schema: schema,
        contexts,
      });
      expect(event.context?.snowplow).not.toHaveProperty('schema');
    }
  });

  it('decodes base64url fields of any size and text, and refuses bytes that are not UTF-8', () => {
    // Prepare: data far larger than a few kilobytes, then smaller ones, non-ASCII text, and bytes
    // that are not UTF-8 (base64url of 0xff 0xfe).
    const ue = (data: Record<string, unknown>) =>
      b64({
        schema: 'iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0',
        data: { schema: 'iglu:com.acme/note/jsonschema/1-0-0', data },
      });
    const datas = [{ text: 'x'.repeat(20_000) }, { text: 'short' }, { text: 'café 🎉' }, {}];
    // Act
    const events = datas.map((data) => landed({ e: 'ue', uid: 'u', ue_px: ue(data) }));
    const refused = mapSnowplowEvent({ e: 'ue', uid: 'u', ue_px: '__4' }, { receivedAt: RECEIVED });
    // Assess
    expect(events.map((event) => event.properties)).toEqual(datas);
    expect(refused).toMatchObject({ ok: false, message: 'ue_px does not decode to UTF-8 text' });
  });

  it('refuses what cannot become an event, naming the field', () => {
    const refusal = (fields: unknown) => {
      const mapped = mapSnowplowEvent(fields, { receivedAt: RECEIVED });
      if (mapped.ok) throw new Error('expected a refusal');
      return mapped;
    };
    expect(refusal({ e: 'pv' })).toMatchObject({ code: 'missing_field', message: 'uid or duid is required' });
    expect(refusal({ uid: 'u' })).toMatchObject({ code: 'missing_field' });
    expect(refusal({ e: 'zz', uid: 'u' }).message).toContain('"zz" is not one of');
    expect(refusal({ e: 'se', uid: 'u', se_ca: 'c' })).toMatchObject({ code: 'missing_field' });
    expect(refusal({ e: 'ue', uid: 'u', ue_px: 'not base64 json' })).toMatchObject({ code: 'invalid_field' });
    expect(
      refusal({ e: 'ue', uid: 'u', ue_pr: JSON.stringify({ data: { schema: 'acme' } }) }).message,
    ).toContain('is not an Iglu URI');
    expect(refusal({ e: 'pv', uid: 'u', cx: b64({ data: 'x' }) })).toMatchObject({ code: 'invalid_field' });
  });
});

describe('readSnowplowPayload and queryFields', () => {
  it('reads payload_data of any 1-0-N version, and refuses other bodies', () => {
    const schema = 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4';
    expect(readSnowplowPayload({ schema, data: [{ e: 'pv' }] })).toEqual({ ok: true, events: [{ e: 'pv' }] });
    expect(readSnowplowPayload({ schema: 'iglu:x/y/jsonschema/1-0-0', data: [] }).ok).toBe(false);
    expect(readSnowplowPayload({ schema, data: {} }).ok).toBe(false);
  });

  it("takes a repeated query field's first value", () => {
    expect(queryFields({ e: ['pv', 'se'], uid: 'u' })).toEqual({ e: 'pv', uid: 'u' });
  });
});
