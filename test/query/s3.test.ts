import { afterEach, describe, expect, it } from 'vitest';
import { compact } from '../../src/compact/index.js';
import type { ObjectStore } from '../../src/core/ports.js';
import { isCompactedKey, listLanded } from '../../src/layout/index.js';
import { cellValue, LandedData } from '../../src/query/index.js';
import { S3Store } from '../../src/sink/index.js';
import { freshS3Prefix } from '../contract/object-store-contract.js';
import { runCli } from '../support/cli.js';
import { useStubbedS3rver } from '../support/s3rver.js';
import { countBy, land, simulated } from './helpers.js';

const BUCKET = 'activity-query';
useStubbedS3rver([BUCKET]);

const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close()));
});

/** Two hours of events on S3 under a fresh prefix: NDJSON from one shard, Parquet from another, some twice. */
async function landOnS3() {
  const prefix = freshS3Prefix();
  const store = new S3Store({ bucket: BUCKET, prefix });
  opened.push(store);
  await store.connect();
  const lines = simulated(1600, { stepMs: 5000, seed: 's3' });
  await land(store, lines.slice(0, 800), { format: 'ndjson', shard: 0, batch: 200 });
  await land(store, lines.slice(800), { format: 'parquet', shard: 1, batch: 200 });
  await land(store, lines.slice(0, 300), { format: 'parquet', shard: 2, batch: 300 });
  await land(store, ['{broken'], { format: 'ndjson', shard: 3 });
  const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { prefix, store, events, location: { kind: 's3' as const, bucket: BUCKET, prefix } };
}

async function open(location: { kind: 's3'; bucket: string; prefix: string }, store?: ObjectStore) {
  const data = await LandedData.open(location, store === undefined ? {} : { store });
  opened.push(data);
  return data;
}

async function pairs(data: LandedData, sql: string): Promise<Record<string, number>> {
  const result = await data.query(sql);
  return Object.fromEntries(
    result.rows.map((r) => [String(cellValue(r[0] ?? null)), Number(cellValue(r[1] ?? null))]),
  );
}

describe('activity query over an S3 sink (s3rver)', () => {
  it('downloads the objects through the S3 store and gives the counts of the events sent, once each', async () => {
    const { events, location } = await landOnS3();
    const data = await open(location);
    expect(await pairs(data, 'SELECT event, count(*) FROM events GROUP BY 1')).toEqual(
      countBy(events, (e) => e.event),
    );
    expect(await pairs(data, 'SELECT reason, count(*) FROM errors GROUP BY 1')).toEqual({ invalid_json: 1 });
    expect(data.fetched.objects).toBeGreaterThan(0);
  });

  it('downloads only the objects of the hours a query selects, and each object once', async () => {
    const { store, events, location } = await landOnS3();
    const all = await listLanded(store, 'events');
    const hour9 = all.filter((o) => o.hour === 9);
    expect(hour9.length).toBeGreaterThan(0);
    expect(hour9.length).toBeLessThan(all.length);
    const data = await open(location);

    const nine = await pairs(
      data,
      `SELECT hour, count(*) FROM events WHERE dt = '2026-11-24' AND hour = 9 GROUP BY 1`,
    );
    expect(nine).toEqual({ 9: events.filter((e) => String(e.timestamp).startsWith('2026-11-24T09')).length });
    expect(data.fetched.objects).toBe(hour9.length);

    await pairs(data, 'SELECT hour, count(*) FROM events GROUP BY 1');
    expect(data.fetched.objects).toBe(all.length);
  });

  it('sees every event once while the sink is compacted under a query', async () => {
    const { store, events, location } = await landOnS3();
    const expected = countBy(events, (e) => e.event);
    let compacted = false;
    // The reader lists, the compaction runs to its end, then the reader downloads its stale listing.
    const stale: ObjectStore = {
      url: store.url,
      connect: () => store.connect(),
      close: async () => undefined,
      get: (key, signal) => store.get(key, signal),
      put: (key, body, options, signal) => store.put(key, body, options, signal),
      delete: (key, signal) => store.delete(key, signal),
      list: async function* (prefix, signal) {
        const listed: { key: string; size: number }[] = [];
        for await (const o of store.list(prefix, signal)) listed.push(o);
        if (!compacted && prefix === 'events') {
          compacted = true;
          await compact(location, { before: new Date('2026-11-25T00:00:00.000Z') });
        }
        yield* listed;
      },
    };
    const data = await open(location, stale);
    const result = await data.query('SELECT event, count(*) FROM events GROUP BY 1');
    expect(compacted).toBe(true);
    expect(result.stats.restarts).toBe(1);
    expect(
      Object.fromEntries(
        result.rows.map((r) => [String(cellValue(r[0] ?? null)), Number(cellValue(r[1] ?? null))]),
      ),
    ).toEqual(expected);
    const left = await listLanded(store, 'events');
    expect(left.length).toBe(new Set(left.map((o) => `${o.dt}/${o.hour}`)).size);
    expect(left.every((o) => isCompactedKey(o.key))).toBe(true);
    expect(await pairs(await open(location), 'SELECT event, count(*) FROM events GROUP BY 1')).toEqual(
      expected,
    );
  });

  it('answers `activity query --sink s3://…` from the command line', async () => {
    const { prefix, events } = await landOnS3();
    const result = await runCli(
      [
        'query',
        '--sink',
        `s3://${BUCKET}/${prefix}`,
        '--output',
        'json',
        'SELECT count(*) AS n, count(DISTINCT user_id) AS users FROM events',
      ],
      { env: { ...process.env } },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([
      { n: events.length, users: new Set(events.map((e) => e.user_id)).size },
    ]);
  });
});
