import path from 'node:path';
import { CreateStreamCommand } from '@aws-sdk/client-kinesis';
import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import { Analytics as SegmentAnalytics } from '@segment/analytics-node';
import {
  buildPageView,
  buildSelfDescribingEvent,
  buildStructEvent,
  newTracker,
} from '@snowplow/node-tracker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openKinesisStream } from '../../src/stream/kinesis/index.js';
import { type ApiGatewayStandIn, startApiGateway } from '../support/api-gateway.js';
import { useChromium } from '../support/browser.js';
import {
  expectSegmentLanded,
  expectSnowplowLanded,
  runSegmentPage,
  runSnowplowPage,
  SEGMENT_LANDED_SQL,
  SNOWPLOW_LANDED_SQL,
} from '../support/browser-trackers.js';
import { runCli } from '../support/cli.js';
import {
  collectorLambdaEnv,
  type RunningCollectorLambda,
  startCollectorLambda,
} from '../support/collector-lambda.js';
import { useKinesalite } from '../support/kinesalite.js';
import { readLanded } from '../support/landed.js';
import { CHROMIUM, CHROMIUM_INSTALL, requireProgram } from '../support/requires.js';
import { type SecretsManagerStandIn, startSecretsManager } from '../support/secrets-manager.js';
import { readAll } from '../support/stream-records.js';
import { useTempDir } from '../support/temp.js';
import { waitFor } from '../support/wait.js';

const tempDir = useTempDir();
const kinesis = useKinesalite();
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:activity-write-key-Zz9Yy8';
const WRITE_KEY = 'wk-sdk-31c8';

// A laptop without Chromium skips the browser libraries; CI installs it and must never skip them.
const withChromium = requireProgram(CHROMIUM, CHROMIUM_INSTALL);

let secrets: SecretsManagerStandIn;
const deployed: { fn: RunningCollectorLambda; gateway: ApiGatewayStandIn }[] = [];
beforeAll(async () => {
  secrets = await startSecretsManager({ [SECRET_ARN]: WRITE_KEY });
});
afterAll(async () => {
  for (const { fn, gateway } of deployed.splice(0)) {
    await gateway.close();
    await fn.close();
  }
  await secrets?.close();
});

/** The collector function on Node.js 22 behind a local stand-in for API Gateway, putting on `stream`. */
async function deploy(stream: string): Promise<string> {
  await kinesis.client().send(new CreateStreamCommand({ StreamName: stream, ShardCount: 1 }));
  const fn = await startCollectorLambda(
    await tempDir(),
    collectorLambdaEnv({
      streamName: stream,
      secretArn: SECRET_ARN,
      kinesisEndpoint: kinesis.endpoint,
      secretsEndpoint: secrets.endpoint,
    }),
  );
  const gateway = await startApiGateway((event) => fn.invoke(event));
  deployed.push({ fn, gateway });
  return gateway.endpoint;
}

/** Resolves once `stream` holds `count` records; fails naming `what` if it never does. */
async function recordsAtLeast(stream: string, count: number, what: string): Promise<void> {
  const reader = openKinesisStream(stream, { client: kinesis.client() });
  const records = async () => (await readAll(reader)).length;
  try {
    await waitFor(`${count} records on ${stream}: ${what}`, async () => (await records()) >= count, {
      intervalMs: 200,
      state: records,
    });
  } finally {
    await reader.close();
  }
}

/** Lands the stream with `activity consume`, then runs `sql` over it with `activity query`. */
async function landAndQuery(stream: string, sql: string) {
  const dir = await tempDir();
  const sink = path.join(dir, 'sink');
  const consumed = await runCli(
    ['consume', '--stream', `kinesis://${stream}`, '--sink', sink, '--until-idle'],
    {
      env: { AWS_ENDPOINT_URL_KINESIS: kinesis.endpoint },
      cwd: dir,
    },
  );
  expect(consumed.code, consumed.stderr).toBe(0);
  const queried = await runCli(['query', '--sink', sink, '--output', 'json', sql]);
  expect(queried.code, queried.stderr).toBe(0);
  return { landed: await readLanded(sink), rows: JSON.parse(queried.stdout) as Record<string, unknown>[] };
}

describe('the real SDKs, unchanged, pointed at the collector function behind API Gateway', () => {
  it('@segment/analytics-node, @snowplow/node-tracker and @rudderstack/rudder-sdk-node land their events', async () => {
    const base = await deploy('sdks');

    // Segment's library: the six calls in one batch, with the write key as its Basic user name.
    const analytics = new SegmentAnalytics({
      writeKey: WRITE_KEY,
      host: base,
      flushAt: 6,
      flushInterval: 60_000,
    });
    const statuses: number[] = [];
    analytics.on('http_response', (response) => statuses.push(response.status));
    analytics.track({ userId: 'user_1', event: 'Order Completed', properties: { total: 30 } });
    analytics.identify({ userId: 'user_1', traits: { plan: 'pro' } });
    analytics.page({ anonymousId: 'anon_1', name: 'Pricing', properties: { path: '/pricing' } });
    analytics.screen({ userId: 'user_1', name: 'Home' });
    analytics.group({ userId: 'user_1', groupId: 'acme' });
    analytics.alias({ userId: 'user_1', previousId: 'anon_1' });
    await analytics.closeAndFlush({ timeout: 30_000 });
    expect(statuses).toEqual([200]);

    // Snowplow's tracker by POST tp2 and by GET /i, the write key as a custom header.
    for (const eventMethod of ['post', 'get'] as const) {
      const tracker = newTracker(
        { namespace: `sp-${eventMethod}`, appId: 'shop' },
        {
          endpoint: base,
          eventMethod,
          bufferSize: eventMethod === 'post' ? 3 : 1,
          customHeaders: { Authorization: `Bearer ${WRITE_KEY}` },
        },
      );
      tracker.setUserId(`sp_${eventMethod}`);
      tracker.track(buildPageView({ pageUrl: 'https://shop.example/cart', pageTitle: 'Cart' }));
      tracker.track(buildStructEvent({ category: 'shop', action: 'add_to_cart', label: 'mug', value: 2 }));
      tracker.track(
        buildSelfDescribingEvent({
          event: { schema: 'iglu:com.acme/wish/jsonschema/1-0-0', data: { sku: 'mug' } },
        }),
      );
      await tracker.flush();
    }

    // RudderStack's library: its data plane URL, gzipped batches.
    const rudder = new RudderAnalytics(WRITE_KEY, {
      dataPlaneUrl: base,
      flushAt: 100,
      flushInterval: 60_000,
    });
    rudder.track({ userId: 'rudder_1', event: 'Product Viewed', properties: { sku: 'mug' } });
    await rudder.flush();

    const { landed, rows } = await landAndQuery(
      'sdks',
      'SELECT user_id, event, properties FROM events ORDER BY user_id, event',
    );
    expect(landed.errors).toEqual([]);
    expect(landed.events).toHaveLength(13);
    expect(rows.map((r) => `${r.user_id} ${r.event}`)).toEqual([
      'anon_1 page_view',
      'rudder_1 Product Viewed',
      'sp_get add_to_cart',
      'sp_get page_view',
      'sp_get wish',
      'sp_post add_to_cart',
      'sp_post page_view',
      'sp_post wish',
      'user_1 Order Completed',
      'user_1 alias',
      'user_1 group',
      'user_1 identify',
      'user_1 screen_view',
    ]);
    expect(rows.find((r) => r.event === 'Order Completed')?.properties).toEqual({ total: 30 });
    expect(rows.find((r) => r.user_id === 'sp_get' && r.event === 'add_to_cart')?.properties).toMatchObject({
      category: 'shop',
      action: 'add_to_cart',
    });
  });
});

withChromium.describe('the browser libraries, unchanged, in Chromium, pointed at the function', () => {
  const browser = useChromium();

  it('@segment/analytics-next: the batch a closing page sends lands', async () => {
    const base = await deploy('browser-segment');
    const sent = await runSegmentPage(browser(), base, {
      writeKey: WRITE_KEY,
      delivered: (count, what) => recordsAtLeast('browser-segment', count, what),
    });

    const { landed, rows } = await landAndQuery('browser-segment', SEGMENT_LANDED_SQL);
    expect(landed.errors).toEqual([]);
    expectSegmentLanded(rows, sent);
  });

  it('@snowplow/browser-tracker: events by POST tp2 and GET /i, the write key as a custom header, land', async () => {
    const base = await deploy('browser-snowplow');
    await runSnowplowPage(browser(), base, {
      headers: { Authorization: `Bearer ${WRITE_KEY}` },
      delivered: (count, what) => recordsAtLeast('browser-snowplow', count, what),
    });

    const { landed, rows } = await landAndQuery('browser-snowplow', SNOWPLOW_LANDED_SQL);
    expect(landed.errors).toEqual([]);
    expectSnowplowLanded(rows);
  });
});
