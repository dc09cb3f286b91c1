import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, describe, expect, it } from 'vitest';
import {
  analyseQuery,
  cellValue,
  formatCsv,
  formatJson,
  formatTable,
  LandedData,
  type QueryResult,
} from '../../src/query/index.js';
import { DirectoryStore } from '../../src/sink/index.js';
import { useTempDir } from '../support/temp.js';
import {
  countBy,
  distinctEvents,
  jsonField,
  land,
  readLandedRows,
  simulated,
  visibleFiles,
} from './helpers.js';

const tempDir = useTempDir();
const opened: LandedData[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((d) => d.close()));
});

async function open(sink: string): Promise<LandedData> {
  const data = await LandedData.open({ kind: 'directory', path: sink });
  opened.push(data);
  return data;
}

/** A result as plain objects (numbers as numbers, JSON columns parsed). */
function objects(result: QueryResult): Record<string, unknown>[] {
  return result.rows.map((row) =>
    Object.fromEntries(row.map((cell, i) => [result.columns[i]?.name, cellValue(cell)])),
  );
}

async function pairs(data: LandedData, sql: string): Promise<Record<string, number>> {
  const result = await data.query(sql);
  return Object.fromEntries(
    result.rows.map((row) => [String(cellValue(row[0] ?? null)), Number(cellValue(row[1] ?? null))]),
  );
}

/** 3,000 simulated events over about three hours, on two shards, with a few lines that are not events. */
async function landSample(
  sink: string,
  format: 'ndjson' | 'parquet',
  lines = simulated(3000, { stepMs: 4000 }),
) {
  const store = new DirectoryStore(sink);
  await store.connect();
  const half = Math.floor(lines.length / 2);
  await land(store, [...lines.slice(0, half), '{not json', '{"user_id":"u"}'], {
    format,
    shard: 0,
    batch: 400,
  });
  await land(store, lines.slice(half), { format, shard: 1, batch: 700 });
  return { store, lines };
}

describe('activity query over a directory sink', () => {
  it('gives the counts computed independently from the files', async () => {
    const sink = await tempDir();
    await landSample(sink, 'ndjson');
    const rows = await readLandedRows(sink, 'events');
    const errors = await readLandedRows(sink, 'errors');
    expect(rows).toHaveLength(3000);
    const data = await open(sink);

    expect(await pairs(data, 'SELECT event, count(*) FROM events GROUP BY 1')).toEqual(
      countBy(rows, (r) => r.event),
    );
    expect(
      await pairs(data, `SELECT strftime(dt, '%Y-%m-%d') || '/' || hour, count(*) FROM events GROUP BY 1`),
    ).toEqual(countBy(rows, (r) => `${r.dt}/${r.hour}`));
    const [users] = objects(
      await data.query('SELECT count(DISTINCT user_id) AS users, count(*) AS events FROM events'),
    );
    expect(users).toEqual({ users: new Set(rows.map((r) => r.user_id)).size, events: 3000 });

    const purchases = rows.filter((r) => r.event === 'purchase');
    expect(purchases.length).toBeGreaterThan(0);
    const revenue: Record<string, number> = {};
    for (const p of purchases) {
      const { currency, amount } = jsonField(p.properties) as { currency: string; amount: number };
      revenue[currency] = Math.round(((revenue[currency] ?? 0) + amount) * 100) / 100;
    }
    expect(
      await pairs(
        data,
        `SELECT properties->>'currency', sum((properties->>'amount')::DECIMAL(18, 2)) FROM events WHERE event = 'purchase' GROUP BY 1`,
      ),
    ).toEqual(Object.fromEntries(Object.entries(revenue).sort()));

    expect(await pairs(data, 'SELECT reason, count(*) FROM errors GROUP BY 1')).toEqual(
      countBy(errors, (r) => r.reason),
    );
    expect(errors.map((e) => e.reason).sort()).toEqual(['invalid_json', 'missing_field']);
  });

  it('does not change any count when an object is landed twice, in either format', async () => {
    const sink = await tempDir();
    const { store, lines } = await landSample(sink, 'ndjson');
    const data = await open(sink);
    const queries = [
      'SELECT event, count(*) FROM events GROUP BY 1',
      'SELECT user_id, count(*) FROM events GROUP BY 1',
      `SELECT strftime(dt, '%Y-%m-%d') || '/' || hour, count(*) FROM events GROUP BY 1`,
      'SELECT reason, count(*) FROM errors GROUP BY 1',
    ];
    const before = await Promise.all(queries.map((q) => pairs(data, q)));
    const rawBefore = (await readLandedRows(sink, 'events')).length;

    // The same bytes under another name (a replay through another consumer), in events/ and errors/…
    const files = await visibleFiles(sink);
    const event = files.find((f) => f.startsWith(`events${path.sep}`)) as string;
    const error = files.find((f) => f.startsWith(`errors${path.sep}`)) as string;
    await copyFile(
      path.join(sink, event),
      path.join(sink, event.replace('shardId-000000000000', 'shardId-000000000042')),
    );
    await copyFile(
      path.join(sink, error),
      path.join(sink, error.replace('shardId-000000000000', 'shardId-000000000042')),
    );
    // …and the whole stream landed again as Parquet, at other stream positions.
    await land(store, lines, { format: 'parquet', shard: 7, batch: 1000 });

    const rawAfter = await readLandedRows(sink, 'events');
    expect(rawAfter.length).toBeGreaterThan(rawBefore + lines.length);
    expect(distinctEvents(rawAfter)).toHaveLength(lines.length);
    expect(await Promise.all(queries.map((q) => pairs(data, q)))).toEqual(before);
  });

  it('gives the same answers from NDJSON, Parquet and mixed sinks, to the last column', async () => {
    const lines = simulated(2000, { stepMs: 5000, seed: 'formats' });
    const ndjson = await tempDir();
    const parquet = await tempDir();
    const mixed = await tempDir();
    await landSample(ndjson, 'ndjson', lines);
    await landSample(parquet, 'parquet', lines);
    const mixedStore = new DirectoryStore(mixed);
    await land(mixedStore, lines.slice(0, 900), { format: 'parquet', batch: 300 });
    await land(mixedStore, lines.slice(900), { format: 'ndjson', batch: 300, firstSeq: 5000 });
    expect(
      (await visibleFiles(parquet))
        .filter((f) => f.startsWith('events'))
        .every((f) => f.endsWith('.parquet')),
    ).toBe(true);

    const queries = [
      'SELECT * FROM events ORDER BY event_id',
      'SELECT event, count(*), min("timestamp"), max(received_at) FROM events GROUP BY ALL ORDER BY 1',
      `SELECT context->>'device' AS device, properties->>'path' AS path, count(*) FROM events GROUP BY ALL ORDER BY ALL`,
      `SELECT sum((properties->>'amount')::DECIMAL(18, 2)) FROM events WHERE event = 'purchase'`,
      `SELECT count(DISTINCT session_id), date_trunc('hour', "timestamp") AS h FROM events GROUP BY h ORDER BY h`,
    ];
    for (const sql of queries) {
      const [a, b, c] = await Promise.all(
        [ndjson, parquet, mixed].map(async (sink) => formatJson(await (await open(sink)).query(sql))),
      );
      expect(b, sql).toBe(a);
      expect(c, sql).toBe(a);
    }
    const [first] = objects(
      await (await open(parquet)).query('SELECT * FROM events ORDER BY "timestamp" LIMIT 1'),
    );
    expect(first).toMatchObject({
      event_id: JSON.parse(lines[0] as string).event_id,
      timestamp: '2026-11-24T08:00:00.000Z',
      received_at: '2026-11-24T08:00:00.100Z',
      sent_at: null,
      dt: '2026-11-24',
      hour: 8,
    });
    expect(first?.properties).toEqual(JSON.parse(lines[0] as string).properties);
  });

  it('reads an empty or missing sink as empty views of the same columns, and leaves it uncreated', async () => {
    const sink = path.join(await tempDir(), 'nothing-here');
    const data = await open(sink);
    const events = await data.query('SELECT * FROM events');
    expect(events.rows).toEqual([]);
    expect(events.columns.map((c) => `${c.name} ${c.type}`)).toEqual([
      'event_id VARCHAR',
      'user_id VARCHAR',
      'event VARCHAR',
      'timestamp TIMESTAMP WITH TIME ZONE',
      'received_at TIMESTAMP WITH TIME ZONE',
      'session_id VARCHAR',
      'sent_at TIMESTAMP WITH TIME ZONE',
      'original_timestamp TIMESTAMP WITH TIME ZONE',
      'properties JSON',
      'context JSON',
      'anonymous_id VARCHAR',
      'traits JSON',
      'group_id VARCHAR',
      'previous_id VARCHAR',
      'integrations JSON',
      'event_schema VARCHAR',
      'contexts JSON',
      'browser VARCHAR',
      'browser_version VARCHAR',
      'os VARCHAR',
      'device_type VARCHAR',
      'is_bot BOOLEAN',
      'utm_source VARCHAR',
      'utm_medium VARCHAR',
      'utm_campaign VARCHAR',
      'utm_term VARCHAR',
      'utm_content VARCHAR',
      'referrer_host VARCHAR',
      'referrer_medium VARCHAR',
      'dt DATE',
      'hour INTEGER',
    ]);
    expect((await data.query('SELECT count(*) FROM errors')).rows).toEqual([
      [expect.objectContaining({ text: '0' })],
    ]);
    expect(await visibleFiles(sink)).toEqual([]);
  });

  it('skips hidden names and files outside the landed layout', async () => {
    const sink = await tempDir();
    await landSample(sink, 'ndjson');
    const partition = path.join(sink, 'events', 'dt=2026-11-24', 'hour=08');
    await writeFile(path.join(partition, '.shardId-000000000000-1.ndjson.gz.1234.tmp'), 'half an object');
    await writeFile(path.join(partition, '_shardId-000000000003-1.ndjson.gz'), 'not gzip');
    await mkdir(path.join(sink, 'events', '_temporary', 'dt=2026-11-24', 'hour=08'), { recursive: true });
    await writeFile(path.join(sink, 'events', '_temporary', 'dt=2026-11-24', 'hour=08', 'x.parquet'), 'junk');
    await writeFile(path.join(sink, 'events', 'README.txt'), 'not data');
    const data = await open(sink);
    expect(await pairs(data, 'SELECT 1, count(*) FROM events')).toEqual({ 1: 3000 });
  });

  it('reads only the partitions a WHERE clause on dt and hour selects, with the same answer', async () => {
    const sink = await tempDir();
    await landSample(sink, 'ndjson');
    const files = (await visibleFiles(path.join(sink, 'events'))).map((f) => f.split(path.sep).join('/'));
    const in09 = files.filter((f) => f.startsWith('dt=2026-11-24/hour=09/')).length;
    expect(in09).toBeGreaterThan(0);
    expect(in09).toBeLessThan(files.length);
    const data = await open(sink);

    const pruned = await data.query(
      `SELECT event, count(*) FROM events WHERE dt = '2026-11-24' AND hour = 9 GROUP BY 1 ORDER BY 1`,
    );
    const whole = await data.query(
      `SELECT event, count(*) FROM events WHERE (dt = '2026-11-24' AND hour = 9) OR event_id IS NULL GROUP BY 1 ORDER BY 1`,
    );
    // errors/ is not named, so not even listed.
    expect(pruned.stats).toMatchObject({ objects: in09, listed: files.length });
    expect(whole.stats.objects).toBe(files.length);
    expect(formatJson(pruned)).toBe(formatJson(whole));
    expect(pruned.rows.length).toBeGreaterThan(0);

    const recent = await data.query(
      `SELECT count(*) FROM events WHERE dt >= current_date - INTERVAL 3650 DAY AND hour > 8`,
    );
    expect(recent.stats.objects).toBe(files.length - files.filter((f) => f.includes('hour=08')).length);
    const joined = await data.query(
      `SELECT count(*) FROM events e JOIN events f USING (event_id) WHERE e.hour = 9 AND f.hour = 9 AND e.dt = f.dt`,
    );
    expect(joined.stats.objects).toBe(in09);
    expect(cellValue(joined.rows[0]?.[0] ?? null)).toBe(
      cellValue(pruned.rows.reduce((n, r) => n + Number(cellValue(r[1] ?? null)), 0)),
    );
  });

  it('runs several statements and prints the last result', async () => {
    const sink = await tempDir();
    await landSample(sink, 'ndjson');
    const data = await open(sink);
    const result = await data.query(
      `CREATE TEMP TABLE t AS SELECT event FROM events; SELECT count(*) AS n FROM t WHERE event = 'login'`,
    );
    const logins = (await readLandedRows(sink, 'events')).filter((r) => r.event === 'login').length;
    expect(objects(result)).toEqual([{ n: logins }]);
  });

  it('fails with one line that names the problem and the views', async () => {
    const data = await open(await tempDir());
    await expect(data.query('SELEC 1')).rejects.toMatchObject({
      code: 'invalid_sql',
      message: expect.stringMatching(
        /^Parser Error: syntax error at or near "SELEC"; the views are events and errors/,
      ),
    });
    await expect(data.query('SELECT * FROM evnts')).rejects.toMatchObject({
      code: 'unknown_name',
      message: expect.not.stringContaining('\n'),
    });
  });
});

describe('which partitions a query reads', () => {
  async function needs(sql: string) {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      const result = await analyseQuery(connection, sql);
      const show = (n: (typeof result)['events']) => (n.kind === 'some' ? n.predicates.length : n.kind);
      return { events: show(result.events), errors: show(result.errors) };
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  }

  it.each([
    ['SELECT 1', { events: 'none', errors: 'none' }],
    ['SELECT * FROM events', { events: 'all', errors: 'none' }],
    [`SELECT * FROM events WHERE dt = '2026-01-01' AND event = 'x'`, { events: 1, errors: 'none' }],
    [`SELECT * FROM events e, errors r WHERE e.dt = r.dt AND r.hour = 3`, { events: 'all', errors: 1 }],
    [`SELECT * FROM events WHERE dt = '2026-01-01' OR event = 'x'`, { events: 'all', errors: 'none' }],
    [`SELECT * FROM events WHERE hour = (SELECT max(hour) FROM errors)`, { events: 'all', errors: 'all' }],
    [`SELECT * FROM events WHERE hour = floor(random() * 24)`, { events: 'all', errors: 'none' }],
    [`SELECT * FROM events WHERE dt = current_date`, { events: 1, errors: 'none' }],
    [
      `SELECT * FROM errors LEFT JOIN events e ON true WHERE e.dt = '2026-01-01'`,
      { events: 'all', errors: 'all' },
    ],
    [
      `SELECT * FROM events e JOIN errors USING (dt) WHERE dt = '2026-01-01'`,
      { events: 'all', errors: 'all' },
    ],
    [`SELECT * FROM query_table('events') WHERE dt = '2026-01-01'`, { events: 'all', errors: 'none' }],
    [
      `WITH x AS (SELECT * FROM events WHERE hour < 3) SELECT * FROM x WHERE hour = 2`,
      { events: 1, errors: 'none' },
    ],
    [`SELECT * FROM events USING SAMPLE 10 WHERE dt = '2026-01-01'`, { events: 'all', errors: 'none' }],
    [`DESCRIBE events`, { events: 'all', errors: 'none' }],
    [`SELECT 'events' AS word`, { events: 'none', errors: 'none' }],
  ])('%s', async (sql, expected) => {
    expect(await needs(sql)).toEqual(expected);
  });
});

describe('query output', () => {
  async function result(sql: string): Promise<QueryResult> {
    return (await open(await tempDir())).query(sql);
  }

  it('prints JSON rows with exact integers, embedded JSON columns and ISO times', async () => {
    const r = await result(
      `SELECT 9007199254740993::BIGINT AS big, 1.50::DECIMAL(5, 2) AS price, '{"a":[1,2]}'::JSON AS props,
        TIMESTAMPTZ '2026-11-25 19:31:12.345+00' AS t, DATE '2026-11-25' AS d, NULL AS nothing, [1, 2] AS list, 'x"y' AS s`,
    );
    expect(formatJson(r)).toBe(
      '[\n{"big":9007199254740993,"price":1.50,"props":{"a":[1,2]},"t":"2026-11-25T19:31:12.345Z","d":"2026-11-25","nothing":null,"list":[1,2],"s":"x\\"y"}\n]\n',
    );
    expect(formatJson(await result('SELECT 1 WHERE false'))).toBe('[]\n');
  });

  it('prints CSV with quoting where needed and an empty field for NULL', async () => {
    const r = await result(`SELECT 'a,b' AS "x,y", 'say "hi"' AS q, NULL AS n, 2 AS i`);
    expect(formatCsv(r)).toBe('"x,y",q,n,i\r\n"a,b","say ""hi""",,2\r\n');
  });

  it('prints an aligned table with numbers to the right and a row count', async () => {
    const r = await result(`SELECT * FROM (VALUES ('page_view', 12345), ('purchase', 7)) AS t(event, n)`);
    expect(formatTable(r)).toBe(
      [
        'event           n',
        '─────────  ──────',
        'page_view  12,345',
        'purchase        7',
        '(2 rows)',
        '',
      ].join('\n'),
    );
  });
});
