import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Simulator } from '../../src/producer/index.js';
import { collectReport, renderReport } from '../../src/report/index.js';
import { DirectoryStore } from '../../src/sink/index.js';
import { launchChromium } from '../support/browser.js';
import { CHROMIUM, CHROMIUM_INSTALL, requireProgram } from '../support/requires.js';
import { useTempDir } from '../support/temp.js';
import { distinctEvents, jsonField, land, type Row, readLandedRows, simulated } from './helpers.js';

const tempDir = useTempDir();

/** The funnel computed from rows in plain code: sessions reaching each step after the steps before it. */
function funnelOf(rows: readonly Row[]) {
  const sessions = new Map<string, Record<string, number>>();
  for (const row of rows) {
    const key = String(row.session_id ?? row.user_id);
    const first = sessions.get(key) ?? {};
    const ms = Date.parse(String(row.timestamp));
    const event = String(row.event);
    if (first[event] === undefined || ms < (first[event] as number)) first[event] = ms;
    sessions.set(key, first);
  }
  let pv = 0;
  let cart = 0;
  let buy = 0;
  for (const s of sessions.values()) {
    if (s.page_view === undefined) continue;
    pv++;
    if (s.add_to_cart === undefined || s.add_to_cart < s.page_view) continue;
    cart++;
    if (s.purchase !== undefined && s.purchase >= s.add_to_cart) buy++;
  }
  return { sessions: sessions.size, funnel: [pv, cart, buy] };
}

/** A sink with 3,000 simulated events (NDJSON, part also as Parquet), one hostile event name and two errors. */
async function landReportData(sink: string): Promise<void> {
  const store = new DirectoryStore(sink);
  const lines = simulated(3000, { stepMs: 3000, seed: 'report' });
  await land(store, lines, { format: 'ndjson', batch: 500 });
  await land(store, lines.slice(0, 500), { format: 'parquet', shard: 1, batch: 500 });
  const hostile = JSON.stringify({
    user_id: 'x',
    event: '<img src=x onerror=alert(1)>',
    timestamp: '2026-11-24T09:00:00Z',
  });
  await land(store, [hostile, '{broken', '[]'], { format: 'ndjson', shard: 2 });
}

const withChromium = requireProgram(CHROMIUM, CHROMIUM_INSTALL);

describe('activity report', () => {
  it('draws figures that match the landed files, escapes event data, and links to nothing', async () => {
    const sink = await tempDir();
    await landReportData(sink);

    const data = await collectReport({ kind: 'directory', path: sink });

    const rows = distinctEvents(await readLandedRows(sink, 'events'));
    const expected = funnelOf(rows);
    expect(data.events).toBe(rows.length);
    expect(data.sessions).toBe(expected.sessions);
    expect(data.funnel).toEqual([
      { step: 'page_view', sessions: expected.funnel[0] },
      { step: 'add_to_cart', sessions: expected.funnel[1] },
      { step: 'purchase', sessions: expected.funnel[2] },
    ]);
    expect(expected.funnel[2]).toBeGreaterThan(0);
    expect(data.errorsByReason).toEqual([
      { reason: 'invalid_json', count: 1 },
      { reason: 'not_an_object', count: 1 },
    ]);
    const purchases = rows.filter((r) => r.event === 'purchase');
    expect(data.revenue.reduce((n, r) => n + r.orders, 0)).toBe(purchases.length);
    const total = purchases.reduce((n, r) => n + Number(jsonField(r.properties).amount), 0);
    expect(data.revenue.reduce((n, r) => n + r.amount, 0)).toBeCloseTo(total, 2);
    expect(data.activity.reduce((n, s) => n + s.values.reduce((a, b) => a + b, 0), 0)).toBe(rows.length);
    expect(data.sessionsStarted.reduce((a, b) => a + b, 0)).toBe(expected.sessions);

    const html = renderReport(data);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).not.toMatch(/<(script|link|img|iframe|object|embed)\b|url\(|https?:\/\//i);
  });

  withChromium.it('opens in Chromium with its five charts and asks the network for nothing', async () => {
    const sink = await tempDir();
    await landReportData(sink);
    const file = path.join(sink, 'report.html');
    await writeFile(file, renderReport(await collectReport({ kind: 'directory', path: sink })));

    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(`file://${file}`);
      expect(requests).toEqual([`file://${file}`]);
      expect(await page.locator('svg').count()).toBe(5);
      expect(await page.locator('svg rect').count()).toBeGreaterThan(20);
      expect(await page.locator('h2').allTextContents()).toEqual([
        'Activity over time, by event type',
        'Sessions',
        'Funnel: page view → add to cart → purchase',
        'Revenue from purchases',
        'Errors by reason',
      ]);
    } finally {
      await browser.close();
    }
  });

  it('renders an empty sink as a page that says so', async () => {
    const data = await collectReport({ kind: 'directory', path: path.join(await tempDir(), 'none') });
    expect(data).toMatchObject({ events: 0, sessions: 0, errors: 0, buckets: [] });
    const html = renderReport(data);
    expect(html).toContain('No events landed yet.');
    expect(html).toContain('No records in errors/.');
  });
});

describe('activity report over a simulated day', () => {
  it('shows sessions of minutes over many hours', async () => {
    const sink = await tempDir();
    const end = Date.parse('2026-12-03T12:00:00.000Z');
    const simulator = new Simulator({ users: 200, seed: 'report-day', span: 86_400_000, now: () => end });
    const lines = Array.from({ length: 6000 }, () => simulator.nextEncoded().data.toString('utf8'));
    await land(new DirectoryStore(sink), lines, { format: 'ndjson' });

    const data = await collectReport({ kind: 'directory', path: sink });

    expect(data.events).toBe(6000);
    const hours = new Set(data.buckets.filter((_, i) => data.activity.some((s) => (s.values[i] ?? 0) > 0)));
    expect(Date.parse(data.lastEvent ?? '') - Date.parse(data.firstEvent ?? '')).toBeGreaterThan(
      20 * 3_600_000,
    );
    expect(hours.size).toBeGreaterThan(10);
    expect(data.medianSessionSeconds).toBeGreaterThan(60);
    expect(data.medianSessionSeconds).toBeLessThan(30 * 60);
  });
});
