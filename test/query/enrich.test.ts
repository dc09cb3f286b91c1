import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DirectoryStore } from '../../src/sink/index.js';
import { runCli } from '../support/cli.js';
import { activityJson } from '../support/kinesis-events.js';
import { useTempDir } from '../support/temp.js';
import { land } from './helpers.js';

const tempDir = useTempDir();

const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1';
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

/** Events as the tracker (`context.page`, `context.user_agent`), Segment (`userAgent`) and a bare sender give them. */
const LINES = [
  activityJson({
    event_id: 'e1',
    event: 'page_view',
    context: {
      user_agent: CHROME,
      page: {
        url: 'https://shop.example/deals?utm_source=newsletter&utm_medium=email&utm_campaign=winter',
        referrer: 'https://www.google.com/',
      },
    },
  }),
  activityJson({
    event_id: 'e2',
    event: 'page_view',
    context: {
      userAgent: IPHONE,
      page: { url: 'https://shop.example/cart', referrer: 'https://shop.example/deals' },
    },
  }),
  activityJson({ event_id: 'e3', event: 'page_view', context: { user_agent: GOOGLEBOT } }),
  activityJson({ event_id: 'e4', event: 'click' }),
];

const SQL = `SELECT event_id, browser, browser_version, os, device_type, is_bot, utm_source, utm_medium,
  utm_campaign, utm_term, referrer_host, referrer_medium FROM events ORDER BY event_id`;

/** A row of an event that carries no source of enrichment. */
const NOTHING = Object.fromEntries(
  SQL.split('SELECT ')[1]
    ?.split(' FROM')[0]
    ?.split(',')
    .map((name) => [name.trim(), null]) ?? [],
);

describe('enrichment, landed and queried', () => {
  for (const format of ['ndjson', 'parquet'] as const) {
    it(`lands the enrichment columns in ${format} and activity query reads them back`, async () => {
      // Prepare
      const sink = path.join(await tempDir(), 'sink');
      const store = new DirectoryStore(sink);
      await store.connect();
      await land(store, LINES, { format });
      await store.close();

      // Act
      const result = await runCli(['query', '--sink', sink, '--output', 'json', SQL]);

      // Assess
      expect(result.stderr).toBe('');
      expect(JSON.parse(result.stdout)).toEqual([
        {
          event_id: 'e1',
          browser: 'Chrome',
          browser_version: '131.0.0.0',
          os: 'Windows',
          device_type: 'desktop',
          is_bot: false,
          utm_source: 'newsletter',
          utm_medium: 'email',
          utm_campaign: 'winter',
          utm_term: null,
          referrer_host: 'www.google.com',
          referrer_medium: 'search',
        },
        {
          event_id: 'e2',
          browser: 'Mobile Safari',
          browser_version: '18.1',
          os: 'iOS',
          device_type: 'mobile',
          is_bot: false,
          utm_source: null,
          utm_medium: null,
          utm_campaign: null,
          utm_term: null,
          referrer_host: 'shop.example',
          referrer_medium: 'internal',
        },
        { ...NOTHING, event_id: 'e3', device_type: 'bot', is_bot: true },
        { ...NOTHING, event_id: 'e4' },
      ]);
    });
  }
});
