import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CreateStreamCommand, type PutRecordsCommandInput } from '@aws-sdk/client-kinesis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Collector,
  type CollectorOptions,
  ConsumerLagProbe,
  createCollector,
  type IngestResponse,
} from '../../src/collector/index.js';
import type { StreamWriter } from '../../src/core/ports.js';
import { openKinesisStream, openLocalStream } from '../../src/stream/index.js';
import { useKinesalite } from '../support/kinesalite.js';
import { readLog, textOf } from '../support/stream-records.js';
import { useTempDir } from '../support/temp.js';
import { waitFor } from '../support/wait.js';

const tempDir = useTempDir();
const kinesis = useKinesalite();
const running: Collector[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((collector) => collector.close()));
});

const event = (overrides: Record<string, unknown> = {}) => ({
  user_id: 'user_1',
  event: 'click',
  timestamp: new Date().toISOString(),
  ...overrides,
});

interface Started {
  base: string;
  collector: Collector;
  /** Every record on the embedded stream, parsed, read through a connection of its own. */
  onStream(): Promise<Record<string, unknown>[]>;
}

async function start(options: Partial<CollectorOptions> = {}): Promise<Started> {
  const streamPath = path.join(await tempDir(), 'stream');
  let stream = options.stream;
  let consumerLag = options.consumerLag;
  if (stream === undefined) {
    const local = openLocalStream(streamPath);
    await local.connect();
    // As `activity collect` does on the embedded log: the dashboard reads the consumer's checkpoints.
    const probe = new ConsumerLagProbe(local, 'activity-consumer');
    consumerLag ??= () => probe.read();
    stream = local;
  }
  const collector = await createCollector({
    warn: () => undefined,
    ...options,
    stream,
    ...(consumerLag === undefined ? {} : { consumerLag }),
  });
  running.push(collector);
  const base = await collector.listen({ port: 0 });
  return { base, collector, onStream: () => readStream(streamPath) };
}

async function readStream(streamPath: string): Promise<Record<string, unknown>[]> {
  return (await readLog(streamPath)).map((r) => JSON.parse(textOf(r)));
}

/** A collector answer: the per-event result, or the error of a request refused whole. */
interface Answer extends Partial<IngestResponse> {
  error?: string;
  message?: string;
  status?: string;
  pending_records?: number;
}

async function answerOf(response: Response): Promise<Answer> {
  return (await response.json()) as Answer;
}

function post(base: string, body: string | Buffer, headers: Record<string, string> = {}, query = '') {
  return fetch(`${base}/v1/events${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
}

describe('POST /v1/events', () => {
  it('accepts the valid events of a batch, names every rejection, and answers once they are on the stream', async () => {
    const { base, onStream } = await start();
    const body = JSON.stringify([
      event({ event: 'first' }),
      { user_id: 'user_2', event: 'no time' },
      event({ event: 'second', colour: 'red' }),
      'not an object',
      event({ event: 'third', user_id: 'user_3' }),
    ]);
    const response = await post(base, body, { 'user-agent': 'TestAgent/1.0' });
    expect(response.status).toBe(200);
    const answer = await answerOf(response);
    expect(answer.accepted).toBe(2);
    expect(answer.rejected).toEqual([
      { index: 1, code: 'missing_field', message: 'timestamp is required' },
      { index: 2, code: 'invalid_field', message: expect.stringContaining('unknown field "colour"') },
      { index: 3, code: 'not_an_object', message: 'event must be a JSON object (given string)' },
    ]);
    // Already durable: a second connection to the log sees them.
    const stored = await onStream();
    expect(stored.map((e) => e.event).sort()).toEqual(['first', 'third']);
    for (const e of stored) {
      expect(e.context).toEqual({ user_agent: 'TestAgent/1.0' });
      expect(typeof e.received_at).toBe('string');
      expect(e.event_id).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('takes one event, {"batch": [...]} with sent_at, NDJSON and text/plain (what sendBeacon sends)', async () => {
    const { base, onStream } = await start();
    expect((await post(base, JSON.stringify(event({ event: 'single' })))).status).toBe(200);
    const sentAt = new Date(Date.now() - 60_000).toISOString();
    const batch = await post(
      base,
      JSON.stringify({ batch: [event({ event: 'batched', timestamp: sentAt })], sent_at: sentAt }),
    );
    expect(await answerOf(batch)).toEqual({ accepted: 1, rejected: [] });
    const ndjson = await post(base, `${JSON.stringify(event({ event: 'line' }))}\nnot json\n`, {
      'content-type': 'application/x-ndjson',
    });
    expect(await answerOf(ndjson)).toMatchObject({
      accepted: 1,
      rejected: [{ index: 1, code: 'invalid_json' }],
    });
    const beacon = await post(base, JSON.stringify({ batch: [event({ event: 'beacon' })] }), {
      'content-type': 'text/plain;charset=UTF-8',
    });
    expect(beacon.status).toBe(200);

    const stored = await onStream();
    expect(stored.map((e) => e.event).sort()).toEqual(['batched', 'beacon', 'line', 'single']);
    // The client's clock was a minute behind the server's: the event moves to the time received.
    const batched = stored.find((e) => e.event === 'batched');
    expect(batched?.original_timestamp).toBe(sentAt);
    expect(
      Math.abs(Date.parse(batched?.timestamp as string) - Date.parse(batched?.received_at as string)),
    ).toBe(0);
  });

  it('answers 400 to a body that is not JSON, not UTF-8, empty, or has no valid event', async () => {
    const { base } = await start();
    const cases: [string | Buffer, string][] = [
      ['{"user_id": "u", ', 'invalid_json'],
      [Buffer.from([0x5b, 0x22, 0xc3, 0x28, 0x22, 0x5d]), 'invalid_utf8'],
      ['[]', 'no_events'],
      ['{"batch": {"user_id": "u"}}', 'invalid_batch'],
    ];
    for (const [body, code] of cases) {
      const response = await post(base, body);
      expect(response.status).toBe(400);
      expect(await answerOf(response)).toMatchObject({ error: code, message: expect.any(String) });
    }
    const allBad = await post(base, JSON.stringify([{ user_id: 'u' }]));
    expect(allBad.status).toBe(400);
    expect(await answerOf(allBad)).toEqual({
      accepted: 0,
      rejected: [{ index: 0, code: 'missing_field', message: 'event is required' }],
    });
  });

  it('answers 415 to a content type or encoding it does not read', async () => {
    const { base } = await start();
    const cases: Record<string, string>[] = [
      { 'content-type': 'application/xml' },
      { 'content-type': 'multipart/form-data; boundary=x' },
      { 'content-encoding': 'gzip' },
    ];
    for (const headers of cases) {
      const response = await post(base, JSON.stringify(event()), headers);
      expect(response.status).toBe(415);
      expect((await answerOf(response)).error).toMatch(/^unsupported_/);
    }
  });

  it('answers 413 to a body over the limit, and to more events than one request may carry', async () => {
    const { base } = await start({ maxBodyBytes: 4096 });
    const big = JSON.stringify(event({ properties: { text: 'x'.repeat(5000) } }));
    const response = await post(base, big);
    expect(response.status).toBe(413);
    expect(await answerOf(response)).toMatchObject({
      error: 'body_too_large',
      message: expect.stringContaining('over the limit of 4096 bytes'),
    });
    const { base: roomy } = await start();
    const many = await post(roomy, JSON.stringify(Array.from({ length: 10_001 }, () => ({}))));
    expect(many.status).toBe(413);
    expect((await answerOf(many)).error).toBe('too_many_events');
  });

  it('answers 401 without the write key or with a wrong one; takes it as a Bearer token or ?write_key=', async () => {
    const { base, onStream } = await start({ writeKey: 's3cret' });
    const body = JSON.stringify(event());
    const missing = await post(base, body);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toContain('Bearer');
    expect((await answerOf(missing)).error).toBe('missing_write_key');
    const wrong = await post(base, body, { authorization: 'Bearer guess' });
    expect(wrong.status).toBe(401);
    expect((await answerOf(wrong)).error).toBe('invalid_write_key');
    expect((await post(base, body, {}, '?write_key=guess')).status).toBe(401);
    expect((await post(base, body, { authorization: 'Bearer s3cret' })).status).toBe(200);
    expect((await post(base, body, {}, '?write_key=s3cret')).status).toBe(200);
    expect(await onStream()).toHaveLength(2);
  });

  it('refuses harmful bodies event by event and keeps serving', async () => {
    const { base, onStream } = await start();
    const deep = `${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`;
    const body = `[${[
      '{"__proto__": {"polluted": true}, "user_id": "u", "event": "e", "timestamp": 1764099072}',
      `{"user_id": "u", "event": "e", "timestamp": 1764099072, "properties": ${deep}}`,
      `{"user_id": "${'u'.repeat(300_000)}", "event": "e", "timestamp": 1764099072}`,
      `{"user_id": "u", "event": "long", "timestamp": 1764099072, "properties": {"text": "${'x'.repeat(400_000)}"}}`,
    ].join(',')}]`;
    const response = await post(base, body);
    expect(response.status).toBe(200);
    const answer = await answerOf(response);
    expect(answer.accepted).toBe(1);
    expect(answer.rejected?.map((r) => r.code)).toEqual(['forbidden_key', 'too_deep', 'invalid_field']);
    for (const r of answer.rejected ?? []) expect(r.message.length).toBeLessThan(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // Nesting a whole body 100,000 deep is one clear refusal, not a crash.
    const nestedBody = await post(base, `${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    expect(nestedBody.status).toBe(400);
    expect((await answerOf(nestedBody)).rejected?.[0]?.code).toBe('not_an_object');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const stored = await onStream();
    expect(stored.map((e) => e.event)).toEqual(['long']);
  });

  it('records the client IP in context only when asked', async () => {
    const { base, onStream } = await start({ recordClientIp: true });
    await post(base, JSON.stringify(event()), { 'user-agent': 'UA' });
    expect((await onStream())[0]?.context).toEqual({ user_agent: 'UA', ip: '127.0.0.1' });
  });
});

describe('CORS', () => {
  it('lets configured origins send from browsers, and refuses other origins with 403', async () => {
    const { base } = await start({ corsOrigins: ['https://shop.example'] });
    const preflight = await fetch(`${base}/v1/events`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://shop.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    expect(preflight.headers.get('access-control-allow-methods')).toBe('POST');
    const allowed = await post(base, JSON.stringify(event()), { origin: 'https://shop.example' });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    const other = await post(base, JSON.stringify(event()), { origin: 'https://evil.example' });
    expect(other.status).toBe(403);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    expect((await answerOf(other)).error).toBe('origin_not_allowed');
  });

  it('allows any origin by default, but never lets other sites read the dashboard or metrics', async () => {
    const { base } = await start();
    const response = await post(base, JSON.stringify(event()), { origin: 'https://anywhere.example' });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    for (const route of ['/metrics', '/dashboard/snapshot', '/healthz']) {
      const read = await fetch(`${base}${route}`, { headers: { origin: 'https://anywhere.example' } });
      expect(read.headers.get('access-control-allow-origin'), route).toBeNull();
    }
  });
});

describe('429 when the stream pushes back', () => {
  /** A Kinesis stream on kinesalite whose puts are refused, record by record, while `throttled` is set. */
  async function throttledKinesis(): Promise<{ stream: StreamWriter; control: { throttled: boolean } }> {
    const name = `collector-${Math.random().toString(36).slice(2, 8)}`;
    await kinesis.client().send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
    const client = kinesis.client();
    const control = { throttled: true };
    // kinesalite never throttles: the refusal is injected at the SDK's edge, as Kinesis would answer.
    client.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as PutRecordsCommandInput;
        if (!control.throttled || !Array.isArray(input.Records)) return next(args);
        const Records = input.Records.map(() => ({
          ErrorCode: 'ProvisionedThroughputExceededException',
          ErrorMessage: 'Rate exceeded for shard shardId-000000000000',
        }));
        return { response: {}, output: { Records, FailedRecordCount: Records.length, $metadata: {} } };
      },
      { step: 'initialize', name: 'throttleEveryPut' },
    );
    const stream = openKinesisStream(name, { client });
    await stream.connect();
    return { stream, control };
  }

  it('answers 429 with Retry-After, naming the events the stream did not take in time', async () => {
    const { stream, control } = await throttledKinesis();
    const { base, collector } = await start({
      stream,
      putTimeoutMs: 300,
      producer: { backoff: { baseMs: 20, maxMs: 50 } },
    });
    const response = await post(base, JSON.stringify([event(), event({ user_id: 'user_2' })]));
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('1');
    const answer = await answerOf(response);
    expect(answer.accepted).toBe(0);
    expect(answer.rejected).toEqual([
      {
        index: 0,
        code: 'put_timeout',
        message: expect.stringContaining('ProvisionedThroughputExceededException'),
      },
      { index: 1, code: 'put_timeout', message: expect.any(String) },
    ]);
    // Once the stream takes records again, the same request goes through.
    control.throttled = false;
    expect((await post(base, JSON.stringify([event()]))).status).toBe(200);
    expect(collector.snapshot().lag.state).toBe('unknown');
  });

  it('shows the lag a consumerLag reader gives, and its failure as not measured, with the reason', async () => {
    let fails = false;
    const { collector } = await start({
      consumerLag: async () => {
        if (fails) throw new Error('checkpoints unreadable');
        return { state: 'running', consumer: 'c', records: 7, checkpointAgeMs: 0 };
      },
    });
    expect(collector.snapshot().lag).toEqual({
      state: 'running',
      consumer: 'c',
      records: 7,
      checkpointAgeMs: 0,
    });
    fails = true;
    await expect
      .poll(() => collector.snapshot().lag, {
        interval: 100,
        timeout: 10_000,
        message: 'the collector reads the lag every 2 s: the next reading should show the failure',
      })
      .toEqual({
        state: 'unknown',
        consumer: 'c',
        message: "could not read the consumer's lag: checkpoints unreadable",
      });
  });

  it('on close, answers the requests in progress once the stream takes their events, and ends dashboards', async () => {
    const { stream, control } = await throttledKinesis();
    const { base, collector } = await start({ stream, producer: { backoff: { baseMs: 20, maxMs: 50 } } });
    const dashboard = await fetch(`${base}/dashboard/stream`);
    const inFlight = post(base, JSON.stringify([event(), event({ user_id: 'user_2' })]));
    await waitFor(
      "the request's two events to be held by the producer",
      () => collector.producer.stats.buffered + collector.producer.stats.inFlight >= 2,
      { state: () => collector.producer.stats },
    );
    const closed = collector.close();
    setTimeout(() => {
      control.throttled = false;
    }, 300);
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(await answerOf(response)).toEqual({ accepted: 2, rejected: [] });
    await closed;
    expect(collector.producer.stats).toMatchObject({ accepted: 2, failed: 0, buffered: 0, inFlight: 0 });
    // The dashboard's stream was ended, not left hanging.
    expect((await dashboard.text()).startsWith('retry: 2000')).toBe(true);
  });

  it('answers 429 at once while the producer holds its bound of records', async () => {
    const { stream, control } = await throttledKinesis();
    const { base } = await start({
      stream,
      maxPendingRecords: 3,
      putTimeoutMs: 5_000,
      producer: { backoff: { baseMs: 20, maxMs: 50 } },
    });
    const first = post(base, JSON.stringify([event(), event(), event()]));
    let health: Answer = {};
    await waitFor(
      "the first request's three records to be pending",
      async () => {
        health = await answerOf(await fetch(`${base}/healthz`));
        return health.pending_records === 3;
      },
      { state: () => health },
    );
    const second = await post(base, JSON.stringify([event()]));
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBe('1');
    expect(await answerOf(second)).toMatchObject({ error: 'backpressure' });
    control.throttled = false;
    expect((await first).status).toBe(200);
  });
});

describe('the other routes', () => {
  it('GET /healthz and GET /metrics in Prometheus text: accepted, rejected by reason, latencies', async () => {
    const { base } = await start();
    expect(await answerOf(await fetch(`${base}/healthz`))).toEqual({ status: 'ok', pending_records: 0 });
    await post(base, JSON.stringify([event(), { user_id: 'u' }]));
    await post(base, 'nope');
    const response = await fetch(`${base}/metrics`);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toContain('activity_collector_events_accepted_total 1');
    expect(text).toContain('activity_collector_events_rejected_total{reason="missing_field"} 1');
    expect(text).toMatch(
      /activity_collector_request_duration_seconds_count\{route="\/v1\/events",status="200"\} 1/,
    );
    expect(text).toMatch(
      /activity_collector_request_duration_seconds_count\{route="\/v1\/events",status="400"\} 1/,
    );
    expect(text).toContain('activity_collector_stream_put_seconds_count 1');
    expect(text).toContain('activity_collector_requests_refused_total{reason="invalid_json"} 1');
    expect(text).toContain('activity_collector_producer_pending_records 0');
    expect(text).toContain('activity_consumer_lag_records');
    expect(text).toContain('process_cpu_seconds_total');
  });

  it('serves the tracker (gzipped when asked, with an ETag), the demo and the dashboard pages', async () => {
    const { base } = await start({ writeKey: 'pk_"demo"' });
    const tracker = await fetch(`${base}/tracker.js`, { headers: { 'accept-encoding': 'identity' } });
    expect(tracker.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const source = await tracker.text();
    expect(source).toContain('sendBeacon');
    const etag = tracker.headers.get('etag') ?? '';
    expect((await fetch(`${base}/tracker.js`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    const raw = await import('node:http').then(
      (http) =>
        new Promise<Buffer>((resolve, reject) => {
          http
            .get(`${base}/tracker.js`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
              const chunks: Buffer[] = [];
              res.on('data', (chunk: Buffer) => chunks.push(chunk));
              res.on('end', () => resolve(Buffer.concat(chunks)));
            })
            .on('error', reject);
        }),
    );
    expect(gunzipSync(raw).toString('utf8')).toBe(source);

    const demo = await fetch(`${base}/demo?flush_interval=5000`);
    expect(demo.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await demo.text();
    expect(html).toContain(
      '<script src="/tracker.js" data-write-key="pk_&#34;demo&#34;" data-flush-interval="5000">',
    );
    const dashboard = await fetch(`${base}/dashboard`);
    expect(await dashboard.text()).toContain('<canvas id="chart"');
    for (const asset of ['/assets/dashboard.js', '/assets/demo.js', '/assets/dashboard.css']) {
      expect((await fetch(`${base}${asset}`)).status, asset).toBe(200);
    }
    const missing = await fetch(`${base}/nowhere`);
    expect(missing.status).toBe(404);
    expect((await answerOf(missing)).error).toBe('not_found');
  });

  it('streams dashboard snapshots as server-sent events', async () => {
    const { base } = await start();
    await post(base, JSON.stringify([event({ event: 'signup' }), { user_id: 'u' }]));
    const response = await fetch(`${base}/dashboard/stream`);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = response.body?.getReader();
    if (reader === undefined) throw new Error('no body');
    let text = '';
    while (!text.includes('\n\n', text.indexOf('data:'))) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString('utf8');
    }
    await reader.cancel();
    const data = JSON.parse(
      text.slice(text.indexOf('data:') + 5, text.indexOf('\n\n', text.indexOf('data:'))),
    );
    expect(data).toMatchObject({
      accepted: 1,
      rejected: 1,
      activeUsers: 1,
      topEvents: [{ name: 'signup', count: 1 }],
      rejectedByReason: [{ reason: 'missing_field', count: 1 }],
      lag: { state: 'none', consumer: 'activity-consumer' },
    });
  });
});
