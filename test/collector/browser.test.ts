import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchChromium } from '../support/browser.js';
import { startCli } from '../support/cli.js';
import { readLanded } from '../support/landed.js';
import { CHROMIUM, CHROMIUM_INSTALL, requireProgram } from '../support/requires.js';
import { waitFor } from '../support/wait.js';
import { type RunningCollector, startCollect } from './collect-cli.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const artifacts = path.join(root, 'test-artifacts');
// A laptop without Chromium skips these; CI installs it (.ci/run) and must never skip them.
const withChromium = requireProgram(CHROMIUM, CHROMIUM_INSTALL);

/** The landed events once `ready` holds for them; fails, naming `what` and the events seen, if it never does. */
async function landedWhen(
  sink: string,
  what: string,
  ready: (events: Record<string, unknown>[]) => boolean,
): Promise<Record<string, unknown>[]> {
  let events: Record<string, unknown>[] = [];
  await waitFor(
    `the sink to hold ${what}`,
    async () => {
      ({ events } = await readLanded(sink));
      return ready(events);
    },
    { intervalMs: 200, state: () => `events ${events.map((e) => e.event).join(', ') || 'none'}` },
  );
  return events;
}

const named = (events: Record<string, unknown>[], name: string) => events.filter((e) => e.event === name);

withChromium.describe('the tracker and the dashboard in Chromium', () => {
  let browser: Browser;
  let collector: RunningCollector;
  let consumer: ReturnType<typeof startCli>;
  // One collector and consumer serve all the tests here, so the directory lives as long as they do.
  let dir: string;
  let sink: string;

  beforeAll(async () => {
    await mkdir(artifacts, { recursive: true });
    dir = await mkdtemp(path.join(tmpdir(), 'activity-test-'));
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    consumer?.child.kill('SIGTERM');
    await consumer?.done;
    if (collector?.child.exitCode === null) await collector.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('sends the page_view at once, and the queued clicks by sendBeacon when the page is hidden', async () => {
    // Prepare: the collector and a consumer on one embedded stream, as a user runs them.
    const stream = path.join(dir, 'stream');
    sink = path.join(dir, 'sink');
    collector = await startCollect(['--stream', stream]);
    consumer = startCli(['consume', '--stream', stream, '--sink', sink, '--batch-window', '100']);
    const page = await browser.newPage();

    // Act 1: open the demo. Its tracker gathers events for a minute, so only the first view goes at once.
    await page.goto(`${collector.base}/demo?flush_interval=60000`);
    const userAgent = await page.evaluate<string>('navigator.userAgent');
    const anonymousId = await page.evaluate<string>('window.activity.anonymousId()');
    const views = await landedWhen(
      sink,
      'one page_view',
      (events) => named(events, 'page_view').length === 1,
    );
    expect(named(views, 'page_view')[0]).toMatchObject({
      user_id: anonymousId,
      anonymous_id: anonymousId,
      context: { user_agent: userAgent, page: { path: '/demo' } },
    });

    // Act 2: click; the events wait in the queue…
    await page.getByRole('button', { name: 'Add to cart' }).first().click();
    await page.getByRole('button', { name: 'Add to cart' }).nth(1).click();
    await page.getByRole('button', { name: 'Like this shop' }).click();
    await page.getByRole('status').filter({ hasText: 'click' }).waitFor();
    await page.screenshot({ path: path.join(artifacts, 'collector-demo.png'), fullPage: true });
    // …until the page is hidden: leaving it makes it hidden, and the tracker sends its queue by beacon.
    // Nothing else could send them: the next timed batch was due a minute later.
    await page.goto(`${collector.base}/healthz`);

    // Assess: every event landed once, with the browser's user agent, one session and one anonymous id.
    const events = await landedWhen(
      sink,
      'two add_to_cart and one click',
      (landed) => named(landed, 'add_to_cart').length === 2 && named(landed, 'click').length === 1,
    );
    expect(named(events, 'add_to_cart').map((e) => (e.properties as { product: string }).product)).toEqual([
      'blue-mug',
      'red-scarf',
    ]);
    expect(named(events, 'click')[0]?.properties).toEqual({ label: 'like' });
    expect(events).toHaveLength(4);
    expect(new Set(events.map((e) => e.event_id)).size).toBe(4);
    for (const event of events) {
      expect(event.event_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect((event.context as { user_agent: string }).user_agent).toBe(userAgent);
      expect(event.user_id).toBe(anonymousId);
      expect(event.session_id).toBe(events[0]?.session_id);
      expect(typeof event.sent_at).toBe('string');
    }
    await page.close();
  });

  it('keeps events while offline, and sends them once back online', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${collector.base}/demo?flush_interval=100`);
    await landedWhen(sink, 'two page_view', (events) => named(events, 'page_view').length === 2);

    await context.setOffline(true);
    await page.fill('#user-id', 'user_42');
    await page.getByRole('button', { name: 'Identify' }).click();
    await page.getByRole('button', { name: 'Check out' }).click();
    // Give the tracker time to try, fail and back off while offline.
    await page.waitForTimeout(1_500);
    expect(named((await readLanded(sink)).events, 'purchase')).toHaveLength(0);
    await context.setOffline(false);

    const events = await landedWhen(
      sink,
      'the purchase made offline',
      (landed) => named(landed, 'purchase').length === 1,
    );
    const purchase = named(events, 'purchase')[0];
    expect(purchase?.user_id).toBe('user_42');
    expect(named(events, 'identify')).toHaveLength(1);
    await context.close();
  });

  it('shows the traffic live on the dashboard: chart, active users, top events, rejections, refusals and consumer lag', async () => {
    const page: Page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${collector.base}/dashboard`);
    // A rejected event, so the rejections panel has something to show.
    const refused = await fetch(`${collector.base}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: 'u', event: 'broken' }),
    });
    expect(refused.status).toBe(400);
    // A request refused whole, before any event of it was read: its own panel, by reason.
    const notJson = await fetch(`${collector.base}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(notJson.status).toBe(400);

    await page.locator('#connection', { hasText: 'live' }).waitFor();
    await page.locator('#rejected', { hasText: 'missing_field' }).waitFor();
    await page.locator('#refused', { hasText: 'invalid_json' }).waitFor();
    expect(await page.locator('#rejected').textContent()).not.toContain('invalid_json');
    expect(Number(await page.locator('#refused-total').textContent())).toBeGreaterThanOrEqual(1);
    await page.locator('#lag', { hasText: /caught up|behind/ }).waitFor();
    expect(Number(await page.locator('#accepted').textContent())).toBeGreaterThanOrEqual(7);
    expect(Number(await page.locator('#active-users').textContent())).toBeGreaterThanOrEqual(2);
    await expect
      .poll(() => page.locator('#top-events').textContent(), { timeout: 20_000 })
      .toContain('page_view');
    expect(await page.locator('#top-events').textContent()).toContain('add_to_cart');
    // The chart ends with the last whole second, so events of the second in progress reach it a
    // snapshot after they reach the totals.
    await expect
      .poll(async () => Number(await page.locator('#chart').getAttribute('data-total')), {
        message: 'the chart never showed the seven accepted events',
        timeout: 20_000,
      })
      .toBeGreaterThanOrEqual(7);
    expect(await page.locator('#legend li').allTextContents()).toContain('page_view');
    await page.screenshot({ path: path.join(artifacts, 'collector-dashboard.png'), fullPage: true });
    await page.close();
  });
});
