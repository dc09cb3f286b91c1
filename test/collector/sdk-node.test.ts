import path from 'node:path';
import { CreateStreamCommand } from '@aws-sdk/client-kinesis';
import Analytics from '@rudderstack/rudder-sdk-node';
import { Analytics as SegmentAnalytics } from '@segment/analytics-node';
import {
  buildPageView,
  buildSelfDescribingEvent,
  buildStructEvent,
  newTracker,
} from '@snowplow/node-tracker';
import { afterEach, describe, expect, it } from 'vitest';
import { startTcpProxy, type TcpProxy } from '../faults/tcp-proxy.js';
import { runCli } from '../support/cli.js';
import { useKinesalite } from '../support/kinesalite.js';
import { readLanded } from '../support/landed.js';
import { type StallingProxy, startStallingProxy } from '../support/stalling-proxy.js';
import { useTempDir } from '../support/temp.js';
import { waitFor } from '../support/wait.js';
import { type RunningCollector, startCollect } from './collect-cli.js';

const tempDir = useTempDir();
const kinesis = useKinesalite();
const started: RunningCollector[] = [];
const proxies: StallingProxy[] = [];
const tcpProxies: TcpProxy[] = [];
afterEach(async () => {
  // A stalled or failing stream would hold the collector's shutdown: let it answer first.
  for (const proxy of proxies) proxy.release();
  for (const proxy of tcpProxies) proxy.mode = 'pass';
  for (const collector of started.splice(0)) if (collector.child.exitCode === null) await collector.stop();
  for (const proxy of [...proxies.splice(0), ...tcpProxies.splice(0)]) await proxy.close();
});

/** `activity collect` on an embedded log in a fresh directory. */
async function collectLocally(args: string[] = []) {
  const dir = await tempDir();
  const stream = path.join(dir, 'stream');
  const collector = await startCollect(['--stream', stream, ...args]);
  started.push(collector);
  return { dir, stream, collector };
}

/** Stops the collector (landing what it accepted on the stream), then lands the stream with `activity consume`. */
async function stopAndConsume(
  collector: RunningCollector,
  stream: string,
  sink: string,
  env: NodeJS.ProcessEnv = {},
): Promise<void> {
  const stopped = await collector.stop();
  expect(stopped.code, stopped.stderr).toBe(0);
  // In the sink's folder: a Kinesis stream's checkpoints are kept under the working directory.
  const consumed = await runCli(['consume', '--stream', stream, '--sink', sink, '--until-idle'], {
    env,
    cwd: path.dirname(sink),
  });
  expect(consumed.code, consumed.stderr).toBe(0);
}

/** Rows of `activity query --output json`. */
async function query(sink: string, sql: string): Promise<Record<string, unknown>[]> {
  const result = await runCli(['query', '--sink', sink, '--output', 'json', sql]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
}

describe('@segment/analytics-node, unchanged, with host set to activity collect', () => {
  it('lands all six call types; a batch refused while the stream stalls is retried and lands once', async () => {
    // Prepare: the collector puts on a Kinesis stream (kinesalite) through a proxy the test can stall,
    // and answers 429 once more records wait for the stream than --max-pending allows.
    await kinesis.client().send(new CreateStreamCommand({ StreamName: 'segment', ShardCount: 1 }));
    const proxy = await startStallingProxy(kinesis.endpoint);
    proxies.push(proxy);
    const dir = await tempDir();
    const collector = await startCollect(
      ['--stream', 'kinesis://segment', '--write-key', 'wk-node', '--max-pending', '10'],
      { env: { AWS_ENDPOINT_URL_KINESIS: proxy.endpoint } },
    );
    started.push(collector);
    const analytics = new SegmentAnalytics({
      writeKey: 'wk-node',
      host: collector.base,
      flushAt: 6,
      flushInterval: 60_000,
      httpRequestTimeout: 1_000,
    });
    const statuses: number[] = [];
    analytics.on('http_response', (response) => statuses.push(response.status));

    // Act: the stream stops answering, then the six calls go out as one batch. The collector has put the
    // batch's records but hears nothing back; the library gives up on the request after 1 s and sends it
    // again with the same messageIds; with 6 records still waiting, 6 more would pass --max-pending 10,
    // so the collector answers 429 with Retry-After, and the library waits, then sends a third time.
    proxy.hold();
    analytics.track({
      userId: 'user_1',
      event: 'Order Completed',
      properties: { total: 30, currency: 'EUR' },
      integrations: { Amplitude: false },
    });
    analytics.identify({ userId: 'user_1', traits: { plan: 'pro' } });
    analytics.page({ anonymousId: 'anon_1', name: 'Pricing', properties: { path: '/pricing' } });
    analytics.screen({ userId: 'user_1', name: 'Home' });
    analytics.group({ userId: 'user_1', groupId: 'acme', traits: { seats: 12 } });
    analytics.alias({ userId: 'user_1', previousId: 'anon_1' });
    await waitFor('a 429 from the collector while the stream stalls', () => statuses.includes(429), {
      state: () => statuses,
    });
    proxy.release();
    await analytics.closeAndFlush({ timeout: 30_000 });
    // Refused with 429 until the stalled put had its answer (once, unless the resend came first), then 200.
    expect(statuses.at(-1)).toBe(200);
    expect(new Set(statuses.slice(0, -1))).toEqual(new Set([429]));

    const sink = path.join(dir, 'sink');
    await stopAndConsume(collector, 'kinesis://segment', sink, {
      AWS_ENDPOINT_URL_KINESIS: kinesis.endpoint,
    });

    // Assess: the stalled put and the last send both landed (12 records); the events view keeps one of each.
    const { events: raw, errors } = await readLanded(sink);
    expect(errors).toEqual([]);
    expect(raw).toHaveLength(12);
    const rows = await query(
      sink,
      `SELECT event, user_id, properties, traits, group_id, previous_id, anonymous_id,
              integrations->'Amplitude' AS amplitude
       FROM events ORDER BY event`,
    );
    expect(rows).toEqual([
      expect.objectContaining({
        event: 'Order Completed',
        user_id: 'user_1',
        properties: { total: 30, currency: 'EUR' },
        amplitude: false,
      }),
      expect.objectContaining({ event: 'alias', user_id: 'user_1', previous_id: 'anon_1' }),
      expect.objectContaining({ event: 'group', user_id: 'user_1', group_id: 'acme', traits: { seats: 12 } }),
      expect.objectContaining({ event: 'identify', user_id: 'user_1', traits: { plan: 'pro' } }),
      expect.objectContaining({
        event: 'page_view',
        user_id: 'anon_1',
        anonymous_id: 'anon_1',
        properties: { path: '/pricing', name: 'Pricing' },
      }),
      expect.objectContaining({ event: 'screen_view', user_id: 'user_1', properties: { name: 'Home' } }),
    ]);
  });
});

describe('@segment/analytics-node when the stream is down', () => {
  it('is answered 503 while Kinesis fails, retries the batch, and it lands once', async () => {
    // Prepare: the collector puts on kinesalite through a proxy that can answer every Kinesis call with
    // HTTP 503, as a failing service does; a put waits at most 1.5 s for the stream.
    await kinesis.client().send(new CreateStreamCommand({ StreamName: 'down', ShardCount: 1 }));
    const { hostname, port } = new URL(kinesis.endpoint);
    const proxy = await startTcpProxy({ host: hostname, port: Number(port) });
    tcpProxies.push(proxy);
    const dir = await tempDir();
    const collector = await startCollect(['--stream', 'kinesis://down', '--put-timeout', '1500'], {
      env: { AWS_ENDPOINT_URL_KINESIS: proxy.endpoint },
    });
    started.push(collector);
    const analytics = new SegmentAnalytics({
      writeKey: 'wk',
      host: collector.base,
      flushAt: 3,
      flushInterval: 60_000,
      httpRequestTimeout: 30_000,
    });
    const statuses: number[] = [];
    analytics.on('http_response', (response) => statuses.push(response.status));

    // Act: Kinesis fails while the batch goes out; the collector answers 503 (stream_unavailable) and the
    // library backs off and sends the same messages again; by then Kinesis is back.
    proxy.mode = 'unavailable';
    analytics.track({ userId: 'user_d', event: 'Cart Viewed', properties: { items: 2 } });
    analytics.identify({ userId: 'user_d', traits: { plan: 'free' } });
    analytics.page({ anonymousId: 'anon_d', name: 'Home' });
    await waitFor('a 503 from the collector while Kinesis fails', () => statuses.includes(503), {
      state: () => statuses,
    });
    proxy.mode = 'pass';
    await analytics.closeAndFlush({ timeout: 60_000 });
    expect(statuses.at(-1)).toBe(200);
    expect(new Set(statuses.slice(0, -1))).toEqual(new Set([503]));
    const refused = await fetch(`${collector.base}/metrics`).then((r) => r.text());
    expect(refused).toMatch(/activity_collector_events_rejected_total\{reason="stream_unavailable"\} [1-9]/);

    const sink = path.join(dir, 'sink');
    await stopAndConsume(collector, 'kinesis://down', sink, { AWS_ENDPOINT_URL_KINESIS: kinesis.endpoint });

    // Assess: nothing reached the stream while it failed, so each message landed once, from the retry.
    const { events: raw, errors } = await readLanded(sink);
    expect(errors).toEqual([]);
    expect(raw).toHaveLength(3);
    const rows = await query(sink, 'SELECT event, user_id, anonymous_id, traits FROM events ORDER BY event');
    expect(rows).toEqual([
      { event: 'Cart Viewed', user_id: 'user_d', anonymous_id: null, traits: null },
      { event: 'identify', user_id: 'user_d', anonymous_id: null, traits: { plan: 'free' } },
      { event: 'page_view', user_id: 'anon_d', anonymous_id: 'anon_d', traits: null },
    ]);
  });
});

describe('@rudderstack/rudder-sdk-node, unchanged, with its data plane URL set to activity collect', () => {
  it('lands its gzipped batches; a message sent again with its messageId lands once', async () => {
    const { dir, stream, collector } = await collectLocally(['--write-key', 'wk-rudder']);
    const client = new Analytics('wk-rudder', {
      dataPlaneUrl: collector.base,
      flushAt: 100,
      flushInterval: 60_000,
    });
    client.identify({ userId: 'user_7', traits: { email_domain: 'example.com' } });
    client.track({ userId: 'user_7', event: 'Product Viewed', properties: { sku: 'mug', price: 9.5 } });
    client.page({ anonymousId: 'anon_7', name: 'Home', properties: { path: '/' } });
    // The library keeps a message's id on a retry; so does a caller that sends one again.
    const retried = { userId: 'user_7', event: 'Checkout Started', messageId: 'rudder-retry-1' };
    client.track({ ...retried, properties: { step: 1 } });
    await client.flush();
    client.track({ ...retried, properties: { step: 1 } });
    await client.flush();

    const sink = path.join(dir, 'sink');
    await stopAndConsume(collector, stream, sink);
    expect((await readLanded(sink)).events).toHaveLength(5);
    const rows = await query(sink, 'SELECT event, user_id, properties FROM events ORDER BY event');
    expect(rows).toEqual([
      { event: 'Checkout Started', user_id: 'user_7', properties: { step: 1 } },
      { event: 'Product Viewed', user_id: 'user_7', properties: { sku: 'mug', price: 9.5 } },
      { event: 'identify', user_id: 'user_7', properties: null },
      { event: 'page_view', user_id: 'anon_7', properties: { path: '/', name: 'Home' } },
    ]);
    const [agent] = await query(sink, "SELECT DISTINCT context->>'user_agent' AS ua FROM events");
    expect(agent?.ua).toMatch(/^analytics-node\//);
  });
});

describe('@snowplow/node-tracker, unchanged, with its endpoint set to activity collect', () => {
  it('lands page views, structured and self-describing events by POST tp2 and GET /i; a request delivered twice lands once', async () => {
    const { dir, stream, collector } = await collectLocally();
    const schema = 'iglu:com.acme/add_to_wishlist/jsonschema/1-0-0';
    let deliveries = 0;
    const trackers = (['post', 'get'] as const).map((eventMethod) => {
      const tracker = newTracker(
        { namespace: `sp-${eventMethod}`, appId: 'shop' },
        {
          endpoint: collector.base,
          eventMethod,
          bufferSize: eventMethod === 'post' ? 3 : 1,
          // A network that loses the first answer: every request reaches the collector twice.
          customFetch: async (request: Request) => {
            deliveries++;
            await fetch(request.clone());
            return fetch(request);
          },
        },
      );
      tracker.setUserId(`user_${eventMethod}`);
      tracker.setSessionId(`session_${eventMethod}`);
      return tracker;
    });
    for (const tracker of trackers) {
      tracker.track(buildPageView({ pageUrl: 'https://shop.example/cart', pageTitle: 'Cart' }));
      tracker.track(buildStructEvent({ category: 'shop', action: 'add_to_cart', label: 'mug', value: 2 }));
      tracker.track(buildSelfDescribingEvent({ event: { schema, data: { sku: 'mug' } } }), [
        { schema: 'iglu:com.acme/user/jsonschema/1-0-0', data: { tier: 'gold' } },
      ]);
      await tracker.flush();
    }
    // One POST of three events, three GETs.
    expect(deliveries).toBe(4);

    const sink = path.join(dir, 'sink');
    await stopAndConsume(collector, stream, sink);
    expect((await readLanded(sink)).events).toHaveLength(12);
    const rows = await query(
      sink,
      `SELECT user_id, session_id, event, properties, context->'page' AS page, event_schema AS schema,
              contexts->'data' AS contexts, context->'snowplow'->>'namespace' AS namespace
       FROM events ORDER BY user_id, event`,
    );
    expect(rows).toHaveLength(6);
    for (const method of ['get', 'post']) {
      const mine = rows.filter((row) => row.user_id === `user_${method}`);
      expect(mine.map((row) => row.event)).toEqual(['add_to_cart', 'add_to_wishlist', 'page_view']);
      expect(
        mine.every((row) => row.session_id === `session_${method}` && row.namespace === `sp-${method}`),
      ).toBe(true);
      expect(mine[0]?.properties).toEqual({
        category: 'shop',
        action: 'add_to_cart',
        label: 'mug',
        value: 2,
      });
      expect(mine[1]).toMatchObject({
        properties: { sku: 'mug' },
        schema,
        contexts: [{ schema: 'iglu:com.acme/user/jsonschema/1-0-0', data: { tier: 'gold' } }],
      });
      expect(mine[2]?.page).toEqual({ url: 'https://shop.example/cart', path: '/cart', title: 'Cart' });
    }
  });
});
