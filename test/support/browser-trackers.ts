import type { Browser, Page } from 'playwright-core';
import { expect } from 'vitest';
import { openTestPage } from './browser.js';

type Row = Record<string, unknown>;

/** How a test learns that the collector under test has taken `count` events, failing with `what` if never. */
export type Delivered = (count: number, what: string) => Promise<void>;

/**
 * A shop page loading `@segment/analytics-next` as `window.analytics`, with the settings Segment's CDN
 * would serve given in the page (so nothing is fetched): `base`'s host as its API host, and batches held
 * for a minute, so only the page going away sends them.
 */
function segmentPage(writeKey: string, base: string): string {
  const settings = {
    integrations: {
      'Segment.io': {
        apiKey: writeKey,
        apiHost: `${new URL(base).host}/v1`,
        protocol: 'http',
        deliveryStrategy: { strategy: 'batching', config: { size: 100, timeout: 60_000 } },
      },
    },
  };
  return `<!doctype html><title>shop</title><script src="/vendor/segment/index.js"></script>
<script>
  window.analytics = AnalyticsNext.AnalyticsBrowser.load({ writeKey: ${JSON.stringify(writeKey)}, cdnSettings: ${JSON.stringify(settings)} });
</script>`;
}

/**
 * A cart page with two `@snowplow/browser-tracker` trackers sending to the page's origin, `sp-post`
 * (POST tp2) and `sp-get` (GET /i), one event per request, for user `user_sp`; `headers` go with every
 * POST request (a write key, say).
 */
function snowplowPage(headers: Record<string, string> = {}): string {
  return `<!doctype html><title>Cart</title><script src="/vendor/snowplow.js"></script>
<script>
  const sp = window.snowplowBrowserTracking;
  for (const method of ['post', 'get']) {
    sp.newTracker('sp-' + method, location.origin, { appId: 'shop', eventMethod: method, bufferSize: 1, contexts: { webPage: true }, customHeaders: ${JSON.stringify(headers)} });
  }
  sp.setUserId('user_sp');
</script>`;
}

/** What the Segment page's library calls itself, read from the page after `sendSegmentCalls`. */
export interface SegmentSent {
  anonymousId: string;
  userAgent: string;
}

/**
 * The Segment page's three calls (a page view, a track, an identify), which queue in the page until it
 * closes (`closeSendingPage`).
 */
async function sendSegmentCalls(page: Page): Promise<SegmentSent> {
  const userAgent = await page.evaluate<string>('navigator.userAgent');
  await page.evaluate(`(async () => {
    await window.analytics.page('Shop', { path: '/shop.html' });
    await window.analytics.track('Add To Cart', { sku: 'mug', price: 9.5 });
    await window.analytics.identify('user_browser', { plan: 'pro' });
  })()`);
  const anonymousId = await page.evaluate<string>('window.analytics.user().then((u) => u.anonymousId())');
  return { anonymousId, userAgent };
}

/** Closes a page whose files are all loaded as a user does, so what it queued is sent as it goes away. */
async function closeSendingPage(page: Page): Promise<void> {
  // Stop intercepting, so the requests of a closing page go straight out.
  await page.unrouteAll({ behavior: 'wait' });
  await page.close({ runBeforeUnload: true });
}

/** The query of the landed events that `expectSegmentLanded` checks. */
export const SEGMENT_LANDED_SQL = `SELECT event, user_id, properties, anonymous_id, traits,
  context->'userAgent' AS ua FROM events ORDER BY event`;

/** The Segment page's calls as they landed: ids, properties, traits and the browser's user agent. */
export function expectSegmentLanded(rows: Row[], sent: SegmentSent): void {
  const { anonymousId } = sent;
  expect(rows).toEqual([
    expect.objectContaining({
      event: 'Add To Cart',
      user_id: anonymousId,
      properties: { sku: 'mug', price: 9.5 },
    }),
    expect.objectContaining({
      event: 'identify',
      user_id: 'user_browser',
      anonymous_id: anonymousId,
      traits: { plan: 'pro' },
    }),
    expect.objectContaining({ event: 'page_view', user_id: anonymousId, anonymous_id: anonymousId }),
  ]);
  expect(rows[2]?.properties).toMatchObject({ path: '/shop.html', name: 'Shop' });
  expect(rows.every((row) => row.ua === sent.userAgent)).toBe(true);
}

const SNOWPLOW_SCHEMA = 'iglu:com.acme/add_to_wishlist/jsonschema/1-0-0';

/**
 * The Snowplow page's events: by each of its trackers (`sp-post`, `sp-get`), a page view, a structured
 * event and a self-describing one: six requests, sent at once.
 */
async function sendSnowplowEvents(page: Page): Promise<void> {
  for (const method of ['post', 'get']) {
    await page.evaluate(`(() => {
      const sp = window.snowplowBrowserTracking;
      const to = ['sp-${method}'];
      sp.trackPageView({}, to);
      sp.trackStructEvent({ category: 'shop', action: 'add_to_cart', label: 'mug', value: 2 }, to);
      sp.trackSelfDescribingEvent({ event: { schema: '${SNOWPLOW_SCHEMA}', data: { sku: 'mug', via: '${method}' } } }, to);
    })()`);
  }
}

/** The query of the landed events that `expectSnowplowLanded` checks. */
export const SNOWPLOW_LANDED_SQL = `SELECT event, user_id, properties, context->'snowplow'->>'namespace' AS namespace,
  event_schema AS schema, context->'page'->>'path' AS path, anonymous_id,
  json_array_length(contexts->'data') AS contexts
  FROM events ORDER BY namespace, event`;

/** The Snowplow page's six events as they landed, by tracker, with the page, the user and the contexts. */
export function expectSnowplowLanded(rows: Row[]): void {
  expect(rows.map((row) => [row.namespace, row.event])).toEqual([
    ['sp-get', 'add_to_cart'],
    ['sp-get', 'add_to_wishlist'],
    ['sp-get', 'page_view'],
    ['sp-post', 'add_to_cart'],
    ['sp-post', 'add_to_wishlist'],
    ['sp-post', 'page_view'],
  ]);
  for (const row of rows) {
    expect(row).toMatchObject({ user_id: 'user_sp', path: '/cart.html', anonymous_id: expect.any(String) });
    // The web_page context every event carries.
    expect(row.contexts).toBeGreaterThanOrEqual(1);
  }
  expect(rows[1]).toMatchObject({ schema: SNOWPLOW_SCHEMA, properties: { sku: 'mug', via: 'get' } });
  expect(rows[0]?.schema).toBeNull();
  expect(rows[3]?.properties).toEqual({ category: 'shop', action: 'add_to_cart', label: 'mug', value: 2 });
}

/**
 * `@segment/analytics-next` in a page of `base`'s origin: its three calls queue in the page (`queued`
 * may check that nothing was sent yet), go out as the page closes, and `delivered` waits for them. No
 * request leaves for another origin.
 */
export async function runSegmentPage(
  browser: Browser,
  base: string,
  options: { writeKey: string; delivered: Delivered; queued?: () => Promise<void> },
): Promise<SegmentSent> {
  const page = await browser.newPage();
  const outside: string[] = [];
  await openTestPage(page, base, '/shop.html', segmentPage(options.writeKey, base), outside);
  const sent = await sendSegmentCalls(page);
  await options.queued?.();
  await closeSendingPage(page);
  await options.delivered(3, 'the queued events were not sent when the page closed');
  expect(outside).toEqual([]);
  return sent;
}

/**
 * `@snowplow/browser-tracker` in a page of `base`'s origin: its six events by POST tp2 and GET /i, with
 * `headers` on every request; `delivered` waits for them. No request leaves for another origin.
 */
export async function runSnowplowPage(
  browser: Browser,
  base: string,
  options: { headers?: Record<string, string>; delivered: Delivered },
): Promise<void> {
  const page = await browser.newPage();
  const outside: string[] = [];
  await openTestPage(page, base, '/cart.html', snowplowPage(options.headers), outside);
  await sendSnowplowEvents(page);
  await options.delivered(6, 'the trackers did not deliver their six events');
  await page.close();
  expect(outside).toEqual([]);
}
