import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { CHROMIUM } from './requires.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The libraries' browser bundles, as npm ships them. */
const SEGMENT_UMD = path.join(root, 'node_modules/@segment/analytics-next/dist/umd');
const SNOWPLOW_UMD = path.join(root, 'node_modules/@snowplow/browser-tracker/dist/index.umd.min.js');

/**
 * Debian's Chromium, headless, as the tests drive it: no sandbox (root), no GPU, and none of the
 * background connections Chromium makes at start, which this machine's closed network refuses.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** Chromium for the tests of one `describe`: launched before the first, closed after the last. */
export function useChromium(): () => Browser {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  return () => {
    if (browser === undefined) throw new Error('Chromium is used before it was launched');
    return browser;
  };
}

/**
 * Opens `page` at `base + pagePath`, a page of the test's own served from the collector's origin by
 * intercepting its URL, with the library's bundle from node_modules under `/vendor/` (`/vendor/segment/`
 * for `@segment/analytics-next`, `/vendor/snowplow.js` for `@snowplow/browser-tracker`). Every other
 * request on the origin reaches the collector; any request to another origin is refused and recorded.
 */
export async function openTestPage(
  page: Page,
  base: string,
  pagePath: string,
  html: string,
  outside: string[],
): Promise<void> {
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
