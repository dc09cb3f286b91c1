import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { StreamError } from '../../core/errors.js';
import type { Lease, RecordToPut, StreamRecord } from '../../core/ports.js';
import { LeaseTable } from '../leases/lease-table.js';
import { ShardTable } from './shard-table.js';

/** The log's file inside the stream directory (SQLite adds `-wal` and `-shm` beside it). */
export const LOG_FILE = 'log.sqlite';
/** How long an operation waits for another process's write before failing, retriably. */
export const BUSY_TIMEOUT_MS = 5_000;
const SCHEMA_VERSION = 1;
const PAGE_SIZE = 16_384;

/** What a log is created with; fixed for its life. */
export interface LogSettings {
  shards: number;
  retentionHours: number;
}

type AppendFn = (
  records: readonly RecordToPut[],
  shards: readonly number[],
  now: number,
  trimBefore: number | undefined,
) => number[];

/**
 * The log's SQLite database (WAL mode, so readers never block the writer): the schema and every
 * statement and transaction on it. Several processes may open one log at once: writes take the
 * write lock first (`BEGIN IMMEDIATE`) and read the shard counters inside it.
 */
export class LogDatabase {
  /** Opens the log in `dir`, creating it when `create` is given; undefined when there is none. */
  static open(dir: string, create?: LogSettings, now: () => number = Date.now): LogDatabase | undefined {
    const file = path.join(dir, LOG_FILE);
    if (create) mkdirSync(dir, { recursive: true });
    else if (!existsSync(file)) return undefined;
    const db = new Database(file, { fileMustExist: create === undefined, timeout: BUSY_TIMEOUT_MS });
    try {
      // Only takes effect on a new, empty file; 16 KiB pages make puts faster (BENCHMARKS.md).
      db.pragma(`page_size = ${PAGE_SIZE}`);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      const settings = db
        .transaction(() => readSettings(db, file) ?? (create && createSchema(db, create)))
        .immediate();
      if (settings) return new LogDatabase(db, settings, now);
      db.close();
      return undefined;
    } catch (error) {
      db.close();
      throw error;
    }
  }

  private readonly tables: ShardTable[] = [];
  private readonly shardStates: Database.Statement<[], [lastSeq: number, lastArrival: number]>;
  private readonly tipOf: Database.Statement<[number], number>;
  private readonly updateShard: Database.Statement<[number, number, number]>;
  private readonly loadCheckpointOf: Database.Statement<[string, string], string>;
  private readonly upsertCheckpoint: Database.Statement<[string, string, string, number]>;
  private readonly appendTx: Database.Transaction<AppendFn>;
  /** Shard leases of consumers, beside their checkpoints (the table is added to logs made before it). */
  readonly leases: LeaseTable;

  private constructor(
    private readonly db: Database.Database,
    readonly settings: LogSettings,
    now: () => number,
  ) {
    this.leases = new LeaseTable(db, now);
    this.shardStates = db
      .prepare<[], [number, number]>('SELECT last_seq, last_arrival FROM shards ORDER BY shard')
      .raw(true);
    this.tipOf = db.prepare<[number], number>('SELECT last_seq FROM shards WHERE shard = ?').pluck(true);
    this.updateShard = db.prepare('UPDATE shards SET last_seq = ?, last_arrival = ? WHERE shard = ?');
    this.loadCheckpointOf = db
      .prepare<[string, string], string>(
        'SELECT sequence_number FROM checkpoints WHERE consumer = ? AND shard_id = ?',
      )
      .pluck(true);
    this.upsertCheckpoint = db.prepare(
      `INSERT INTO checkpoints (consumer, shard_id, sequence_number, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (consumer, shard_id) DO UPDATE SET sequence_number = excluded.sequence_number,
         updated_at = excluded.updated_at`,
    );
    this.appendTx = db.transaction(this.appendNow.bind(this));
  }

  private table(shard: number): ShardTable {
    let table = this.tables[shard];
    if (!table) {
      table = new ShardTable(this.db, shard);
      this.tables[shard] = table;
    }
    return table;
  }

  /**
   * Appends records in one transaction, `shards[i]` being record i's shard, and first deletes records
   * that arrived before `trimBefore` when given. Returns each record's sequence number.
   */
  append(
    records: readonly RecordToPut[],
    shards: readonly number[],
    now: number,
    trimBefore: number | undefined,
  ): number[] {
    return this.appendTx.immediate(records, shards, now, trimBefore);
  }

  private appendNow(
    records: readonly RecordToPut[],
    shards: readonly number[],
    now: number,
    trimBefore: number | undefined,
  ): number[] {
    if (trimBefore !== undefined) this.trimNow(trimBefore);
    const states = this.shardStates.all();
    const rowsByShard = new Map<number, unknown[]>();
    const seqs = records.map((record, i) => {
      const shard = shards[i] as number;
      const state = states[shard] as [number, number];
      // Arrival times never decrease along a shard, even when the clock steps back, so that
      // AT_TIMESTAMP and trimming can binary-search them.
      state[1] = Math.max(now, state[1]);
      state[0] += 1;
      let rows = rowsByShard.get(shard);
      if (!rows) {
        rows = [];
        rowsByShard.set(shard, rows);
      }
      rows.push(state[0], record.partitionKey, record.data, state[1]);
      return state[0];
    });
    for (const [shard, rows] of rowsByShard) {
      this.table(shard).append(rows);
      const [lastSeq, lastArrival] = states[shard] as [number, number];
      this.updateShard.run(lastSeq, lastArrival, shard);
    }
    return seqs;
  }

  /** Up to `limit` records (and `maxBytes` of data) after `after`, with the shard's tip at that moment. */
  read(
    shard: number,
    after: number,
    limit: number,
    maxBytes: number,
  ): { records: StreamRecord[]; tip: number } {
    return this.db.transaction(() => ({
      records: this.table(shard).read(after, limit, maxBytes),
      tip: this.tip(shard),
    }))();
  }

  /** The shard's last sequence number given out (0 before the first); trimming does not lower it. */
  tip(shard: number): number {
    return this.tipOf.get(shard) ?? 0;
  }

  /** How many records the shard holds after sequence number `after`. */
  countAfter(shard: number, after: number): number {
    return this.db.transaction(() => {
      const first = this.table(shard).first();
      return first === undefined ? 0 : Math.max(0, this.tip(shard) - Math.max(after, first - 1));
    })();
  }

  /** The first sequence number that arrived at or after `time`; the tip + 1 when none has yet. */
  firstArrivedAtOrAfter(shard: number, time: number): number {
    return this.db.transaction(() => this.searchArrival(shard, time))();
  }

  /** Binary search over point lookups: sequence numbers have no gaps and arrivals never decrease. */
  private searchArrival(shard: number, time: number): number {
    const table = this.table(shard);
    let high = this.tip(shard) + 1;
    let low = table.first() ?? high;
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      if ((table.arrivalOf(middle) ?? time) >= time) high = middle;
      else low = middle + 1;
    }
    return low;
  }

  /** Deletes the records that arrived before `time`, from every shard. */
  trim(time: number): void {
    this.db.transaction(() => this.trimNow(time)).immediate();
  }

  private trimNow(time: number): void {
    for (let shard = 0; shard < this.settings.shards; shard++) {
      const table = this.table(shard);
      const first = table.first();
      // Most of the time the oldest record has not expired: one lookup, no search.
      if (first === undefined || (table.arrivalOf(first) ?? time) >= time) continue;
      table.deleteThrough(this.searchArrival(shard, time) - 1);
    }
  }

  loadCheckpoint(consumer: string, shardId: string): string | undefined {
    return this.loadCheckpointOf.get(consumer, shardId);
  }

  /**
   * Saves a checkpoint durably: with `synchronous = FULL` the commit syncs the write-ahead log, and
   * with it every put before it (puts alone use NORMAL, which a power cut may roll back).
   */
  saveCheckpoint(consumer: string, shardId: string, sequenceNumber: string, now: number): void {
    this.durably(() => this.upsertCheckpoint.run(consumer, shardId, sequenceNumber, now));
  }

  /**
   * Saves a checkpoint, as `saveCheckpoint`, only while `lease` is held, renewing it in the same
   * transaction; undefined (nothing saved) once another owner has taken the shard.
   */
  saveLeasedCheckpoint(
    lease: Lease,
    sequenceNumber: string,
    durationMs: number,
    now: number,
  ): Lease | undefined {
    return this.durably(() =>
      this.leases.renew(lease, durationMs, () =>
        this.upsertCheckpoint.run(lease.consumer, lease.shardId, sequenceNumber, now),
      ),
    );
  }

  private durably<T>(write: () => T): T {
    this.db.pragma('synchronous = FULL');
    try {
      return write();
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
  }

  close(): void {
    this.db.close();
  }
}

/** The settings of an existing log; undefined when the file holds no log (yet). */
function readSettings(db: Database.Database, file: string): LogSettings | undefined {
  const version = db.pragma('user_version', { simple: true });
  if (version === 0) return undefined;
  if (version !== SCHEMA_VERSION) {
    throw new StreamError(
      'unsupported_log_version',
      `the log at ${file} has format version ${version}; this version of activity reads version ${SCHEMA_VERSION}`,
    );
  }
  const row = db.prepare('SELECT shard_count, retention_hours FROM stream').get() as {
    shard_count: number;
    retention_hours: number;
  };
  return { shards: row.shard_count, retentionHours: row.retention_hours };
}

function createSchema(db: Database.Database, settings: LogSettings): LogSettings {
  db.exec(`
    CREATE TABLE stream (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      shard_count INTEGER NOT NULL,
      retention_hours INTEGER NOT NULL
    );
    CREATE TABLE shards (
      shard INTEGER PRIMARY KEY,
      last_seq INTEGER NOT NULL,
      last_arrival INTEGER NOT NULL
    );
    CREATE TABLE checkpoints (
      consumer TEXT NOT NULL,
      shard_id TEXT NOT NULL,
      sequence_number TEXT NOT NULL,
      updated_at INTEGER NOT NULL,
      PRIMARY KEY (consumer, shard_id)
    );
    PRAGMA user_version = ${SCHEMA_VERSION};
  `);
  db.prepare('INSERT INTO stream VALUES (1, ?, ?)').run(settings.shards, settings.retentionHours);
  const addShard = db.prepare('INSERT INTO shards VALUES (?, 0, 0)');
  for (let shard = 0; shard < settings.shards; shard++) {
    addShard.run(shard);
    db.exec(ShardTable.ddl(shard));
  }
  return settings;
}
