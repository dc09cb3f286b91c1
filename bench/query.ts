/**
 * `npm run bench:query`: the time of `SELECT event, count(*) FROM events GROUP BY 1` through
 * `activity query`'s engine over N landed events (BENCH_QUERY_EVENTS, default 10,000,000), landed once
 * as NDJSON gzip and once as Parquet with the consumer's own encoders, in objects of 10,000 events (the
 * consumer's default batch) spread over 24 hours of partitions, and a third time as NDJSON without the
 * id range in its gzip header (as objects landed before ranges were written), to show what the range
 * spares. Each query runs BENCH_QUERY_RUNS times (default 5) in a fresh engine: the first run is cold
 * (listing, views, the OS page cache as it is), the median of the others is the warm figure. A direct
 * scan of the files without the deduplicating view is timed as well, to show what deduplication costs.
 * `dedup_vs_raw` is the warm query over the view divided by that direct scan.
 * Last, the NDJSON sink is compacted (`activity compact`: one Parquet object per hour) and timed again:
 * hours that are one compacted object are read without the deduplicating window.
 * Prints a table; with --json, one JSON line per sink (ndjson, ndjson_without_range, parquet, compacted)
 * instead.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compact } from '../src/compact/index.js';
import { encodeLines } from '../src/consumer/landing.js';
import { EVENT_COLUMNS, listLanded, objectKey, PARQUET } from '../src/layout/index.js';
import { Simulator } from '../src/producer/index.js';
import { cellValue, LandedData, rawSource } from '../src/query/index.js';
import { distinctIdRange } from '../src/sink/formats/index.js';
import { withEventIdRange } from '../src/sink/formats/ndjson.js';
import { encodeEventsParquet } from '../src/sink/formats/parquet.js';
import { DirectoryStore } from '../src/sink/index.js';
import { landedByPartition } from './support.js';

const EVENTS = Number(process.env.BENCH_QUERY_EVENTS ?? 10_000_000);
const OBJECT_EVENTS = 10_000;
const RUNS = Number(process.env.BENCH_QUERY_RUNS ?? 5);
const SQL = 'SELECT event, count(*) FROM events GROUP BY 1';
const json = process.argv.includes('--json');
const log = (line: string) => {
  if (!json) process.stderr.write(`${line}\n`);
};

interface Landed {
  objects: number;
  bytes: number;
  encodeSeconds: number;
}

type Sink = 'ndjson' | 'ndjson_without_range' | 'parquet';

/** Lands the same simulated events in each sink, one batch at a time. */
async function landAll(stores: Record<Sink, DirectoryStore>): Promise<Record<Sink, Landed>> {
  const start = Date.parse('2026-11-24T00:00:00.000Z');
  let clock = start;
  const step = 86_400_000 / EVENTS;
  const simulator = new Simulator({ users: 100_000, seed: 'bench-query', now: () => (clock += step) });
  const none = () => ({ objects: 0, bytes: 0, encodeSeconds: 0 });
  const out: Record<Sink, Landed> = { ndjson: none(), ndjson_without_range: none(), parquet: none() };
  let seq = 1;
  for (let done = 0; done < EVENTS; done += OBJECT_EVENTS) {
    const groups = landedByPartition(simulator, Math.min(OBJECT_EVENTS, EVENTS - done));
    for (const [partition, events] of groups) {
      const t0 = performance.now();
      const plain = await encodeLines(events.map((e) => JSON.stringify(e)));
      const t1 = performance.now();
      const body = withEventIdRange(plain, distinctIdRange(events.map((e) => e.event_id)));
      const t2 = performance.now();
      const columns = encodeEventsParquet(events);
      const t3 = performance.now();
      const shard = 'shardId-000000000000';
      const key = objectKey('events', partition, shard, String(seq));
      const gzip = { contentType: 'application/x-ndjson', contentEncoding: 'gzip' };
      const landed: [Sink, Uint8Array, number, string][] = [
        ['ndjson', body, t2 - t0, key],
        ['ndjson_without_range', plain, t1 - t0, key],
        [
          'parquet',
          columns,
          t3 - t2,
          objectKey('events', partition, shard, String(seq), '', PARQUET.extension),
        ],
      ];
      for (const [sink, bytes, ms, objectKeyOf] of landed) {
        await stores[sink].put(
          objectKeyOf,
          bytes,
          sink === 'parquet' ? { contentType: PARQUET.contentType } : gzip,
        );
        out[sink].objects++;
        out[sink].bytes += bytes.byteLength;
        out[sink].encodeSeconds += ms / 1000;
      }
      seq += events.length;
    }
    if ((done / OBJECT_EVENTS) % 50 === 0)
      log(`landed ${(done + OBJECT_EVENTS).toLocaleString('en-US')} of ${EVENTS.toLocaleString('en-US')}`);
  }
  return out;
}

/** One run of `sql` in a fresh engine: its seconds and its rows, sorted. */
async function timeOnce(sink: string, sql: string): Promise<{ seconds: number; rows: string }> {
  const data = await LandedData.open({ kind: 'directory', path: sink });
  try {
    const t = performance.now();
    const result = await data.query(sql);
    const seconds = (performance.now() - t) / 1000;
    const rows = JSON.stringify(
      result.rows.map((r) => r.map(cellValue)).sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
    return { seconds, rows };
  } finally {
    await data.close();
  }
}

type Timed = { seconds: number[]; rows: string };

/**
 * The view's query and the direct scan, RUNS times each, one after the other, so that a change of the
 * machine's load between runs weighs on both alike.
 */
async function timeBoth(sink: string): Promise<{ viaView: Timed; direct: Timed }> {
  const scan = await scanWithoutDedup(sink);
  const viaView: Timed = { seconds: [], rows: '' };
  const direct: Timed = { seconds: [], rows: '' };
  for (let run = 0; run < RUNS; run++) {
    for (const [timed, sql] of [
      [viaView, SQL],
      [direct, scan],
    ] as const) {
      const { seconds, rows } = await timeOnce(sink, sql);
      timed.seconds.push(seconds);
      timed.rows = rows;
    }
  }
  return { viaView, direct };
}

/** The query over every row of the sink's files, typed as the view types them, without deduplication. */
async function scanWithoutDedup(sink: string): Promise<string> {
  const objects = await listLanded(new DirectoryStore(sink), 'events');
  const paths = (format: string) =>
    objects.filter((o) => o.format === format).map((o) => path.join(sink, o.key));
  const source = rawSource(EVENT_COLUMNS, { ndjson: paths('ndjson'), parquet: paths('parquet') });
  return `SELECT event, count(*) FROM (${source}) GROUP BY 1`;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

/** The warm query's median, the direct scan's, and `dedup_vs_raw`: what deduplication costs, as a ratio. */
function warmAgainstScan(view: number[], scan: number[]) {
  const warm = median(view.slice(1));
  const raw = median(scan.slice(1));
  return {
    query_warm_s: Number(warm.toFixed(2)),
    scan_no_dedup_s: Number(raw.toFixed(2)),
    dedup_vs_raw: Number((warm / raw).toFixed(2)),
  };
}

const dir = await mkdtemp(path.join(tmpdir(), 'activity-bench-query-'));
try {
  const names: Sink[] = ['ndjson', 'ndjson_without_range', 'parquet'];
  const sinks = Object.fromEntries(names.map((n) => [n, path.join(dir, n)])) as Record<Sink, string>;
  const started = performance.now();
  const landed = await landAll(
    Object.fromEntries(names.map((n) => [n, new DirectoryStore(sinks[n])])) as Record<Sink, DirectoryStore>,
  );
  log(
    `landed ${EVENTS.toLocaleString('en-US')} events in each of ${names.length} sinks in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );

  const results: Record<string, unknown>[] = [];
  let reference: string | undefined;
  for (const format of names) {
    const sink = sinks[format];
    const { viaView, direct } = await timeBoth(sink);
    if (viaView.rows !== direct.rows) throw new Error(`${format}: the view and the direct scan disagree`);
    reference ??= viaView.rows;
    if (viaView.rows !== reference) throw new Error(`${format} disagrees with ${names[0]}`);
    const info = landed[format];
    results.push({
      format,
      events: EVENTS,
      objects: info.objects,
      mib: Number((info.bytes / 1024 / 1024).toFixed(1)),
      encode_s: Number(info.encodeSeconds.toFixed(1)),
      query_cold_s: Number((viaView.seconds[0] ?? 0).toFixed(2)),
      ...warmAgainstScan(viaView.seconds, direct.seconds),
    });
    log(`${format}: ${JSON.stringify(results.at(-1))}`);
  }

  // The NDJSON sink, compacted: one Parquet object per hour.
  const t = performance.now();
  const compacted = await compact(
    { kind: 'directory', path: sinks.ndjson },
    { before: new Date('2100-01-01T00:00:00Z') },
  );
  const compactSeconds = (performance.now() - t) / 1000;
  log(`compacted ${compacted.hours.length} hours in ${compactSeconds.toFixed(1)} s`);
  const { viaView: afterCompaction, direct } = await timeBoth(sinks.ndjson);
  if (afterCompaction.rows !== reference) throw new Error('the compacted sink gives another answer');
  results.push({
    format: 'compacted',
    events: EVENTS,
    objects: compacted.hours.length,
    mib: Number((compacted.hours.reduce((n, h) => n + h.bytes, 0) / 1024 / 1024).toFixed(1)),
    encode_s: Number(compactSeconds.toFixed(1)),
    query_cold_s: Number((afterCompaction.seconds[0] ?? 0).toFixed(2)),
    ...warmAgainstScan(afterCompaction.seconds, direct.seconds),
  });
  log(`compacted: ${JSON.stringify(results.at(-1))}`);

  if (json) for (const r of results) process.stdout.write(`${JSON.stringify({ sql: SQL, ...r })}\n`);
  else {
    const header = [
      'sink',
      'events',
      'objects',
      'MiB',
      'write s',
      'query cold s',
      'query warm s',
      'scan, no dedup s',
      'dedup ÷ scan',
    ];
    const rows = results.map((r) =>
      [
        r.format,
        Number(r.events).toLocaleString('en-US'),
        r.objects,
        r.mib,
        r.encode_s,
        r.query_cold_s,
        r.query_warm_s,
        r.scan_no_dedup_s,
        r.dedup_vs_raw,
      ].map(String),
    );
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    const line = (cells: string[]) =>
      cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
    process.stdout.write(`${SQL}\n${line(header)}\n${rows.map(line).join('\n')}\n`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
