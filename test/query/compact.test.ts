import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, describe, expect, it } from 'vitest';
import { compact, parseCompactBefore } from '../../src/compact/index.js';
import type { ObjectStore } from '../../src/core/ports.js';
import { isCompactedKey } from '../../src/layout/index.js';
import { cellValue, LandedData } from '../../src/query/index.js';
import { DirectoryStore } from '../../src/sink/index.js';
import { useTempDir } from '../support/temp.js';
import { distinctEvents, land, readLandedRows, simulated, visibleFiles } from './helpers.js';

const tempDir = useTempDir();
const opened: LandedData[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((d) => d.close()));
});

const QUERIES = [
  'SELECT event, count(*) FROM events GROUP BY 1 ORDER BY 1',
  `SELECT strftime(dt, '%Y-%m-%d') || '/' || hour AS p, count(*), count(DISTINCT event_id), min("timestamp") FROM events GROUP BY 1 ORDER BY 1`,
  'SELECT user_id, count(*) FROM events GROUP BY 1 ORDER BY 1',
  'SELECT * FROM events ORDER BY event_id LIMIT 50',
];

async function answers(data: LandedData): Promise<string> {
  const out: unknown[] = [];
  for (const sql of QUERIES) out.push((await data.query(sql)).rows.map((r) => r.map(cellValue)));
  return JSON.stringify(out);
}

async function openData(sink: string, store?: ObjectStore): Promise<LandedData> {
  const data = await LandedData.open({ kind: 'directory', path: sink }, store === undefined ? {} : { store });
  opened.push(data);
  return data;
}

/**
 * Events from 08:00 to about 11:40 on 2026-11-24, landed as NDJSON by one shard and as Parquet by
 * another, with the first 400 landed a second time (a replay): many objects per hour, and copies.
 */
async function landHours(sink: string) {
  const store = new DirectoryStore(sink);
  await store.connect();
  const lines = simulated(2400, { stepMs: 5500, seed: 'compact' });
  await land(store, lines.slice(0, 1200), { format: 'ndjson', shard: 0, batch: 150 });
  await land(store, lines.slice(1200), { format: 'parquet', shard: 1, batch: 150 });
  await land(store, lines.slice(0, 400), { format: 'parquet', shard: 2, batch: 200 });
  return { store, lines };
}

const BEFORE = new Date('2026-11-24T11:00:00.000Z');

/** Rows of a Parquet file read by DuckDB directly, not through the views. */
async function parquetRows(file: string): Promise<{ rows: number; ids: number }> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(
      `SELECT count(*), count(DISTINCT event_id) FROM read_parquet('${file.replaceAll("'", "''")}')`,
    );
    const [rows, ids] = reader.getRows()[0] ?? [];
    return { rows: Number(rows), ids: Number(ids) };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** A store that runs `hook` after some calls, to stop compaction at a chosen moment. */
function hooked(
  inner: ObjectStore,
  hooks: { afterPut?: (key: string) => Promise<void>; beforeDelete?: (key: string) => Promise<void> },
): ObjectStore {
  return {
    url: inner.url,
    connect: () => inner.connect(),
    close: () => inner.close(),
    get: (key, signal) => inner.get(key, signal),
    list: (prefix, signal) => inner.list(prefix, signal),
    put: async (key, body, options, signal) => {
      await inner.put(key, body, options, signal);
      await hooks.afterPut?.(key);
    },
    delete: async (key, signal) => {
      await hooks.beforeDelete?.(key);
      await inner.delete(key, signal);
    },
  };
}

describe('activity compact', () => {
  it('turns each closed hour into one Parquet object, one row per event, with the same answers', async () => {
    const sink = await tempDir();
    const { lines } = await landHours(sink);
    const data = await openData(sink);
    const before = await answers(data);
    const objectsBefore = await visibleFiles(path.join(sink, 'events'));
    const openHour = distinctEvents(await readLandedRows(sink, 'events')).filter((r) => r.hour === 11).length;

    const result = await compact({ kind: 'directory', path: sink }, { before: BEFORE });

    expect(result.hours.map((h) => h.partition)).toEqual([
      'dt=2026-11-24/hour=08',
      'dt=2026-11-24/hour=09',
      'dt=2026-11-24/hour=10',
    ]);
    expect(result.open).toBe(1);
    const after = (await visibleFiles(path.join(sink, 'events'))).map((f) => f.split(path.sep).join('/'));
    for (const hour of ['08', '09', '10']) {
      const objects = after.filter((f) => f.startsWith(`dt=2026-11-24/hour=${hour}/`));
      expect(objects).toHaveLength(1);
      expect(isCompactedKey(objects[0] as string)).toBe(true);
      expect(await parquetRows(path.join(sink, 'events', objects[0] as string))).toEqual({
        rows: result.hours.find((h) => h.partition.endsWith(hour))?.events,
        ids: result.hours.find((h) => h.partition.endsWith(hour))?.events,
      });
    }
    expect(after.filter((f) => f.includes('hour=11/'))).toEqual(
      objectsBefore.map((f) => f.split(path.sep).join('/')).filter((f) => f.includes('hour=11/')),
    );
    expect(result.hours.reduce((n, h) => n + h.events, 0) + openHour).toBe(lines.length);
    expect(await answers(data)).toBe(before);

    const again = await compact({ kind: 'directory', path: sink }, { before: BEFORE });
    expect(again).toMatchObject({ hours: [], alreadyCompacted: 3, open: 1 });
  });

  it('never shows a reader an event twice or not at all, at any step of the switch', async () => {
    const sink = await tempDir();
    await landHours(sink);
    const expected = await answers(await openData(sink));
    const reader = await openData(sink);
    const checks: string[] = [];
    const check = async (moment: string) => {
      expect(await answers(reader), moment).toBe(expected);
      checks.push(moment);
    };
    const store = hooked(new DirectoryStore(sink), {
      // inputs and compacted object side by side
      afterPut: (key) => check(`after put ${key}`),
      // some inputs gone, the others still there
      beforeDelete: async (key) => {
        if (key.endsWith('-1.ndjson.gz') || key.includes('shardId-000000000002'))
          await check(`before delete ${key}`);
      },
    });

    await compact({ kind: 'directory', path: sink }, { before: BEFORE, store });

    expect(checks.filter((c) => c.startsWith('after put'))).toHaveLength(3);
    expect(checks.filter((c) => c.startsWith('before delete')).length).toBeGreaterThanOrEqual(3);
    await check('after');
  });

  it('starts a query again when the objects it listed are compacted away before it reads them', async () => {
    const sink = await tempDir();
    await landHours(sink);
    const expected = await answers(await openData(sink));
    const real = new DirectoryStore(sink);
    let compacted = false;
    // The reader lists, then the whole compaction runs, then the reader reads its stale listing.
    const stale: ObjectStore = {
      ...hooked(real, {}),
      list: async function* (prefix) {
        const listed: { key: string; size: number }[] = [];
        for await (const o of real.list(prefix)) listed.push(o);
        if (!compacted && prefix === 'events') {
          compacted = true;
          await compact({ kind: 'directory', path: sink }, { before: BEFORE });
        }
        yield* listed;
      },
    };
    const reader = await openData(sink, stale);
    const result = await reader.query(QUERIES[1] as string);
    expect(compacted).toBe(true);
    expect(result.stats.restarts).toBe(1);
    expect(JSON.stringify([result.rows.map((r) => r.map(cellValue))])).toBe(
      JSON.stringify([JSON.parse(expected)[1]]),
    );
  });

  it('keeps answers right while a reader queries in a loop during compaction', async () => {
    const sink = await tempDir();
    await landHours(sink);
    const expected = await answers(await openData(sink));
    const reader = await openData(sink);
    let done = false;
    let reads = 0;
    const loop = (async () => {
      while (!done) {
        expect(await answers(reader)).toBe(expected);
        reads++;
      }
    })();
    await compact({ kind: 'directory', path: sink }, { before: BEFORE });
    done = true;
    await loop;
    expect(reads).toBeGreaterThan(0);
    expect(await answers(reader)).toBe(expected);
  });

  it('lands late events beside a compacted hour and merges them on the next run', async () => {
    const sink = await tempDir();
    const { store, lines } = await landHours(sink);
    await compact({ kind: 'directory', path: sink }, { before: BEFORE });
    const data = await openData(sink);
    const count = async () =>
      Number(
        cellValue((await data.query('SELECT count(*) FROM events WHERE hour = 9')).rows[0]?.[0] ?? null),
      );
    const nine = await count();

    // A replay of hour 9 (copies) and new events stamped in hour 9, arriving late.
    const hour9 = lines.filter((l) => JSON.parse(l).timestamp.startsWith('2026-11-24T09'));
    const late = simulated(100, {
      seed: 'late',
      startMs: Date.parse('2026-11-24T09:30:00.000Z'),
      stepMs: 1000,
    });
    await land(store, hour9, { format: 'ndjson', shard: 5, batch: 1000 });
    await land(store, late, { format: 'ndjson', shard: 6, batch: 1000 });
    expect(await count()).toBe(nine + 100);
    const files = async () =>
      (await visibleFiles(path.join(sink, 'events', 'dt=2026-11-24', 'hour=09'))).length;
    expect(await files()).toBe(3);

    const result = await compact({ kind: 'directory', path: sink }, { before: BEFORE });
    expect(result.hours.map((h) => [h.partition, h.inputs, h.events])).toEqual([
      ['dt=2026-11-24/hour=09', 3, nine + 100],
    ]);
    expect(await files()).toBe(1);
    expect(await count()).toBe(nine + 100);
  });

  it('after a crash between the put and the deletes, answers stay right and the next run finishes', async () => {
    const sink = await tempDir();
    await landHours(sink);
    const data = await openData(sink);
    const expected = await answers(data);
    const crashing = hooked(new DirectoryStore(sink), {
      beforeDelete: async () => {
        throw new Error('killed');
      },
    });
    await expect(
      compact({ kind: 'directory', path: sink }, { before: BEFORE, store: crashing }),
    ).rejects.toThrow('killed');
    const hour8 = async () => visibleFiles(path.join(sink, 'events', 'dt=2026-11-24', 'hour=08'));
    expect((await hour8()).filter((f) => isCompactedKey(f))).toHaveLength(1);
    expect((await hour8()).length).toBeGreaterThan(1);
    expect(await answers(data)).toBe(expected);

    await compact({ kind: 'directory', path: sink }, { before: BEFORE });
    expect(await hour8()).toHaveLength(1);
    expect(await answers(data)).toBe(expected);
  });

  it('changes nothing in a dry run', async () => {
    const sink = await tempDir();
    await landHours(sink);
    const files = await visibleFiles(sink);
    const result = await compact({ kind: 'directory', path: sink }, { before: BEFORE, dryRun: true });
    expect(result.hours).toHaveLength(3);
    expect(result.hours.every((h) => h.inputs > 1 && h.bytes === 0)).toBe(true);
    expect(await visibleFiles(sink)).toEqual(files);
  });

  it('reads --before as a time, a date or a duration ago, and refuses anything else', () => {
    const now = Date.parse('2026-11-25T21:30:00.000Z');
    expect(parseCompactBefore('2026-11-25T20:00:00Z', now).toISOString()).toBe('2026-11-25T20:00:00.000Z');
    expect(parseCompactBefore('2026-11-25', now).toISOString()).toBe('2026-11-25T00:00:00.000Z');
    expect(parseCompactBefore('2h', now).toISOString()).toBe('2026-11-25T19:30:00.000Z');
    expect(() => parseCompactBefore('yesterday', now)).toThrow(/--before must be .* \(given "yesterday"\)/);
  });
});
