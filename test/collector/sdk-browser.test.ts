import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
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
import { CHROMIUM, CHROMIUM_INSTALL, requireProgram } from '../support/requires.js';
import { useTempDir } from '../support/temp.js';
import { waitFor } from '../support/wait.js';
import { type RunningCollector, startCollect } from './collect-cli.js';

// A laptop without Chromium skips these; CI installs it (.ci/run) and must never skip them.
const withChromium = requireProgram(CHROMIUM, CHROMIUM_INSTALL);

const tempDir = useTempDir();
const started: RunningCollector[] = [];
afterEach(async () => {
  for (const collector of started.splice(0)) if (collector.child.exitCode === null) await collector.stop();
});

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
  const browser = useChromium();

  it('@segment/analytics-next: page, track and identify queue in the page, and land once it is closed', async () => {
    const dir = await tempDir();
    const stream = path.join(dir, 'stream');
    const collector = await startCollect(['--stream', stream, '--write-key', 'wk-browser']);
    started.push(collector);
    const sent = await runSegmentPage(browser(), collector.base, {
      writeKey: 'wk-browser',
      // Nothing has been sent: the batch waits for its minute.
      queued: async () => {
        const before = (await (await fetch(`${collector.base}/dashboard/snapshot`)).json()) as {
          accepted: number;
        };
        expect(before.accepted).toBe(0);
      },
      delivered: (count, what) => acceptedAtLeast(collector.base, count, what),
    });

    const rows = await consumeAndQuery(collector, stream, path.join(dir, 'sink'), SEGMENT_LANDED_SQL);
    expectSegmentLanded(rows, sent);
  });

  it('@snowplow/browser-tracker: page views, structured and self-describing events by POST tp2 and GET /i', async () => {
    const dir = await tempDir();
    const stream = path.join(dir, 'stream');
    const collector = await startCollect(['--stream', stream]);
    started.push(collector);
    await runSnowplowPage(browser(), collector.base, {
      delivered: (count, what) => acceptedAtLeast(collector.base, count, what),
    });

    const sink = path.join(dir, 'sink');
    const rows = await consumeAndQuery(collector, stream, sink, SNOWPLOW_LANDED_SQL);
    expectSnowplowLanded(rows);
  });
});
