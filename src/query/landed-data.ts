import { type DuckDBConnection, DuckDBInstance, type DuckDBResultReader } from '@duckdb/node-api';
import { PipelineError } from '../core/errors.js';
import type { SinkLocation } from '../core/locations.js';
import type { ObjectStore } from '../core/ports.js';
import { DATASETS, type Dataset, isCompactedKey, type LandedObject, listLanded } from '../layout/index.js';
import type { TypedView } from '../plan/index.js';
import { openStore } from '../sink/open-store.js';
import { describeDuckDbError, QueryError } from './errors.js';
import { LocalFiles } from './local-files.js';
import type { ResultTable } from './output.js';
import { analyseQuery, type QueryNeeds, selectObjects, type ViewsOver } from './pruning.js';
import { eventIdRanges, gzipEventIdRanges, objectsWithoutCopies } from './skipping.js';
import { toCell } from './values.js';
import { errorsSelect, eventsSelect, sqlIdentifier, typedViewSelect } from './views.js';

/**
 * How often a query starts again when the sink changed under it (an object it listed was deleted by
 * a compaction before it was read). Each compaction deletes an hour's inputs once, after its
 * compacted object is in place, so a fresh listing finds that object.
 */
const MAX_ATTEMPTS = 5;

export interface LandedDataOptions {
  /** The store to list and read; one is opened (and closed) for the location otherwise. */
  store?: ObjectStore;
  /** DuckDB worker threads; DuckDB's default (every core) otherwise. */
  threads?: number;
  /** Parallel downloads from an S3 sink (default 8). */
  downloads?: number;
  /**
   * Views over `events` besides it, one per event: its rows, with typed columns taken from
   * `properties` (a tracking plan's `typedViews`). Names `events` and `errors` are refused.
   */
  typedViews?: readonly TypedView[];
}

/** What a query read. */
export interface QueryStats {
  /** Objects of the sink the views were built over, after partition pruning. */
  objects: number;
  /** Objects of the sink listed, before pruning. */
  listed: number;
  /** How many times the query started again because the sink changed under it. */
  restarts: number;
}

export interface QueryResult extends ResultTable {
  stats: QueryStats;
}

/**
 * SQL over the landed data of a sink, with DuckDB in this process. Each query lists the sink, keeps
 * the partitions it can need (worked out from its WHERE clauses on `dt` and `hour`), gets local files
 * for them (in place for a directory, downloaded for S3) and runs over two views:
 *
 * - `events`: every landed event, NDJSON and Parquet alike, one row per `event_id` in each hour;
 * - `errors`: every error line, one row per failed record.
 *
 * Times are `TIMESTAMPTZ` and the session's time zone is UTC, as the partitions are.
 */
export class LandedData {
  readonly url: string;
  private readonly store: ObjectStore;
  private readonly ownsStore: boolean;
  private readonly files: LocalFiles;
  private readonly instance: DuckDBInstance;
  private readonly connection: DuckDBConnection;
  private readonly typedViews: readonly TypedView[];
  /** The typed views' names (lower case), each reading `events`: for partition pruning. */
  private readonly viewsOver: ViewsOver;
  /** Queries share one connection and its transaction: they run one at a time. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    store: ObjectStore,
    ownsStore: boolean,
    files: LocalFiles,
    instance: DuckDBInstance,
    connection: DuckDBConnection,
    typedViews: readonly TypedView[],
  ) {
    this.url = store.url;
    this.typedViews = typedViews;
    this.viewsOver = new Map(typedViews.map((v) => [v.name.toLowerCase(), 'events' as const]));
    this.store = store;
    this.ownsStore = ownsStore;
    this.files = files;
    this.instance = instance;
    this.connection = connection;
  }

  /** Connects to the sink and starts DuckDB. */
  static async open(location: SinkLocation, options: LandedDataOptions = {}): Promise<LandedData> {
    const typedViews = options.typedViews ?? [];
    for (const { name } of typedViews) {
      if ((DATASETS as readonly string[]).includes(name.toLowerCase())) {
        throw new QueryError(
          'invalid_view',
          `a typed view cannot be named ${name}: that is a dataset's view`,
        );
      }
    }
    const store = options.store ?? (await openStore(location));
    const ownsStore = options.store === undefined;
    // A directory sink that does not exist is an empty one: a query must not create it.
    if (ownsStore && location.kind === 's3') await store.connect();
    const files = new LocalFiles(
      location,
      store,
      options.downloads === undefined ? {} : { downloads: options.downloads },
    );
    try {
      const instance = await DuckDBInstance.create(':memory:', {
        // Spills of large sorts and windows go to a private directory, not to `.tmp` in the working directory.
        temp_directory: await files.scratchDir(),
        ...(options.threads === undefined ? {} : { threads: String(options.threads) }),
      });
      const connection = await instance.connect();
      await connection.run(`SET TimeZone = 'UTC'`);
      return new LandedData(store, ownsStore, files, instance, connection, typedViews);
    } catch (error) {
      await files.close();
      if (ownsStore) await store.close();
      throw error;
    }
  }

  /** Objects downloaded from an S3 sink so far, and their bytes. */
  get fetched(): { objects: number; bytes: number } {
    return { ...this.files.stats };
  }

  /**
   * Runs `sql` (one statement, or several separated by `;`: the result is the last one's) and returns
   * its whole result. `signal` interrupts it.
   */
  query(sql: string, signal?: AbortSignal): Promise<QueryResult> {
    const run = this.queue.then(() => this.queryNow(sql, signal));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async queryNow(sql: string, signal?: AbortSignal): Promise<QueryResult> {
    const connection = this.connection;
    const onAbort = () => connection.interrupt();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const needs = await analyseQuery(connection, sql, this.viewsOver);
      for (let attempt = 1; ; attempt++) {
        let listed: Record<Dataset, LandedObject[]> | undefined;
        // Pruning and query in one transaction: `now()` and `current_date` mean the same in both.
        if (needs.analysed) await connection.run('BEGIN TRANSACTION');
        try {
          listed = await this.list(needs, signal);
          const selected = {
            events: await selectObjects(connection, listed.events, needs.events),
            errors: await selectObjects(connection, listed.errors, needs.errors),
          };
          await this.createViews(selected, signal);
          const reader = await this.run(sql);
          if (needs.analysed) await connection.run('COMMIT');
          return {
            ...toTable(reader),
            stats: {
              objects: selected.events.length + selected.errors.length,
              listed: listed.events.length + listed.errors.length,
              restarts: attempt - 1,
            },
          };
        } catch (error) {
          if (needs.analysed) await connection.run('ROLLBACK').catch(() => undefined);
          signal?.throwIfAborted();
          if (attempt < MAX_ATTEMPTS && (await this.changed(error, listed, needs))) continue;
          throw toQueryError(error, attempt, this.url);
        }
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Stops DuckDB, removes downloads and closes the store it opened. */
  async close(): Promise<void> {
    this.connection.closeSync();
    this.instance.closeSync();
    await this.files.close();
    if (this.ownsStore) await this.store.close();
  }

  private async list(needs: QueryNeeds, signal?: AbortSignal): Promise<Record<Dataset, LandedObject[]>> {
    const [events, errors] = await Promise.all(
      (['events', 'errors'] as const).map((d) =>
        needs[d].kind === 'none' ? Promise.resolve([]) : listLanded(this.store, d, signal),
      ),
    );
    return { events: events ?? [], errors: errors ?? [] };
  }

  private async createViews(selected: Record<Dataset, LandedObject[]>, signal?: AbortSignal): Promise<void> {
    // Objects that cannot hold a copy of another row skip the deduplicating window (see skipping.ts).
    // The consumer's objects declare their id range (Parquet in its footer, NDJSON in its gzip
    // header); a compacted object is one row per id already.
    const landed = selected.events.filter((o) => !isCompactedKey(o.key));
    const paths = await this.files.paths(landed, signal);
    const pathOf = new Map(landed.map((o, i) => [o, paths[i] as string]));
    const parquet = landed.filter((o) => o.format === 'parquet');
    const ndjson = landed.filter((o) => o.format === 'ndjson');
    const [parquetRanges, ndjsonRanges] = await Promise.all([
      eventIdRanges(
        this.connection,
        parquet,
        parquet.map((o) => pathOf.get(o) as string),
      ),
      gzipEventIdRanges(
        ndjson,
        ndjson.map((o) => pathOf.get(o) as string),
      ),
    ]);
    const alone = objectsWithoutCopies(selected.events, new Map([...parquetRanges, ...ndjsonRanges]));
    const rest = await this.files.files(
      selected.events.filter((o) => !alone.has(o)),
      signal,
    );
    const events = { ...rest, unique: await this.files.files([...alone], signal) };
    const errors = await this.files.files(selected.errors, signal);
    await this.connection.run(`CREATE OR REPLACE TEMP VIEW events AS ${eventsSelect(events)}`);
    await this.connection.run(`CREATE OR REPLACE TEMP VIEW errors AS ${errorsSelect(errors)}`);
    for (const { event, name, columns } of this.typedViews) {
      await this.connection.run(
        `CREATE OR REPLACE TEMP VIEW ${sqlIdentifier(name)} AS ${typedViewSelect(event, columns)}`,
      );
    }
  }

  private async run(sql: string): Promise<DuckDBResultReader> {
    const statements = await this.connection.extractStatements(sql);
    if (statements.count === 0) throw new QueryError('invalid_sql', 'no SQL statement given');
    let reader: DuckDBResultReader | undefined;
    for (let i = 0; i < statements.count; i++) {
      const prepared = await statements.prepare(i);
      reader = await prepared.runAndReadAll();
    }
    return reader as DuckDBResultReader;
  }

  /**
   * True when a failure came from the sink changing under the query: an object it listed is gone
   * (deleted by a compaction once its rows were in a compacted object).
   */
  private async changed(
    error: unknown,
    listed: Record<Dataset, LandedObject[]> | undefined,
    needs: QueryNeeds,
  ): Promise<boolean> {
    const missing =
      (error instanceof PipelineError && error.code === 'not_found') ||
      (error instanceof Error && /^IO Error:/.test(error.message));
    if (!missing) return false;
    // An object vanished while it was being listed: list again.
    if (listed === undefined) return true;
    const now = await this.list(needs).catch(() => undefined);
    if (now === undefined) return false;
    const keys = (objects: LandedObject[]) => objects.map((o) => o.key).join('\n');
    return keys(now.events) !== keys(listed.events) || keys(now.errors) !== keys(listed.errors);
  }
}

function toTable(reader: DuckDBResultReader): ResultTable {
  const types = reader.columnTypes();
  // A JSON column is VARCHAR with the alias JSON: show the alias, as DuckDB's own DESCRIBE does.
  const columns = reader
    .columnNames()
    .map((name, i) => ({ name, type: types[i]?.alias ?? String(types[i]) }));
  const rows = reader.getRows().map((row) =>
    row.map((value, i) => {
      const type = types[i];
      return type === undefined ? null : toCell(value, type);
    }),
  );
  return { columns, rows };
}

function toQueryError(error: unknown, attempts: number, sinkUrl: string): PipelineError {
  if (error instanceof PipelineError) return error;
  const { code, message } = describeDuckDbError(error, sinkUrl);
  const restarted =
    attempts >= MAX_ATTEMPTS ? ` (the sink changed under the query ${attempts} times: run it again)` : '';
  return new QueryError(code, `${message}${restarted}`, { cause: error });
}
