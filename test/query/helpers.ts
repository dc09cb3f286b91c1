import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createHandler } from '../../src/consumer/index.js';
import type { ObjectStore } from '../../src/core/ports.js';
import { Simulator } from '../../src/producer/index.js';
import type { LandingFormat } from '../../src/sink/formats/index.js';
import { eventOf, kinesisRecord } from '../support/kinesis-events.js';
import { readParquetRows } from '../support/parquet.js';

/** Simulated events as the producer sends them, one JSON text each, `stepMs` apart from `startMs`. */
export function simulated(
  count: number,
  options: { seed?: string; startMs?: number; stepMs?: number; users?: number } = {},
) {
  let now = (options.startMs ?? Date.parse('2026-11-24T08:00:00.000Z')) - (options.stepMs ?? 1000);
  const simulator = new Simulator({
    users: options.users ?? 50,
    seed: options.seed ?? 'query-tests',
    now: () => {
      now += options.stepMs ?? 1000;
      return now;
    },
  });
  return Array.from({ length: count }, () => simulator.nextEncoded().data.toString('utf8'));
}

/**
 * Lands JSON lines through the real consumer handler, `batch` records per invocation, as one shard
 * from sequence number `firstSeq` on. Each record arrives 100 ms after its event's time.
 */
export async function land(
  store: ObjectStore,
  lines: readonly string[],
  options: { format: LandingFormat; shard?: number; firstSeq?: number; batch?: number },
): Promise<void> {
  const handler = createHandler({ store, format: options.format });
  const shardId = `shardId-${String(options.shard ?? 0).padStart(12, '0')}`;
  const batch = options.batch ?? 500;
  const first = options.firstSeq ?? 1;
  for (let start = 0; start < lines.length; start += batch) {
    const records = lines.slice(start, start + batch).map((line, i) => {
      let arrivalMs = Date.parse('2026-11-24T08:00:00.000Z');
      try {
        const time = Date.parse(JSON.parse(line).timestamp);
        // A line that is not an event arrives at the default time.
        if (Number.isFinite(time)) arrivalMs = time + 100;
      } catch {
        // not JSON either
      }
      return kinesisRecord(line, String(first + start + i), { shardId, arrivalMs });
    });
    const response = await handler(eventOf(records));
    if (response.batchItemFailures.length > 0) throw new Error('the handler could not land a batch');
  }
}

/** Every file under a directory, relative to it, skipping hidden names as readers do. */
export async function visibleFiles(root: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = (await readdir(root, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => path.relative(root, path.join(e.parentPath, e.name)));
  } catch {
    return [];
  }
  return entries.filter((f) => !f.split(path.sep).some((s) => s.startsWith('_') || s.startsWith('.'))).sort();
}

export type Row = Record<string, unknown>;

/**
 * Every row of every landed object under a directory sink, read without DuckDB: NDJSON with gunzip
 * and JSON.parse, Parquet with hyparquet. Each row gets `dt` and `hour` from its path.
 */
export async function readLandedRows(root: string, dataset: 'events' | 'errors'): Promise<Row[]> {
  const rows: Row[] = [];
  for (const file of await visibleFiles(path.join(root, dataset))) {
    const match = /dt=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\//.exec(file.split(path.sep).join('/'));
    const partition = { dt: match?.[1], hour: Number(match?.[2]) };
    const bytes = await readFile(path.join(root, dataset, file));
    if (file.endsWith('.parquet')) {
      for (const row of await readParquetRows(bytes)) rows.push({ ...row, ...partition });
    } else {
      for (const line of gunzipSync(bytes).toString('utf8').split('\n')) {
        if (line !== '') rows.push({ ...JSON.parse(line), ...partition });
      }
    }
  }
  return rows;
}

/** One row per event_id within each hour, as the `events` view promises. */
export function distinctEvents(rows: readonly Row[]): Row[] {
  const seen = new Map<string, Row>();
  for (const row of rows) {
    const key = `${row.dt}/${row.hour}/${row.event_id}`;
    if (!seen.has(key)) seen.set(key, row);
  }
  return [...seen.values()];
}

/** Counts of `key(row)`, as a plain object sorted by key. */
export function countBy(rows: readonly Row[], key: (row: Row) => unknown): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const row of rows) {
    const k = String(key(row));
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** A JSON column's value as an object: NDJSON rows have objects, hyparquet gives JSON columns parsed or as text. */
export function jsonField(value: unknown): Record<string, unknown> {
  if (typeof value === 'string') return JSON.parse(value);
  return (value ?? {}) as Record<string, unknown>;
}
