import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { type Collector, type CollectorOptions, createCollector } from '../../src/collector/index.js';
import { openLocalStream } from '../../src/stream/index.js';
import { readLog, textOf } from '../support/stream-records.js';
import { useTempDir } from '../support/temp.js';
import { startCollect } from './collect-cli.js';

const tempDir = useTempDir();
const running: Collector[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((collector) => collector.close()));
});

async function start(options: Partial<CollectorOptions> = {}) {
  const streamPath = path.join(await tempDir(), 'stream');
  const stream = openLocalStream(streamPath);
  await stream.connect();
  const collector = await createCollector({ warn: () => undefined, ...options, stream });
  running.push(collector);
  const base = await collector.listen({ port: 0 });
  return { base, onStream: () => readStream(streamPath) };
}

async function readStream(streamPath: string): Promise<Record<string, unknown>[]> {
  return (await readLog(streamPath)).map((r) => JSON.parse(textOf(r)));
}

const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;
const track = (overrides: Record<string, unknown> = {}) => ({
  type: 'track',
  userId: 'user_1',
  event: 'Signed Up',
  messageId: `m-${Math.random()}`,
  timestamp: new Date().toISOString(),
  ...overrides,
});

async function send(
  base: string,
  route: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
) {
  const response = await fetch(`${base}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

async function metric(base: string, name: string, reason: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{reason="${reason}"}`));
  return Number(line?.split(' ')[1] ?? 0);
}

describe("Segment's HTTP API", () => {
  it('takes the write key as the Basic user name or the body writeKey, and refuses others with 401', async () => {
    const { base, onStream } = await start({ writeKey: 'wk-1' });
    const body = JSON.stringify(track());
    expect((await send(base, '/v1/track', body)).status).toBe(401);
    expect((await send(base, '/v1/track', body, { authorization: basic('wrong') })).status).toBe(401);
    expect((await send(base, '/v1/track', body, { authorization: basic('wk-1') })).body).toEqual({
      success: true,
      accepted: 1,
      rejected: [],
    });
    const inBody = JSON.stringify({ batch: [track()], writeKey: 'wk-1' });
    expect((await send(base, '/v1/batch', inBody)).status).toBe(200);
    expect(await onStream()).toHaveLength(2);
    expect(await metric(base, 'activity_collector_requests_refused_total', 'invalid_write_key')).toBe(1);
  });

  it('reads text/plain and gzip bodies, on the long and the short paths', async () => {
    const { base, onStream } = await start();
    const plain = await send(base, '/v1/p', JSON.stringify({ anonymousId: 'a-1', name: 'Home' }), {
      'content-type': 'text/plain',
    });
    expect(plain.status).toBe(200);
    const zipped = gzipSync(
      JSON.stringify({ batch: [track(), track({ type: 'identify', event: undefined })] }),
    );
    const batch = await send(base, '/v1/import', zipped, { 'content-encoding': 'gzip' });
    expect(batch.body).toMatchObject({ accepted: 2 });
    expect((await onStream()).map((e) => e.event).sort()).toEqual(['Signed Up', 'identify', 'page_view']);
  });

  it('answers 200 naming each rejected message, 400 when none is valid or the body is not JSON', async () => {
    const { base } = await start();
    const mixed = JSON.stringify({
      batch: [track(), { type: 'track', event: 'x' }, track({ type: 'shout' })],
    });
    const answer = await send(base, '/v1/batch', mixed);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      success: true,
      accepted: 1,
      rejected: [
        { index: 1, code: 'missing_field', message: 'userId or anonymousId is required' },
        { index: 2, code: 'invalid_field' },
      ],
    });
    expect((await send(base, '/v1/batch', JSON.stringify({ batch: [{ type: 'track' }] }))).status).toBe(400);
    expect((await send(base, '/v1/track', '{"userId": ')).body).toMatchObject({ error: 'invalid_json' });
    expect((await send(base, '/v1/batch', '{"batch": 3}')).body).toMatchObject({ error: 'invalid_batch' });
    expect(await metric(base, 'activity_collector_events_rejected_total', 'missing_field')).toBe(2);
    expect(await metric(base, 'activity_collector_requests_refused_total', 'invalid_json')).toBe(1);
  });

  it('refuses the messages that would not land as sent: an unsafe number, a lone surrogate', async () => {
    const { base, onStream } = await start();
    // Written as text: a JavaScript number cannot hold 2^64 + 1, which is the point.
    const body = `{"batch": [
      {"type": "track", "userId": "u", "event": "ok", "messageId": "m-ok"},
      {"type": "track", "userId": "u", "event": "big", "properties": {"id": 18446744073709551617}},
      {"type": "identify", "userId": "u", "traits": {"name": "\\ud800"}},
      {"type": "track", "userId": "u", "event": "big-in-other", "extra": {"n": 18446744073709551617}},
      {"type": "identify", "userId": "u", "traits": {"n": 18446744073709551617}}
    ]}`;
    const answer = await send(base, '/v1/batch', body);
    expect(answer.body).toMatchObject({
      accepted: 1,
      rejected: [
        { index: 1, code: 'unsafe_number' },
        { index: 2, code: 'invalid_unicode' },
        { index: 3, code: 'unsafe_number' },
        { index: 4, code: 'unsafe_number' },
      ],
    });
    const messages = (answer.body as { rejected: { message: string }[] }).rejected.map((r) => r.message);
    expect(messages[1]).toContain('traits.name');
    expect(messages[3]).toContain('traits.n is 18446744073709551617');
    expect((await onStream()).map((e) => e.event_id)).toEqual(['m-ok']);
  });

  it('takes the limit of a message from activity collect --segment-max-message', async () => {
    const { base, stop } = await startCollect([
      '--stream',
      path.join(await tempDir(), 's'),
      '--segment-max-message',
      '2000',
    ]);
    try {
      const message = (size: number) => JSON.stringify(track({ properties: { text: 'x'.repeat(size) } }));
      expect((await send(base, '/v1/track', message(1_000))).status).toBe(200);
      expect((await send(base, '/v1/track', message(3_000))).body).toMatchObject({ error: 'body_too_large' });
    } finally {
      await stop();
    }
  });

  it("enforces Segment's limits: 413 over the batch or call limit, one rejection for an oversize message", async () => {
    const { base } = await start({ segmentMaxMessageBytes: 2_000, segmentMaxBatchBytes: 10_000 });
    const big = track({ properties: { text: 'x'.repeat(3_000) } });
    const batch = await send(base, '/v1/batch', JSON.stringify({ batch: [track(), big] }));
    expect(batch.body).toMatchObject({ accepted: 1, rejected: [{ index: 1, code: 'message_too_large' }] });
    expect((await send(base, '/v1/track', JSON.stringify(big))).status).toBe(413);
    const huge = JSON.stringify({
      batch: Array.from({ length: 8 }, () => track({ properties: { t: 'y'.repeat(1_500) } })),
    });
    expect((await send(base, '/v1/batch', huge)).status).toBe(413);
    // Decompressed bytes count: a small gzip body that inflates past the limit is refused too.
    const bomb = await send(base, '/v1/batch', gzipSync(huge), { 'content-encoding': 'gzip' });
    expect(bomb).toMatchObject({ status: 413, body: { error: 'body_too_large' } });
  });
});

describe("Snowplow's tracker protocol", () => {
  const schema = 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4';

  it('takes POST tp2 and GET /i (answered with a GIF), and names rejected events', async () => {
    const { base, onStream } = await start();
    const now = String(Date.now());
    const posted = await send(
      base,
      '/com.snowplowanalytics.snowplow/tp2',
      JSON.stringify({ schema, data: [{ e: 'pv', eid: 'e-1', uid: 'u', dtm: now, stm: now }, { e: 'pv' }] }),
      { 'content-type': 'application/json; charset=UTF-8' },
    );
    expect(posted.body).toMatchObject({ accepted: 1, rejected: [{ index: 1, code: 'missing_field' }] });
    const pixel = await fetch(`${base}/i?e=se&se_ca=shop&se_ac=buy&duid=d-1&eid=e-2&dtm=${now}`);
    expect(pixel.status).toBe(200);
    expect(pixel.headers.get('content-type')).toBe('image/gif');
    expect((await pixel.arrayBuffer()).byteLength).toBeGreaterThan(0);
    const refused = await fetch(`${base}/i?e=se&duid=d-1`);
    expect(refused.status).toBe(400);
    expect((await onStream()).map((e) => [e.event_id, e.event])).toEqual(
      expect.arrayContaining([
        ['e-1', 'page_view'],
        ['e-2', 'buy'],
      ]),
    );
  });

  it('refuses events whose self-describing data would not land as sent', async () => {
    const { base } = await start();
    const ue = (data: string) =>
      `{"schema": "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0", "data": {"schema": "iglu:com.acme/x/jsonschema/1-0-0", "data": ${data}}}`;
    const events = [
      { e: 'ue', uid: 'u', ue_pr: ue('{"n": 1}') },
      { e: 'ue', uid: 'u', ue_px: Buffer.from(ue('{"n": 18446744073709551617}')).toString('base64url') },
      { e: 'ue', uid: 'u', ue_pr: ue('{"s": "\\udc00"}') },
    ];
    const answer = await send(
      base,
      '/com.snowplowanalytics.snowplow/tp2',
      JSON.stringify({ schema, data: events }),
    );
    expect(answer.body).toMatchObject({
      accepted: 1,
      rejected: [
        { index: 1, code: 'unsafe_number' },
        { index: 2, code: 'invalid_unicode' },
      ],
    });
    expect((answer.body as { rejected: { message: string }[] }).rejected[0]?.message).toContain(
      'properties.n',
    );
  });

  it('refuses events whose fields kept as sent would not land as sent, whatever else the body holds', async () => {
    // Prepare: the numbers are written in the body's text, as a tracker would send them.
    const { base, onStream } = await start();
    const event = (n: number, extra: string) =>
      `{"e": "pv", "eid": "e-${n}", "uid": "u", "res": "1920x1080"${extra}}`;
    const body = `{"schema": "${schema}", "data": [${[
      event(0, ', "seq": 7'),
      event(1, ', "seq": 18446744073709551617'),
      event(2, ', "cd": "24", "uid": "\\udc00"'),
      event(3, ', "ratio": 1e400'),
    ].join(', ')}]}`;
    // Act
    const answer = await send(base, '/com.snowplowanalytics.snowplow/tp2', body);
    // Assess
    expect(answer.body).toMatchObject({
      accepted: 1,
      rejected: [
        { index: 1, code: 'unsafe_number' },
        { index: 2, code: 'invalid_unicode' },
        { index: 3, code: 'unsafe_number' },
      ],
    });
    expect((answer.body as { rejected: { message: string }[] }).rejected[0]?.message).toContain(
      'context.snowplow.fields.seq',
    );
    const [landed] = await onStream();
    expect(landed?.context).toMatchObject({ snowplow: { fields: { res: '1920x1080', seq: 7 } } });
  });

  it('keeps no client IP for a tracker that asks for anonymity with SP-Anonymous', async () => {
    const { base, onStream } = await start({ recordClientIp: true });
    const body = JSON.stringify({ schema, data: [{ e: 'pv', uid: 'u', eid: 'named' }] });
    const tp2 = '/com.snowplowanalytics.snowplow/tp2';
    expect((await send(base, tp2, body)).status).toBe(200);
    expect((await send(base, tp2, body.replace('named', 'anonymous'), { 'sp-anonymous': '*' })).status).toBe(
      200,
    );
    const ips = Object.fromEntries(
      (await onStream()).map((e) => [e.event_id, (e.context as { ip?: string }).ip ?? null]),
    );
    expect(ips).toEqual({ named: '127.0.0.1', anonymous: null });
  });

  it('answers the preflight of a credentialed browser request, for allowed origins only', async () => {
    const { base } = await start({ corsOrigins: ['https://shop.example'] });
    const preflight = (origin: string) =>
      fetch(`${base}/com.snowplowanalytics.snowplow/tp2`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type',
        },
      });
    const allowed = await preflight('https://shop.example');
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
    expect((await preflight('https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
    // Our own route keeps its answer: no credentials.
    const ours = await fetch(`${base}/v1/events`, {
      method: 'OPTIONS',
      headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST' },
    });
    expect(ours.headers.get('access-control-allow-credentials')).toBeNull();
  });
});
