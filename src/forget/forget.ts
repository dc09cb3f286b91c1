import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzip as gunzipCallback, gzip as gzipCallback } from 'node:zlib';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { encodeLines } from '../consumer/landing.js';
import { ConfigError, PipelineError, StoreError } from '../core/errors.js';
import type { SinkLocation } from '../core/locations.js';
import type { ObjectStore } from '../core/ports.js';
import {
  type Dataset,
  isCompactedKey,
  type LandedObject,
  listLanded,
  NDJSON_GZIP,
  PARQUET,
  readErrorLine,
} from '../layout/index.js';
import { describeDuckDbError, LocalFiles, QueryError, sqlString } from '../query/index.js';
import { type EventIdRange, PARQUET_ROW_GROUP_SIZE } from '../sink/formats/index.js';
import { readEventIdRange } from '../sink/formats/ndjson.js';
import { openStore } from '../sink/open-store.js';
import { ForgottenList, type KeySource, userIdInBytes } from './forgotten-list.js';

const gunzip = promisify(gunzipCallback);
const gzip = promisify(gzipCallback);

/** Objects read (and rewritten) at once: enough to hide S3's latency, few enough for memory. */
const OBJECTS_IN_FLIGHT = 8;
/** Parquet objects downloaded and searched at once (of 10,000 events, some 4 MB each). */
const PARQUET_SLICE = 100;

/** One object that held records of the users: rewritten without them, or deleted when nothing else was in it. */
export interface ChangedObject {
  key: string;
  dataset: Dataset;
  /** Records of the users taken out (or, in a dry run, that would be). */
  removed: number;
  /** Records left in it; 0 means the object is deleted. */
  remaining: number;
}

/** The receipt of a run. */
export interface ForgetResult {
  /** Distinct user ids given. */
  users: number;
  dryRun: boolean;
  /** Of those, how many were added to the sink's list of forgotten users (0 in a dry run). */
  addedToList: number;
  /** Objects read, per dataset. */
  scanned: Record<Dataset, number>;
  /** Records removed (or that would be), per dataset. */
  removed: Record<Dataset, number>;
  /** Objects rewritten without the users' records (or that would be). */
  rewritten: number;
  /**
   * `events/` objects deleted because they held nothing but the users' records (or that would be); an
   * `errors/` object is emptied instead, and counted as rewritten.
   */
  deleted: number;
  objects: ChangedObject[];
  /** Objects that appeared or changed while the run read the sink, read once more at its end. */
  rescanned: number;
  durationMs: number;
}

export interface ForgetOptions {
  /** List what would change, and change nothing (the list of forgotten users included). */
  dryRun?: boolean;
  /** The store to use; one is opened (and closed) for the location otherwise. */
  store?: ObjectStore;
  /** Where the key of the list's hashes comes from (default: `FORGET_KEY`, `FORGET_KEY_FILE`, the sink's). */
  keySource?: KeySource;
  signal?: AbortSignal;
  /** Called for each object that held records of the users, once it is rewritten (or, dry, found). */
  onObject?: (object: ChangedObject) => void;
  /** DuckDB worker threads (for Parquet objects); DuckDB's default otherwise. */
  threads?: number;
}

/**
 * Removes every record of the given users from a sink: each object of `events/` (NDJSON, Parquet, and
 * compacted) and of `errors/` (by the record's partition key, and by the `user_id` of its bytes where
 * they decode) that holds one is rewritten without them, under its own key, or deleted when nothing
 * else was in it (an `errors/` object is left empty instead: on AWS, deleting is granted only under
 * `events/`, to the lifecycle function). First, the users are added to the sink's list of forgotten users, which consumers and
 * redrive honour, so they do not come back from the stream, a replay or a redrive.
 *
 * Readers never see a remaining record twice or miss one: a rewrite replaces the object atomically
 * under its key (as a retried batch does), so a reader reads the old object or the new one whole.
 * Objects that appear or change while the run reads the sink (a consumer landing, a compaction
 * merging an hour) are read once more at its end. Running it again finds nothing.
 */
export async function forget(
  location: SinkLocation,
  userIds: readonly string[],
  options: ForgetOptions = {},
): Promise<ForgetResult> {
  const started = performance.now();
  const users = checkUsers(userIds);
  const dryRun = options.dryRun ?? false;
  const store = options.store ?? (await openStore(location));
  const ownsStore = options.store === undefined;
  if (ownsStore) await store.connect();
  const result: ForgetResult = {
    users: users.size,
    dryRun,
    addedToList: 0,
    scanned: { events: 0, errors: 0 },
    removed: { events: 0, errors: 0 },
    rewritten: 0,
    deleted: 0,
    objects: [],
    rescanned: 0,
    durationMs: 0,
  };
  const eraser = new Eraser(location, store, users, dryRun, result, options);
  try {
    // The list first: from here on consumers and redrive stop landing the users again.
    if (!dryRun) {
      result.addedToList = await new ForgottenList(
        store,
        options.keySource ? { keySource: options.keySource } : {},
      ).add([...users], options.signal);
    }
    const seen = await eraser.pass(await listAll(store, options.signal));
    if (!dryRun) {
      // What landed or changed meanwhile (by a consumer that read the list before it changed, or a
      // compaction that read an hour before it was rewritten) is read again.
      const again = (await listAll(store, options.signal)).filter((o) => seen.get(o.key) !== o.size);
      result.rescanned = again.length;
      await eraser.pass(again);
    }
  } finally {
    await eraser.close();
    if (ownsStore) await store.close();
  }
  result.durationMs = Math.round(performance.now() - started);
  return result;
}

function checkUsers(userIds: readonly string[]): Set<string> {
  const users = new Set(userIds);
  if (users.size === 0) throw new ConfigError('give at least one user to forget: --user ID');
  for (const id of users) {
    if (id === '') throw new ConfigError('a user id to forget must not be empty (given "")');
  }
  return users;
}

async function listAll(store: ObjectStore, signal: AbortSignal | undefined): Promise<LandedObject[]> {
  return [...(await listLanded(store, 'events', signal)), ...(await listLanded(store, 'errors', signal))];
}

/** What one object becomes: its new body, or nothing when no record is left. */
interface Rewrite {
  removed: number;
  remaining: number;
  body?: Uint8Array;
}

/** One run's work over a sink: reading objects, taking the users' records out, and writing them back. */
class Eraser {
  private readonly location: SinkLocation;
  private readonly store: ObjectStore;
  private readonly users: ReadonlySet<string>;
  /** The users' ids as JSON text: an NDJSON line without any of them cannot hold their event. */
  private readonly needles: string[];
  private readonly dryRun: boolean;
  private readonly result: ForgetResult;
  private readonly options: ForgetOptions;
  private readonly files: LocalFiles;
  private duck: Promise<{ instance: DuckDBInstance; connection: DuckDBConnection }> | undefined;

  constructor(
    location: SinkLocation,
    store: ObjectStore,
    users: ReadonlySet<string>,
    dryRun: boolean,
    result: ForgetResult,
    options: ForgetOptions,
  ) {
    this.location = location;
    this.store = store;
    this.users = users;
    this.needles = [...users].map((id) => JSON.stringify(id));
    this.dryRun = dryRun;
    this.result = result;
    this.options = options;
    this.files = new LocalFiles(location, store);
  }

  /** Reads and rewrites `objects`; returns each key's size as this run left it (absent once deleted). */
  async pass(objects: readonly LandedObject[]): Promise<Map<string, number>> {
    const sizes = new Map<string, number>();
    for (const o of objects) sizes.set(o.key, o.size);
    const parquet = objects.filter((o) => o.format === 'parquet');
    const ndjson = objects.filter((o) => o.format === 'ndjson');
    let next = 0;
    const worker = async () => {
      while (next < ndjson.length) {
        const object = ndjson[next++] as LandedObject;
        this.options.signal?.throwIfAborted();
        const body = await this.get(object.key);
        this.result.scanned[object.dataset]++;
        if (body === undefined) {
          sizes.delete(object.key);
          continue;
        }
        const rewrite =
          object.dataset === 'events' ? await this.ndjsonEvents(body) : await this.errorLines(body);
        if (rewrite !== undefined) await this.apply(object, rewrite, sizes);
      }
    };
    await Promise.all(Array.from({ length: Math.min(OBJECTS_IN_FLIGHT, ndjson.length) }, worker));
    // In slices, so an S3 sink's downloads never fill the local disk (a Lambda function's /tmp).
    for (let i = 0; i < parquet.length; i += PARQUET_SLICE) {
      const files = new LocalFiles(this.location, this.store);
      try {
        await this.parquetEvents(files, parquet.slice(i, i + PARQUET_SLICE), sizes);
      } finally {
        await files.close();
      }
    }
    return sizes;
  }

  async close(): Promise<void> {
    if (this.duck !== undefined) {
      const { instance, connection } = await this.duck;
      connection.closeSync();
      instance.closeSync();
    }
    await this.files.close();
  }

  /** The object's bytes, or undefined when it went meanwhile (compacted away). */
  private async get(key: string): Promise<Uint8Array | undefined> {
    try {
      return await this.store.get(key, this.options.signal);
    } catch (error) {
      if (error instanceof StoreError && error.code === 'not_found') return undefined;
      throw error;
    }
  }

  /** An NDJSON `events/` object without the users' lines; the others are kept byte for byte. */
  private async ndjsonEvents(body: Uint8Array): Promise<Rewrite | undefined> {
    const text = (await gunzip(body)).toString('utf8');
    if (!this.needles.some((n) => text.includes(n))) return undefined;
    const kept: string[] = [];
    let removed = 0;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      if (this.needles.some((n) => line.includes(n)) && this.users.has(userIdOfLine(line) ?? '')) removed++;
      else kept.push(line);
    }
    // The range still bounds the ids left, which are still distinct: the rewrite keeps it.
    return this.rewriteOf(removed, kept, 'events', readEventIdRange(body));
  }

  /** An `errors/` object without the lines of the users: by partition key, or by the bytes' `user_id`. */
  private async errorLines(body: Uint8Array): Promise<Rewrite | undefined> {
    const kept: string[] = [];
    let removed = 0;
    for (const line of (await gunzip(body)).toString('utf8').split('\n')) {
      if (line === '') continue;
      const record = readErrorLine(line, NO_COLUMNS);
      const theirs =
        typeof record !== 'string' &&
        ((record.partition_key !== undefined && this.users.has(record.partition_key)) ||
          (record.data !== undefined &&
            this.users.has(userIdInBytes(Buffer.from(record.data, 'base64')) ?? '')));
      if (theirs) removed++;
      else kept.push(line);
    }
    return this.rewriteOf(removed, kept, 'errors');
  }

  private async rewriteOf(
    removed: number,
    kept: readonly string[],
    dataset: Dataset = 'events',
    range?: EventIdRange,
  ): Promise<Rewrite | undefined> {
    if (removed === 0) return undefined;
    // An errors/ object is emptied rather than deleted: deleting is granted under events/ only.
    if (kept.length === 0 && dataset === 'errors') {
      return { removed, remaining: 0, body: this.dryRun ? undefined : await gzip('') };
    }
    if (kept.length === 0) return { removed, remaining: 0 };
    return {
      removed,
      remaining: kept.length,
      body: this.dryRun ? undefined : await encodeLines(kept, undefined, range),
    };
  }

  /**
   * Parquet objects (the consumer's and compaction's), through DuckDB: one query finds those that hold
   * the users' rows, then each of those is written again without them, its other rows in their order.
   */
  private async parquetEvents(
    files: LocalFiles,
    objects: readonly LandedObject[],
    sizes: Map<string, number>,
  ): Promise<void> {
    const paths = await files.paths(objects, this.options.signal);
    this.result.scanned.events += objects.length;
    const byPath = new Map(paths.map((p, i) => [p, objects[i] as LandedObject]));
    const { connection } = await this.duckDb();
    const found = await this.duckRun(connection, 'find the users in Parquet objects', (c) =>
      c.runAndReadAll(
        `SELECT filename, count(*) FROM read_parquet([${paths.map(sqlString).join(', ')}], filename = true, union_by_name = true)
         WHERE user_id IN (SELECT user_id FROM forget_users) GROUP BY filename`,
      ),
    );
    const scratch = await files.scratchDir();
    for (const [file, count] of found.getRows()) {
      this.options.signal?.throwIfAborted();
      const object = byPath.get(String(file)) as LandedObject;
      const removed = Number(count);
      const output = path.join(scratch, `forget-${path.basename(object.key)}`);
      // Each object keeps its codec: zstd as compaction writes, gzip as the consumer does.
      const codec = isCompactedKey(object.key) ? 'zstd' : 'gzip';
      const copied = await this.duckRun(connection, `rewrite ${object.key}`, (c) =>
        c.runAndReadAll(
          `COPY (SELECT * FROM read_parquet(${sqlString(String(file))})
             WHERE user_id IS NULL OR user_id NOT IN (SELECT user_id FROM forget_users))
           TO ${sqlString(output)} (FORMAT parquet, COMPRESSION ${codec}, ROW_GROUP_SIZE ${PARQUET_ROW_GROUP_SIZE})`,
        ),
      );
      const remaining = Number(copied.getRows()[0]?.[0] ?? 0);
      const body = remaining === 0 || this.dryRun ? undefined : await readFile(output);
      await rm(output, { force: true });
      await this.apply(object, { removed, remaining, ...(body === undefined ? {} : { body }) }, sizes);
    }
  }

  /** Puts the rewritten object under its own key, or deletes it when nothing is left; counts it. */
  private async apply(object: LandedObject, rewrite: Rewrite, sizes: Map<string, number>): Promise<void> {
    const { signal } = this.options;
    if (!this.dryRun) {
      if (rewrite.body === undefined && rewrite.remaining === 0) {
        await this.store.delete(object.key, signal);
        sizes.delete(object.key);
      } else if (rewrite.body !== undefined) {
        const content =
          object.format === 'parquet'
            ? { contentType: PARQUET.contentType }
            : { contentType: NDJSON_GZIP.contentType, contentEncoding: NDJSON_GZIP.contentEncoding };
        await this.store.put(object.key, rewrite.body, content, signal);
        sizes.set(object.key, rewrite.body.byteLength);
      }
    }
    const changed: ChangedObject = {
      key: object.key,
      dataset: object.dataset,
      removed: rewrite.removed,
      remaining: rewrite.remaining,
    };
    this.result.removed[object.dataset] += rewrite.removed;
    if (rewrite.remaining === 0 && object.dataset === 'events') this.result.deleted++;
    else this.result.rewritten++;
    this.result.objects.push(changed);
    this.options.onObject?.(changed);
  }

  private duckDb(): Promise<{ instance: DuckDBInstance; connection: DuckDBConnection }> {
    this.duck ??= (async () => {
      const instance = await DuckDBInstance.create(':memory:', {
        temp_directory: await this.files.scratchDir(),
        ...(this.options.threads === undefined ? {} : { threads: String(this.options.threads) }),
      });
      const connection = await instance.connect();
      await connection.run(`SET TimeZone = 'UTC'`);
      await connection.run('CREATE TEMP TABLE forget_users (user_id VARCHAR PRIMARY KEY)');
      // Bound parameters: no user id is ever part of the SQL text.
      for (const id of this.users) await connection.run('INSERT INTO forget_users VALUES ($1)', [id]);
      return { instance, connection };
    })();
    return this.duck;
  }

  private async duckRun<T>(
    connection: DuckDBConnection,
    what: string,
    run: (c: DuckDBConnection) => Promise<T>,
  ): Promise<T> {
    try {
      return await run(connection);
    } catch (error) {
      if (error instanceof PipelineError) throw error;
      throw new QueryError(
        'forget_failed',
        `could not ${what} in ${this.location.kind === 's3' ? this.store.url : this.location.path}: ${describeDuckDbError(error).message}`,
        { cause: error },
      );
    }
  }
}

/** An error line read for its partition key and bytes; none of its columns is required. */
const NO_COLUMNS: ReadonlySet<never> = new Set();

function userIdOfLine(line: string): string | undefined {
  try {
    const id = (JSON.parse(line) as { user_id?: unknown }).user_id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}
