import { createReadStream } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { PipelineError } from '../core/errors.js';
import type { SinkLocation } from '../core/locations.js';
import type { ObjectStore } from '../core/ports.js';
import { ForgottenList, type ForgottenUsers } from '../forget/forgotten-list.js';
import {
  byPartition,
  compactedKey,
  EVENT_COLUMNS,
  isCompactedKey,
  type LandedObject,
  listLanded,
  PARQUET,
} from '../layout/index.js';
import {
  describeDuckDbError,
  LocalFiles,
  objectUrl,
  QueryError,
  rawSource,
  type SourceFiles,
  setAsideHint,
  sqlIdentifier,
  sqlString,
} from '../query/index.js';
import { PARQUET_ROW_GROUP_SIZE } from '../sink/formats/index.js';
import { openStore } from '../sink/open-store.js';
import { defaultCompactBefore, HOUR_MS } from './before.js';

/** One hour compacted (or, in a dry run, that would be). */
export interface CompactedHour {
  /** `dt=YYYY-MM-DD/hour=HH`. */
  partition: string;
  /** The objects merged: NDJSON, Parquet, an earlier compacted object. */
  inputs: number;
  inputBytes: number;
  /** The compacted object's key. */
  key: string;
  /** Its size and the events in it (one per `event_id`); 0 in a dry run. */
  bytes: number;
  events: number;
  /** Inputs left in place because they changed while the hour was being compacted. */
  kept: number;
  /** Rows of forgotten users left out. */
  forgotten: number;
}

export interface CompactResult {
  hours: CompactedHour[];
  /** Hours already one compacted object. */
  alreadyCompacted: number;
  /** Hours not closed by `before`: left alone. */
  open: number;
  before: Date;
  dryRun: boolean;
}

export interface CompactOptions {
  /** Hours that end at or before this time are compacted (default: `defaultCompactBefore()`). */
  before?: Date;
  /** List what would be compacted and change nothing. */
  dryRun?: boolean;
  /** The store to use; one is opened (and closed) for the location otherwise. */
  store?: ObjectStore;
  signal?: AbortSignal;
  /** Called after each hour is compacted. */
  onHour?: (hour: CompactedHour) => void;
  /** DuckDB worker threads; DuckDB's default otherwise. */
  threads?: number;
  /**
   * Users whose rows are left out of every compacted object (the sink's list of forgotten users), so
   * that an hour read before `activity forget` rewrote it, or a record of theirs that landed late, does
   * not keep them.
   */
  forgotten?: ForgottenUsers;
}

/**
 * Merges the objects of each closed hour of `events/` (NDJSON and Parquet, and any earlier compacted
 * object) into one Parquet object per hour, one row per `event_id`, sorted by time.
 *
 * Readers never miss an event and never count one twice: the compacted object is put (atomically,
 * under a name derived from the list of its inputs) before any input is deleted, so a reader sees the
 * inputs, or the inputs and the compacted object (whose rows are copies that the `events` view,
 * deduplicating by `event_id` per hour, hides), or the compacted object alone; a reader that listed an
 * input now deleted starts over on a fresh listing. Events landing late in a compacted hour land as
 * new objects beside the compacted one, and the next run merges them in. An input rewritten while its
 * hour is compacted (a replay re-landing the same stream positions) is kept rather than deleted.
 * A crash leaves at worst the compacted object beside its inputs: the next run merges them again.
 * Rows of users on the sink's list of forgotten users (`activity forget`) are left out: records of
 * theirs that landed after the erasure (a consumer that read the list before it changed) go with the
 * next compaction of their hour.
 */
export async function compact(location: SinkLocation, options: CompactOptions = {}): Promise<CompactResult> {
  const before = options.before ?? defaultCompactBefore();
  const dryRun = options.dryRun ?? false;
  const store = options.store ?? (await openStore(location));
  const ownsStore = options.store === undefined;
  const result: CompactResult = { hours: [], alreadyCompacted: 0, open: 0, before, dryRun };
  if (ownsStore && location.kind === 's3') await store.connect();
  const files = new LocalFiles(location, store);
  try {
    const forgottenUsers = options.forgotten ?? (await new ForgottenList(store).load(options.signal));
    const due: [string, LandedObject[]][] = [];
    for (const [partition, objects] of byPartition(await listLanded(store, 'events', options.signal))) {
      const first = objects[0] as LandedObject;
      const start = Date.parse(`${first.dt}T${String(first.hour).padStart(2, '0')}:00:00.000Z`);
      if (start + HOUR_MS > before.getTime()) result.open++;
      else if (objects.length === 1 && isCompactedKey(first.key)) result.alreadyCompacted++;
      else due.push([partition, objects]);
    }
    if (dryRun) {
      for (const [partition, objects] of due) {
        const key = compactedKey(
          partition,
          objects.map((o) => o.key),
        );
        result.hours.push({
          ...summary(partition, objects, key),
          bytes: 0,
          events: 0,
          kept: 0,
          forgotten: 0,
        });
      }
      return result;
    }
    if (due.length === 0) return result;
    const scratch = await files.scratchDir();
    const instance = await DuckDBInstance.create(':memory:', {
      temp_directory: scratch,
      ...(options.threads === undefined ? {} : { threads: String(options.threads) }),
    });
    const connection = await instance.connect();
    try {
      await connection.run(`SET TimeZone = 'UTC'`);
      await connection.run('CREATE TEMP TABLE forgotten_users (user_id VARCHAR PRIMARY KEY)');
      for (const [partition, objects] of due) {
        options.signal?.throwIfAborted();
        const key = compactedKey(
          partition,
          objects.map((o) => o.key),
        );
        const output = path.join(scratch, path.basename(key));
        const columns = EVENT_COLUMNS.map(({ name }) => sqlIdentifier(name)).join(', ');
        let events: number;
        let forgotten = 0;
        try {
          const inputs = await files.files(objects, options.signal);
          await checkWholeGzip(partition, objects, inputs, store.url);
          const source = rawSource(EVENT_COLUMNS, inputs);
          forgotten = await markForgotten(connection, source, forgottenUsers);
          const copied = await connection.runAndReadAll(
            `COPY (SELECT ${columns} FROM (${source})
              WHERE user_id IS NULL OR user_id NOT IN (SELECT user_id FROM forgotten_users)
              QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY received_at) = 1
              ORDER BY "timestamp", event_id)
            TO ${sqlString(output)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${PARQUET_ROW_GROUP_SIZE})`,
          );
          events = Number(copied.getRows()[0]?.[0] ?? 0);
        } catch (error) {
          if (error instanceof PipelineError) throw error;
          const described = describeDuckDbError(error, store.url);
          throw new QueryError(
            described.code === 'unreadable_object' ? described.code : 'compaction_failed',
            `could not compact ${partition}: ${described.message}; nothing was changed in this hour`,
            { cause: error },
          );
        }
        const body = await readFile(output);
        await rm(output, { force: true });
        await store.put(key, body, { contentType: PARQUET.contentType }, options.signal);
        // Only now may inputs go. One rewritten since it was read keeps its place (its rows may differ).
        const sizes = new Map<string, number>();
        for await (const o of store.list(`events/${partition}`, options.signal)) sizes.set(o.key, o.size);
        let kept = 0;
        for (const input of objects) {
          if (input.key === key) continue;
          if (sizes.has(input.key) && sizes.get(input.key) !== input.size) {
            kept++;
            continue;
          }
          await store.delete(input.key, options.signal);
        }
        const hour = { ...summary(partition, objects, key), bytes: body.byteLength, events, kept, forgotten };
        result.hours.push(hour);
        options.onHour?.(hour);
      }
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
    return result;
  } finally {
    await files.close();
    if (ownsStore) await store.close();
  }
}

/**
 * Fills `forgotten_users` with the users of the hour on the list (each distinct id hashed once, by the
 * list), and returns how many of the hour's rows are theirs.
 */
async function markForgotten(
  connection: DuckDBConnection,
  source: string,
  forgotten: ForgottenUsers | undefined,
): Promise<number> {
  await connection.run('DELETE FROM forgotten_users');
  if (forgotten === undefined || forgotten.size === 0) return 0;
  const users = await connection.runAndReadAll(
    `SELECT user_id, count(*) FROM (${source}) WHERE user_id IS NOT NULL GROUP BY user_id`,
  );
  let rows = 0;
  for (const [id, count] of users.getRows()) {
    if (!forgotten.has(String(id))) continue;
    // Bound parameters: no user id is ever part of the SQL text.
    await connection.run('INSERT INTO forgotten_users VALUES ($1)', [String(id)]);
    rows += Number(count);
  }
  return rows;
}

/**
 * Refuses an hour with an NDJSON input that is not a whole gzip stream. DuckDB reads a gzip file cut
 * short as fewer lines, or none, without a word, and compaction deletes its inputs: what it could not
 * read would be gone. `inputs` lists the NDJSON files in the order of `objects`.
 */
async function checkWholeGzip(
  partition: string,
  objects: readonly LandedObject[],
  inputs: SourceFiles,
  sinkUrl: string,
): Promise<void> {
  const ndjson = objects.filter((o) => o.format === 'ndjson');
  for (const [i, object] of ndjson.entries()) {
    const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
    try {
      await pipeline(createReadStream(inputs.ndjson[i] as string), createGunzip(), discard);
    } catch (error) {
      throw new QueryError(
        'unreadable_object',
        `could not compact ${partition}: ${objectUrl(sinkUrl, object.key)} is not a whole gzip file (${(error as Error).message}): ${setAsideHint(object.key)}; nothing was changed in this hour`,
        { cause: error },
      );
    }
  }
}

function summary(partition: string, objects: readonly LandedObject[], key: string) {
  return {
    partition,
    inputs: objects.length,
    inputBytes: objects.reduce((n, o) => n + o.size, 0),
    key,
  };
}
