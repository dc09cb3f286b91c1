import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { CreateStreamCommand, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpRequest, httpApiEvent } from '../support/api-gateway.js';
import { runCli } from '../support/cli.js';
import {
  collectorLambdaEnv,
  type InvokeResult,
  type RunningCollectorLambda,
  startCollectorLambda,
} from '../support/collector-lambda.js';
import { useKinesalite } from '../support/kinesalite.js';
import { NODE_22, versionOf } from '../support/lambda-bundle.js';
import { readLanded } from '../support/landed.js';
import { type SecretsManagerStandIn, startSecretsManager } from '../support/secrets-manager.js';
import { startStallingProxy } from '../support/stalling-proxy.js';
import { useTempDir } from '../support/temp.js';
import { startThrottlingKinesis, type ThrottlingKinesis } from '../support/throttling-kinesis.js';
import { type RunningCollector, startCollect } from './collect-cli.js';

const tempDir = useTempDir();
const kinesis = useKinesalite();
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:activity-write-key-AbCdEf';
const WRITE_KEY = 'wk-lambda-7f3a9c';
const USER_AGENT = 'lambda-test/1.0';
const basic = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`;
const bearer = `Bearer ${WRITE_KEY}`;

let secrets: SecretsManagerStandIn;
beforeAll(async () => {
  secrets = await startSecretsManager({ [SECRET_ARN]: WRITE_KEY });
});
afterAll(async () => {
  await secrets?.close();
});

/** The function's environment as the CDK app sets it, with the AWS endpoints pointed at the local engines. */
function lambdaEnv(kinesisEndpoint: string, extra: Record<string, string> = {}): Record<string, string> {
  return collectorLambdaEnv({
    streamName: 'lambda',
    secretArn: SECRET_ARN,
    kinesisEndpoint,
    secretsEndpoint: secrets.endpoint,
    extra: { AWS_LAMBDA_FUNCTION_NAME: 'activity-collector', ...extra },
  });
}

const json = (value: unknown) => JSON.stringify(value);
const T0 = Date.parse('2026-11-20T10:00:00.000Z');
const iso = (offsetMs: number) => new Date(T0 + offsetMs).toISOString();

/** One request of each route and protocol, each with what the client would set. */
const REQUESTS: { name: string; request: HttpRequest }[] = [
  {
    name: 'ours: POST /v1/events, a batch with one invalid event',
    request: {
      method: 'POST',
      url: '/v1/events',
      headers: { 'content-type': 'application/json', authorization: bearer, 'user-agent': USER_AGENT },
      body: json([
        { event_id: 'ours-1', user_id: 'user_1', event: 'click', timestamp: iso(0), properties: { x: 1 } },
        { event_id: 'ours-2', user_id: 'user_2', event: 'view', timestamp: iso(1000) },
        { event_id: 'ours-3', event: 'no-user', timestamp: iso(2000) },
      ]),
    },
  },
  {
    name: 'ours: POST /v1/events, NDJSON',
    request: {
      method: 'POST',
      url: '/v1/events?write_key=wk-lambda-7f3a9c',
      headers: { 'content-type': 'application/x-ndjson', 'user-agent': USER_AGENT },
      body: `${json({ event_id: 'nd-1', user_id: 'user_3', event: 'scroll', timestamp: iso(3000) })}\n{broken\n`,
    },
  },
  {
    name: 'Segment: POST /v1/batch',
    request: {
      method: 'POST',
      url: '/v1/batch',
      headers: { 'content-type': 'application/json', authorization: basic, 'user-agent': USER_AGENT },
      body: json({
        batch: [
          {
            type: 'track',
            messageId: 'seg-1',
            userId: 'user_4',
            event: 'Order Completed',
            properties: { total: 9 },
            timestamp: iso(4000),
          },
          {
            type: 'identify',
            messageId: 'seg-2',
            userId: 'user_4',
            traits: { plan: 'pro' },
            timestamp: iso(5000),
          },
          { type: 'page', messageId: 'seg-3', anonymousId: 'anon_4', name: 'Pricing', timestamp: iso(6000) },
        ],
        context: { library: { name: 'analytics-node', version: '3.1.0' } },
      }),
    },
  },
  {
    name: 'Segment: one call, gzipped text/plain with the key in the body (the browser library)',
    request: {
      method: 'POST',
      url: '/v1/t',
      headers: { 'content-type': 'text/plain', 'content-encoding': 'gzip', 'user-agent': USER_AGENT },
      body: gzipSync(
        json({
          writeKey: WRITE_KEY,
          messageId: 'seg-4',
          userId: 'user_5',
          event: 'Signed Up',
          timestamp: iso(7000),
        }),
      ),
    },
  },
  {
    name: 'Snowplow: POST tp2',
    request: {
      method: 'POST',
      url: '/com.snowplowanalytics.snowplow/tp2',
      headers: {
        'content-type': 'application/json; charset=UTF-8',
        authorization: bearer,
        'user-agent': USER_AGENT,
        origin: 'https://shop.example',
      },
      body: json({
        schema: 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4',
        data: [
          {
            e: 'pv',
            eid: 'sp-1',
            ttm: String(T0 + 8000),
            uid: 'user_6',
            url: 'https://shop.example/cart',
            page: 'Cart',
            aid: 'shop',
            p: 'web',
            tv: 'js-4.0.0',
          },
          {
            e: 'se',
            eid: 'sp-2',
            ttm: String(T0 + 9000),
            uid: 'user_6',
            se_ca: 'shop',
            se_ac: 'add',
            se_va: '2',
            aid: 'shop',
            p: 'web',
            tv: 'js-4.0.0',
          },
        ],
      }),
    },
  },
  {
    name: 'Snowplow: GET /i, a comma in the URL and a repeated key',
    request: {
      method: 'GET',
      url: `/i?e=pv&eid=sp-3&ttm=${T0 + 10_000}&uid=user_7&url=${encodeURIComponent('https://shop.example/a,b?c=1')}&page=A%2C%20B&aid=shop&p=web&tv=js-4.0.0&write_key=${WRITE_KEY}&tna=sp&tna=sp2`,
      headers: { 'user-agent': USER_AGENT },
    },
  },
  {
    name: 'the tracker script, gzipped',
    request: {
      method: 'GET',
      url: '/tracker.js',
      headers: { 'user-agent': USER_AGENT, 'accept-encoding': 'gzip' },
    },
  },
  {
    name: 'a CORS preflight',
    request: {
      method: 'OPTIONS',
      url: '/v1/events',
      headers: {
        origin: 'https://shop.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,authorization',
      },
    },
  },
  {
    name: 'a wrong write key',
    request: {
      method: 'POST',
      url: '/v1/batch',
      headers: {
        'content-type': 'application/json',
        authorization: `Basic ${Buffer.from('nope:').toString('base64')}`,
      },
      body: json({ batch: [{ type: 'track', userId: 'u', event: 'e' }] }),
    },
  },
];

/** What a client sees of an answer: status, the headers that carry meaning, and the body's bytes. */
interface Seen {
  status: number;
  headers: Record<string, string | undefined>;
  body: string;
}

const MEANINGFUL_HEADERS = [
  'content-type',
  'content-encoding',
  'retry-after',
  'www-authenticate',
  'cache-control',
  'etag',
  'access-control-allow-origin',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'access-control-allow-credentials',
  'access-control-max-age',
];

function seenOfLambda(result: InvokeResult): Seen {
  const headers = Object.fromEntries(
    MEANINGFUL_HEADERS.map((name) => [
      name,
      result.headers?.[name] === undefined ? undefined : String(result.headers[name]),
    ]),
  );
  const bytes = Buffer.from(result.body ?? '', result.isBase64Encoded ? 'base64' : 'utf8');
  return { status: result.statusCode ?? 0, headers, body: bytes.toString('base64') };
}

async function seenOfHttp(base: string, request: HttpRequest): Promise<Seen> {
  const response = await fetch(`${base}${request.url}`, {
    method: request.method,
    headers: request.headers as Record<string, string>,
    ...(request.body === undefined ? {} : { body: request.body }),
  });
  const headers = Object.fromEntries(
    MEANINGFUL_HEADERS.map((name) => [name, response.headers.get(name) ?? undefined]),
  );
  // fetch decodes gzip: the collector's own bytes are what the function returns, so compare decoded.
  const body = Buffer.from(await response.arrayBuffer()).toString('base64');
  delete headers['content-encoding'];
  return { status: response.status, headers, body };
}

/** The function's answer as a client behind API Gateway gets it, with a gzipped body decoded as fetch does. */
function decoded(seen: Seen): Seen {
  if (seen.headers['content-encoding'] !== 'gzip') return seen;
  const headers = { ...seen.headers };
  delete headers['content-encoding'];
  return { ...seen, headers, body: gunzipSync(Buffer.from(seen.body, 'base64')).toString('base64') };
}

function withoutJsonSyntaxDetail(seen: Seen): Seen {
  if (!seen.headers['content-type']?.startsWith('application/json')) return seen;
  const text = Buffer.from(seen.body, 'base64').toString('utf8');
  const plain = text.replace(/(is not valid JSON): [^"]*/g, '$1');
  return { ...seen, body: Buffer.from(plain).toString('base64') };
}

/** Lands a Kinesis stream of kinesalite with `activity consume` into a fresh sink; returns the sink. */
async function consume(stream: string): Promise<string> {
  const dir = await tempDir();
  const sink = path.join(dir, 'sink');
  const result = await runCli(
    ['consume', '--stream', `kinesis://${stream}`, '--sink', sink, '--until-idle'],
    {
      env: { AWS_ENDPOINT_URL_KINESIS: kinesis.endpoint },
      cwd: dir,
    },
  );
  expect(result.code, result.stderr).toBe(0);
  return sink;
}

/** Landed events without the one field that differs between two runs: when each was received. */
async function landedEvents(sink: string) {
  const { events, errors } = await readLanded(sink);
  expect(errors).toEqual([]);
  return events
    .map(({ received_at: _received, ...rest }) => rest)
    .sort((a, b) => String(a.event_id).localeCompare(String(b.event_id)));
}

/** The events on the one shard of a kinesalite stream, as the function put them. */
async function eventsOn(stream: string): Promise<Record<string, unknown>[]> {
  const client = kinesis.client();
  const { ShardIterator } = await client.send(
    new GetShardIteratorCommand({
      StreamName: stream,
      ShardId: 'shardId-000000000000',
      ShardIteratorType: 'TRIM_HORIZON',
    }),
  );
  const { Records } = await client.send(new GetRecordsCommand({ ShardIterator }));
  client.destroy();
  return (Records ?? []).map((record) => JSON.parse(Buffer.from(record.Data ?? []).toString('utf8')));
}

async function recordsOn(stream: string): Promise<number> {
  return (await eventsOn(stream)).length;
}

describe('the collector function, its bundle alone on Node.js 22, invoked with API Gateway HTTP API events', () => {
  let fn: RunningCollectorLambda | undefined;
  let local: RunningCollector | undefined;
  afterAll(async () => {
    await fn?.close();
    if (local?.child.exitCode === null) await local.stop();
  });

  it('answers every route and protocol as activity collect does, and its events land the same', async () => {
    // Prepare: one stream for the function, one for `activity collect`, both on kinesalite.
    expect(versionOf(NODE_22)).toMatch(/^v22\./);
    for (const name of ['lambda', 'local']) {
      await kinesis.client().send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
    }
    fn = await startCollectorLambda(await tempDir(), lambdaEnv(kinesis.endpoint));
    expect((await readdir(fn.folder)).sort()).toEqual(['assets', 'index.mjs', 'index.mjs.map']);
    local = await startCollect(['--stream', 'kinesis://local', '--write-key', WRITE_KEY], {
      env: { AWS_ENDPOINT_URL_KINESIS: kinesis.endpoint },
    });

    // Act: each request to both.
    for (const [i, { name, request }] of REQUESTS.entries()) {
      const fromLambda = decoded(seenOfLambda(await fn.invoke(httpApiEvent(request))));
      if (i === 0) {
        // Answered 200 only once the stream has the records: they are readable before any other call.
        expect(fromLambda.status, fn.stderr).toBe(200);
        expect(await recordsOn('lambda')).toBe(2);
      }
      const fromLocal = await seenOfHttp(local.base, request);
      // Assess: the same answer, byte for byte (but V8's words for a JSON syntax error, which differ
      // between Node.js 22 and the Node.js running `activity collect`).
      expect(withoutJsonSyntaxDetail(fromLambda), name).toEqual(withoutJsonSyntaxDetail(fromLocal));
    }
    expect(fn.stderr).toBe('');
    expect(fn.firstAnswerMs).toBeGreaterThan(0);

    // The write key was read once, from the secret named by its ARN, and never written out.
    expect(secrets.calls).toEqual([SECRET_ARN]);
    expect(fn.stdout).not.toContain(WRITE_KEY);

    // Each request's figures as EMF: rejections by reason among them.
    const emf = fn.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
    expect(emf.filter((line) => line.Requests === 1)).toHaveLength(REQUESTS.length);
    expect(emf).toContainEqual(expect.objectContaining({ Reason: 'invalid_write_key', RequestsRefused: 1 }));
    expect(emf).toContainEqual(expect.objectContaining({ Reason: 'invalid_json', EventsRejected: 1 }));
    expect(emf.reduce((sum, line) => sum + (line.EventsAccepted ?? 0), 0)).toBe(10);

    // The events land through the consumer exactly as from activity collect.
    const stopped = await local.stop();
    expect(stopped.code, stopped.stderr).toBe(0);
    const fromLambda = await landedEvents(await consume('lambda'));
    const fromLocal = await landedEvents(await consume('local'));
    expect(fromLambda.map((e) => e.event_id)).toEqual([
      'nd-1',
      'ours-1',
      'ours-2',
      'seg-1',
      'seg-2',
      'seg-3',
      'seg-4',
      'sp-1',
      'sp-2',
      'sp-3',
    ]);
    expect(fromLambda).toEqual(fromLocal);
  });
});

describe("the collector function and the client's address", () => {
  const SOURCES = ['198.51.100.23', '2001:db8:85a3:8d3::1'];
  const EXPECTED = {
    keep: SOURCES,
    anonymize: ['198.51.100.0', '2001:db8:85a3::'],
    drop: [undefined, undefined],
  };

  it('keeps it, keeps only its network (IPv4 /24, IPv6 /48) or drops it, as CLIENT_IP says', async () => {
    for (const [mode, expected] of Object.entries(EXPECTED)) {
      const stream = `ip-${mode}`;
      await kinesis.client().send(new CreateStreamCommand({ StreamName: stream, ShardCount: 1 }));
      const fn = await startCollectorLambda(
        await tempDir(),
        lambdaEnv(kinesis.endpoint, { STREAM_NAME: stream, CLIENT_IP: mode }),
      );
      try {
        for (const [i, sourceIp] of SOURCES.entries()) {
          const answer = await fn.invoke(
            httpApiEvent({
              method: 'POST',
              url: '/v1/events',
              headers: { 'content-type': 'application/json', authorization: bearer },
              body: json({ event_id: `${mode}-${i}`, user_id: 'user_1', event: 'click', timestamp: iso(0) }),
              sourceIp,
            }),
          );
          expect(answer.statusCode, `${mode} ${sourceIp}: ${answer.body ?? answer.thrown}`).toBe(200);
        }
      } finally {
        await fn.close();
      }
      const ips = (await eventsOn(stream)).map((event) => (event.context as { ip?: string }).ip);
      expect(ips, mode).toEqual(expected);
    }
  });
});

describe('the collector function when Kinesis throttles', () => {
  let fn: RunningCollectorLambda | undefined;
  let proxy: ThrottlingKinesis | undefined;
  afterAll(async () => {
    await fn?.close();
    await proxy?.close();
  });

  it('answers 429 with Retry-After while PutRecords is throttled, per record or whole, and 200 once it passes', async () => {
    await kinesis.client().send(new CreateStreamCommand({ StreamName: 'throttled', ShardCount: 1 }));
    proxy = await startThrottlingKinesis(kinesis.endpoint);
    fn = await startCollectorLambda(
      await tempDir(),
      lambdaEnv(proxy.endpoint, { STREAM_NAME: 'throttled', PUT_TIMEOUT_MS: '400' }),
    );
    const send = (messageId: string) =>
      fn?.invoke(
        httpApiEvent({
          method: 'POST',
          url: '/v1/batch',
          headers: { 'content-type': 'application/json', authorization: basic },
          body: json({ batch: [{ type: 'track', messageId, userId: 'user_1', event: 'Clicked' }] }),
        }),
      ) as Promise<InvokeResult>;

    for (const mode of ['records', 'call'] as const) {
      proxy.throttle(mode);
      const answer = await send(`m-${mode}`);
      expect(answer.statusCode, `${mode}: ${answer.body}`).toBe(429);
      expect(answer.headers?.['retry-after']).toBe('1');
      expect(JSON.parse(answer.body ?? '{}')).toMatchObject({
        success: false,
        accepted: 0,
        rejected: [{ index: 0, code: 'put_timeout' }],
      });
    }
    expect(proxy.throttled).toBeGreaterThanOrEqual(2);

    proxy.throttle('off');
    const answer = await send('m-after');
    expect(answer.statusCode, answer.body).toBe(200);
    expect(await recordsOn('throttled')).toBe(1);
    const emf = fn.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
    expect(emf.filter((line) => line.Throttled === 1)).toHaveLength(2);
  });

  it('answers 503 in time when Kinesis stops answering, well inside the function’s timeout', async () => {
    await kinesis.client().send(new CreateStreamCommand({ StreamName: 'stalled', ShardCount: 1 }));
    const stalling = await startStallingProxy(kinesis.endpoint);
    const stalled = await startCollectorLambda(
      await tempDir(),
      lambdaEnv(stalling.endpoint, { STREAM_NAME: 'stalled', PUT_TIMEOUT_MS: '400' }),
    );
    try {
      stalling.hold();
      const answer = await stalled.invoke(
        httpApiEvent({
          method: 'POST',
          url: '/v1/events',
          headers: { 'content-type': 'application/json', authorization: bearer },
          body: json({ event_id: 'stalled-1', user_id: 'user_1', event: 'click', timestamp: Date.now() }),
        }),
      );
      // A stream that does not answer is down, not pushing back: 503, which senders retry later.
      expect(answer.statusCode, answer.body).toBe(503);
      expect(answer.headers?.['retry-after']).toBe('1');
      expect(JSON.parse(answer.body ?? '{}').rejected).toMatchObject([
        { index: 0, code: 'stream_unavailable' },
      ]);
    } finally {
      stalling.release();
      await stalled.close();
      await stalling.close();
    }
  });
});
