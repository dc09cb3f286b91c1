import { open } from 'node:fs/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import { byPartition, isCompactedKey, type LandedObject } from '../layout/index.js';
import { DISTINCT_EVENT_IDS_KEY, type EventIdRange, parseEventIdRange } from '../sink/formats/index.js';
import { GZIP_RANGE_HEAD_BYTES, readEventIdRange } from '../sink/formats/ndjson.js';
import { sqlString } from './views.js';

/**
 * Which objects of `events/` the `events` view may read without its deduplicating window: those that
 * cannot hold a copy of any row of the view twice.
 *
 * Copies of an event always share its hour (they carry its `timestamp`), and can sit anywhere in it:
 * a replay or a bisected retry lands overlapping stream ranges under other names, a client that sends
 * an event twice puts two records with one `event_id` in one batch or in two, on any shard, and a
 * compaction's object stands beside its inputs until they are deleted. So an object skips the window
 * only when, in its hour:
 *
 * - it holds no `event_id` twice: the consumer's objects say so with their id range (Parquet's
 *   `DISTINCT_EVENT_IDS_KEY`, NDJSON's gzip header), a compacted object is one row per id by
 *   construction;
 * - and no other object can hold one of its ids: every other object of the hour has a known id range
 *   that does not meet its own. An object of unknown range (one landed before ranges were written,
 *   one whose ids are not all distinct, one rewritten by DuckDB) may hold any id, so an hour that has
 *   one dedups all of its objects, except a compacted object alone in its hour.
 *
 * Ranges are compared in JavaScript's string order, the order the writer computed them in.
 */
export function objectsWithoutCopies(
  objects: readonly LandedObject[],
  ranges: ReadonlyMap<LandedObject, EventIdRange>,
): Set<LandedObject> {
  const alone = new Set<LandedObject>();
  for (const hour of byPartition(objects).values()) {
    const only = hour[0];
    if (hour.length === 1 && only !== undefined && (isCompactedKey(only.key) || ranges.has(only))) {
      alone.add(only);
      continue;
    }
    const known: [LandedObject, EventIdRange][] = [];
    for (const object of hour) {
      const range = ranges.get(object);
      if (range === undefined) break;
      known.push([object, range]);
    }
    if (known.length < hour.length) continue;
    known.sort(([, a], [, b]) => (a.min < b.min ? -1 : a.min > b.min ? 1 : 0));
    // Sorted by their least id, an object meets no other when its least id is above every greatest id
    // before it and its greatest id below the next one's least.
    let highest: string | undefined;
    known.forEach(([object, range], i) => {
      const next = known[i + 1]?.[1];
      const clearBefore = highest === undefined || range.min > highest;
      const clearAfter = next === undefined || range.max < next.min;
      if (clearBefore && clearAfter) alone.add(object);
      if (highest === undefined || range.max > highest) highest = range.max;
    });
  }
  return alone;
}

/**
 * The id range each Parquet object declares, read from the files' footers (`paths[i]` is the local
 * file of `objects[i]`). Objects without one are left out.
 */
export async function eventIdRanges(
  connection: DuckDBConnection,
  objects: readonly LandedObject[],
  paths: readonly string[],
): Promise<Map<LandedObject, EventIdRange>> {
  const ranges = new Map<LandedObject, EventIdRange>();
  if (objects.length === 0) return ranges;
  const byPath = new Map(paths.map((p, i) => [p, objects[i] as LandedObject]));
  const reader = await connection.runAndReadAll(
    `SELECT file_name, decode(value) FROM parquet_kv_metadata([${paths.map(sqlString).join(', ')}])
     WHERE decode(key) = ${sqlString(DISTINCT_EVENT_IDS_KEY)}`,
  );
  for (const [file, value] of reader.getRows()) {
    const object = byPath.get(String(file));
    const range = typeof value === 'string' ? parseEventIdRange(value) : undefined;
    if (object !== undefined && range !== undefined) ranges.set(object, range);
  }
  return ranges;
}

/** Files whose first bytes are read at once when gathering NDJSON objects' id ranges. */
const HEAD_READS = 16;

/**
 * The id range each NDJSON object declares in its gzip header (`paths[i]` is the local file of
 * `objects[i]`): only its first `GZIP_RANGE_HEAD_BYTES` are read. Objects without one are left out.
 */
export async function gzipEventIdRanges(
  objects: readonly LandedObject[],
  paths: readonly string[],
): Promise<Map<LandedObject, EventIdRange>> {
  const ranges = new Map<LandedObject, EventIdRange>();
  let next = 0;
  const reader = async () => {
    const head = Buffer.alloc(GZIP_RANGE_HEAD_BYTES);
    while (next < objects.length) {
      const i = next++;
      // An object deleted since it was listed (by a compaction) has no range: the query that reads
      // it finds it gone, and lists again.
      const file = await open(paths[i] as string, 'r').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      });
      if (file === undefined) continue;
      try {
        const { bytesRead } = await file.read(head, 0, head.length, 0);
        const range = readEventIdRange(head.subarray(0, bytesRead));
        if (range !== undefined) ranges.set(objects[i] as LandedObject, range);
      } finally {
        await file.close();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(HEAD_READS, objects.length) }, reader));
  return ranges;
}
