import { type Browser, chromium } from 'playwright-core';
import { CHROMIUM } from './requires.js';

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
