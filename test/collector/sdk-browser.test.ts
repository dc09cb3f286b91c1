import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { launchChromium } from '../support/browser.js';
import { runCli } from '../support/cli.js';
import { CHROMIUM, CHROMIUM_INSTALL, requireProgram } from '../support/requires.js';
import { useTempDir } from '../support/temp.js';
import { waitFor } from '../support/wait.js';
import { type RunningCollector, startCollect } from './collect-cli.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// A laptop without Chromium skips these; CI installs it (.ci/run) and must never skip them.
const withChromium = requireProgram(CHROMIUM, CHROMIUM_INSTALL);

/** The libraries' browser bundles, as npm ships them. */
const SEGMENT_UMD = path.join(root, 'node_modules/@segment/analytics-next/dist/umd');
const SNOWPLOW_UMD = path.join(root, 'node_modules/@snowplow/browser-tracker/dist/index.umd.min.js');

const tempDir = useTempDir();
const started: RunningCollector[] = [];
afterEach(async () => {
  for (const collector of started.splice(0)) if (collector.child.exitCode === null) await collector.stop();
});

/**
 * Opens `page` at `base + pagePath`, a page of the test's own served from the collector's origin by
 * intercepting its URL, with the library's bundle from node_modules under `/vendor/`. Every other
 * request on the origin reaches the collector; any request to another origin is refused and recorded.
 */
async function openTestPage(page: Page, base: string, pagePath: string, html: string, outside: string[]) {
  await page.route('**/*', async (route) => {
    const url = new URL(route.request().url());
    if (url.origin !== base) {
      outside.push(url.href);
      return route.abort();
    }
    if (url.pathname === pagePath) return route.fulfill({ contentType: 'text/html', body: html });
    if (url.pathname.startsWith('/vendor/segment/')) {
      const file = path.join(SEGMENT_UMD, path.basename(url.pathname));
      return route.fulfill({ contentType: 'text/javascript', body: await readFile(file) });
    }
    if (url.pathname === '/vendor/snowplow.js') {
      return route.fulfill({ contentType: 'text/javascript', body: await readFile(SNOWPLOW_UMD) });
    }
    return route.continue();
  });
  await page.goto(`${base}${pagePath}`);
}

/** Resolves once the collector has accepted `count` events, by its snapshot; fails naming `what` if it never does. */
async function acceptedAtLeast(base: string, count: number, what: string): Promise<void> {
  const accepted = async () =>
    ((await (await fetch(`${base}/dashboard/snapshot`)).json()) as { accepted: number }).accepted;
  await waitFor(`${count} accepted events: ${what}`, async () => (await accepted()) >= count, {
    intervalMs: 100,
    state: accepted,
  });
}

async function consumeAndQuery(collector: RunningCollector, stream: string, sink: string, sql: string) {
  const stopped = await collector.stop();
  expect(stopped.code, stopped.stderr).toBe(0);
  const consumed = await runCli(['consume', '--stream', stream, '--sink', sink, '--until-idle']);
  expect(consumed.code, consumed.stderr).toBe(0);
  const result = await runCli(['query', '--sink', sink, '--output', 'json', sql]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Record<string, unknown>[];
}

withChromium.describe('browser trackers, unchanged, in Chromium', () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('@segment/analytics-next: page, track and identify queue in the page, and land once it is closed', async () => {
    const dir = await tempDir();
    const stream = path.join(dir, 'stream');
    const collector = await startCollect(['--stream', stream, '--write-key', 'wk-browser']);
    started.push(collector);
    const host = new URL(collector.base).host;
    // The settings Segment's CDN would serve, given in the page: our host, and batches held for a minute,
    // so only the page going away sends them.
    const settings = {
      integrations: {
        'Segment.io': {
          apiKey: 'wk-browser',
          apiHost: `${host}/v1`,
          protocol: 'http',
          deliveryStrategy: { strategy: 'batching', config: { size: 100, timeout: 60_000 } },
        },
      },
    };
    const html = `<!doctype html><title>shop</title><script src="/vendor/segment/index.js"></script>
<script>
  window.analytics = AnalyticsNext.AnalyticsBrowser.load({ writeKey: 'wk-browser', cdnSettings: ${JSON.stringify(settings)} });
</script>`;
    const page = await browser.newPage();
    const outside: string[] = [];
    await openTestPage(page, collector.base, '/shop.html', html, outside);
    const userAgent = await page.evaluate<string>('navigator.userAgent');
    await page.evaluate(`(async () => {
      await window.analytics.page('Shop', { path: '/shop.html' });
      await window.analytics.track('Add To Cart', { sku: 'mug', price: 9.5 });
      await window.analytics.identify('user_browser', { plan: 'pro' });
    })()`);
    const anonymousId = await page.evaluate<string>('window.analytics.user().then((u) => u.anonymousId())');
    // Nothing has been sent: the batch waits for its minute.
    const before = (await (await fetch(`${collector.base}/dashboard/snapshot`)).json()) as {
      accepted: number;
    };
    expect(before.accepted).toBe(0);

    // The page's own files are loaded: stop intercepting, so the requests of a closing page go straight out.
    await page.unrouteAll({ behavior: 'wait' });
    await page.close({ runBeforeUnload: true });
    await acceptedAtLeast(collector.base, 3, 'the queued events were not sent when the page closed');

    const rows = await consumeAndQuery(
      collector,
      stream,
      path.join(dir, 'sink'),
      `SELECT event, user_id, properties, anonymous_id, traits,
              context->'userAgent' AS ua FROM events ORDER BY event`,
    );
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
    expect(rows.every((row) => row.ua === userAgent)).toBe(true);
    expect(outside).toEqual([]);
  });

  it('@snowplow/browser-tracker: page views, structured and self-describing events by POST tp2 and GET /i', async () => {
    const dir = await tempDir();
    const stream = path.join(dir, 'stream');
    const collector = await startCollect(['--stream', stream]);
    started.push(collector);
    const schema = 'iglu:com.acme/add_to_wishlist/jsonschema/1-0-0';
    const html = `<!doctype html><title>Cart</title><script src="/vendor/snowplow.js"></script>
<script>
  const sp = window.snowplowBrowserTracking;
  for (const method of ['post', 'get']) {
    sp.newTracker('sp-' + method, location.origin, { appId: 'shop', eventMethod: method, bufferSize: 1, contexts: { webPage: true } });
  }
  sp.setUserId('user_sp');
</script>`;
    const page = await browser.newPage();
    const outside: string[] = [];
    await openTestPage(page, collector.base, '/cart.html', html, outside);
    for (const method of ['post', 'get']) {
      await page.evaluate(`(() => {
        const sp = window.snowplowBrowserTracking;
        const to = ['sp-${method}'];
        sp.trackPageView({}, to);
        sp.trackStructEvent({ category: 'shop', action: 'add_to_cart', label: 'mug', value: 2 }, to);
        sp.trackSelfDescribingEvent({ event: { schema: '${schema}', data: { sku: 'mug', via: '${method}' } } }, to);
      })()`);
    }
    await acceptedAtLeast(collector.base, 6, 'the trackers did not deliver their six events');
    await page.close();

    const sink = path.join(dir, 'sink');
    const rows = await consumeAndQuery(
      collector,
      stream,
      sink,
      `SELECT event, user_id, properties, context->'snowplow'->>'namespace' AS namespace,
              event_schema AS schema, context->'page'->>'path' AS path, anonymous_id,
              json_array_length(contexts->'data') AS contexts
       FROM events ORDER BY namespace, event`,
    );
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
    expect(rows[1]).toMatchObject({ schema, properties: { sku: 'mug', via: 'get' } });
    expect(rows[0]?.schema).toBeNull();
    expect(rows[3]?.properties).toEqual({ category: 'shop', action: 'add_to_cart', label: 'mug', value: 2 });
    expect(outside).toEqual([]);
  });
});
