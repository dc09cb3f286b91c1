import { existsSync, rmdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describeError, PipelineError, StreamError } from '../../core/errors.js';
import { checkInteger, MAX_LOCAL_SHARDS } from '../../core/limits.js';
import type {
  CheckpointStore,
  GetRecordsResult,
  Lease,
  LeaseStore,
  PutRecordsResult,
  RecordToPut,
  ShardDescription,
  StartPosition,
  StreamAdmin,
  StreamDescription,
  StreamReader,
  StreamWriter,
} from '../../core/ports.js';
import { checkPut } from '../put-limits.js';
import { evenHashKeyRanges, HashKeyRouter } from './hash-keys.js';
import { BUSY_TIMEOUT_MS, LOG_FILE, LogDatabase, type LogSettings } from './log-database.js';
import {
  decodeIterator,
  encodeIterator,
  formatSequenceNumber,
  formatShardId,
  parseSequenceNumber,
  parseShardId,
} from './positions.js';

export const DEFAULT_LOCAL_SHARDS = 2;
export const DEFAULT_RETENTION_HOURS = 24;
/** Kinesis' bounds on retention, in hours. */
const MIN_RETENTION_HOURS = 24;
const MAX_RETENTION_HOURS = 8760;
/** Kinesis `GetRecords` returns at most 10,000 records and 10 MiB of data per call. */
const MAX_GET_RECORDS = 10_000;
const MAX_GET_RECORDS_BYTES = 10 * 1024 * 1024;
/** Puts delete expired records at most this often. */
const TRIM_INTERVAL_MS = 60_000;
const HOUR_MS = 3_600_000;

export interface LocalStreamOptions {
  /** Shards of the log when this creates it (default `DEFAULT_LOCAL_SHARDS`); an existing log keeps its own. */
  shards?: number;
  /** Hours records are kept when this creates the log (24 to 8760, as Kinesis; default 24). */
  retentionHours?: number;
  /** Whether `connect()` creates a missing log (default true); `create()` always may. */
  createIfMissing?: boolean;
  /** The clock, in epoch milliseconds: arrival times and retention (default `Date.now`). */
  now?: () => number;
}

/** A stream's path as a `LocalStream`; nothing touches the disk until `connect()`, `create()` or `describe()`. */
export function openLocalStream(streamPath: string, options: LocalStreamOptions = {}): LocalStream {
  return new LocalStream(streamPath, options);
}

/** The open log and what follows from its settings. */
interface OpenLog {
  log: LogDatabase;
  router: HashKeyRouter;
}

/**
 * The embedded stream: a durable local log with Kinesis Data Streams semantics in a directory
 * (`log.sqlite` and its WAL files). Several processes may read and write one log at once.
 *
 * Differences from Kinesis, all deliberate: no resharding; a put of zero records returns an empty
 * result (Kinesis rejects it); iterators never expire; arrival times never decrease along a shard
 * (a clock stepping back repeats the last one).
 *
 * `create()` and `describe()` open the log when it is not open yet; `close()` it after them too.
 */
export class LocalStream implements StreamWriter, StreamReader, StreamAdmin, CheckpointStore, LeaseStore {
  readonly path: string;
  readonly name: string;
  readonly streamArn: string;
  private readonly settings: LogSettings;
  private readonly createIfMissing: boolean;
  private readonly now: () => number;
  private opened: OpenLog | undefined;
  private closed = false;
  /** When this process last deleted expired records. */
  private trimmedAt = 0;

  constructor(streamPath: string, options: LocalStreamOptions = {}) {
    this.path = path.resolve(streamPath);
    this.name = path.basename(this.path);
    this.streamArn = `arn:aws:kinesis:local:000000000000:stream/${this.name}`;
    this.settings = {
      shards: checkShards(options.shards ?? DEFAULT_LOCAL_SHARDS),
      retentionHours: checkRetention(options.retentionHours ?? DEFAULT_RETENTION_HOURS),
    };
    this.createIfMissing = options.createIfMissing ?? true;
    this.now = options.now ?? Date.now;
  }

  async connect(): Promise<void> {
    this.guard(() => this.open(this.createIfMissing ? this.settings : undefined));
  }

  async close(): Promise<void> {
    this.opened?.log.close();
    this.opened = undefined;
    this.closed = true;
  }

  async putRecords(records: readonly RecordToPut[], signal?: AbortSignal): Promise<PutRecordsResult> {
    signal?.throwIfAborted();
    return this.guard(() => {
      const { log, router } = this.connected();
      checkPut(records);
      if (records.length === 0) return { failedRecordCount: 0, records: [] };
      const shards = records.map((record) => router.shardOf(record.partitionKey));
      const now = this.now();
      const trimDue = now - this.trimmedAt >= TRIM_INTERVAL_MS;
      const seqs = log.append(records, shards, now, trimDue ? expiredBefore(log, now) : undefined);
      if (trimDue) this.trimmedAt = now;
      return {
        failedRecordCount: 0,
        records: seqs.map((seq, i) => ({
          ok: true,
          shardId: formatShardId(shards[i] as number),
          sequenceNumber: formatSequenceNumber(seq),
        })),
      };
    });
  }

  async listShards(): Promise<ShardDescription[]> {
    return this.guard(() => describeShards(this.connected().log.settings.shards));
  }

  async getShardIterator(shardId: string, position: StartPosition): Promise<string> {
    return this.guard(() => {
      const { log } = this.connected();
      const shard = parseShardId(shardId, log.settings.shards);
      return encodeIterator({ shard, after: startAfter(log, shard, position) });
    });
  }

  /** `millisBehindLatest` is 0 exactly when no record follows the last one returned (at least 1 otherwise). */
  async getRecords(shardIterator: string, limit: number): Promise<GetRecordsResult> {
    return this.guard(() => {
      const { log } = this.connected();
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_GET_RECORDS) {
        throw new StreamError(
          'invalid_argument',
          `limit must be between 1 and ${MAX_GET_RECORDS} (given ${limit})`,
        );
      }
      const { shard, after } = decodeIterator(shardIterator, log.settings.shards);
      const { records, tip } = log.read(shard, after, limit, MAX_GET_RECORDS_BYTES);
      const last = records.at(-1);
      const position = last === undefined ? after : Number(last.sequenceNumber);
      const behind = last !== undefined && position < tip;
      return {
        records,
        nextShardIterator: encodeIterator({ shard, after: position }),
        millisBehindLatest: behind ? Math.max(1, this.now() - last.approximateArrivalTimestamp.getTime()) : 0,
      };
    });
  }

  async load(consumer: string, shardId: string): Promise<string | undefined> {
    return this.guard(() => {
      const { log } = this.connected();
      parseShardId(shardId, log.settings.shards);
      return log.loadCheckpoint(consumer, shardId);
    });
  }

  /** Durable when it returns, even across a power cut. */
  async save(consumer: string, shardId: string, sequenceNumber: string): Promise<void> {
    this.guard(() => {
      const { log } = this.connected();
      if (consumer === '') throw new StreamError('invalid_argument', 'consumer name must not be empty');
      parseShardId(shardId, log.settings.shards);
      const normalized = formatSequenceNumber(parseSequenceNumber(sequenceNumber));
      log.saveCheckpoint(consumer, shardId, normalized, this.now());
    });
  }

  async acquire(
    consumer: string,
    shardId: string,
    owner: string,
    durationMs: number,
  ): Promise<Lease | undefined> {
    return this.guard(() => this.leasesOf(shardId).acquire(consumer, shardId, owner, durationMs));
  }

  async renew(lease: Lease, durationMs: number): Promise<Lease | undefined> {
    return this.guard(() => this.leasesOf(lease.shardId).renew(lease, durationMs));
  }

  /** Saves the checkpoint and renews the lease in one transaction: durable, and only while held. */
  async checkpoint(lease: Lease, sequenceNumber: string, durationMs: number): Promise<Lease | undefined> {
    return this.guard(() => {
      const { log } = this.connected();
      parseShardId(lease.shardId, log.settings.shards);
      const normalized = formatSequenceNumber(parseSequenceNumber(sequenceNumber));
      return log.saveLeasedCheckpoint(lease, normalized, durationMs, this.now());
    });
  }

  async release(lease: Lease, durationMs: number): Promise<void> {
    this.guard(() => this.leasesOf(lease.shardId).release(lease, durationMs));
  }

  async claim(consumer: string, shardId: string, claimant: string): Promise<boolean> {
    return this.guard(() => this.leasesOf(shardId).claim(consumer, shardId, claimant));
  }

  /** Every consumer's leases; opens the log (for `activity stream describe`) when it is not open. */
  async list(consumer?: string): Promise<Lease[]> {
    return this.guard(() => this.open(undefined).log.leases.list(consumer));
  }

  private leasesOf(shardId: string) {
    const { log } = this.connected();
    parseShardId(shardId, log.settings.shards);
    return log.leases;
  }

  /** The last sequence number the shard has given out; undefined before its first record. */
  async tipOf(shardId: string): Promise<string | undefined> {
    return this.guard(() => {
      const { log } = this.connected();
      const tip = log.tip(parseShardId(shardId, log.settings.shards));
      return tip === 0 ? undefined : formatSequenceNumber(tip);
    });
  }

  /** How many records the shard holds after `sequenceNumber` (all when undefined): a consumer's lag. */
  async countAfter(shardId: string, sequenceNumber: string | undefined): Promise<number> {
    return this.guard(() => {
      const { log } = this.connected();
      const shard = parseShardId(shardId, log.settings.shards);
      return log.countAfter(shard, sequenceNumber === undefined ? 0 : parseSequenceNumber(sequenceNumber));
    });
  }

  /**
   * Creates the log with these settings, or returns the existing one's description when it has
   * them; a different shard count (or a retention given and different) is a `stream_exists` error.
   */
  async create(options: { shards: number; retentionHours?: number }): Promise<StreamDescription> {
    return this.guard(() => {
      const wanted: LogSettings = {
        shards: checkShards(options.shards),
        retentionHours: checkRetention(options.retentionHours ?? this.settings.retentionHours),
      };
      const { log } = this.open(wanted);
      const have = log.settings;
      if (
        have.shards !== wanted.shards ||
        (options.retentionHours !== undefined && have.retentionHours !== wanted.retentionHours)
      ) {
        throw new StreamError(
          'stream_exists',
          `a stream already exists at ${this.path} with ${have.shards} shards and ${have.retentionHours} h ` +
            `retention (asked for ${wanted.shards} shards and ${wanted.retentionHours} h); to change them, ` +
            `delete it first with \`activity stream delete --stream ${this.path}\``,
        );
      }
      return this.description(log);
    });
  }

  async describe(): Promise<StreamDescription> {
    return this.guard(() => this.description(this.open(undefined).log));
  }

  /** Deletes the log's files, and the directory when nothing else is in it. */
  async delete(): Promise<void> {
    this.guard(() => {
      this.assertNotClosed();
      this.opened?.log.close();
      this.opened = undefined;
      const file = path.join(this.path, LOG_FILE);
      if (!existsSync(file)) throw notFound(this.path);
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
      try {
        rmdirSync(this.path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOTEMPTY') throw error;
      }
    });
  }

  /** The open log, opening it first (and creating it with `create` when missing); deletes expired records on opening. */
  private open(create: LogSettings | undefined): OpenLog {
    this.assertNotClosed();
    if (this.opened) return this.opened;
    const log = LogDatabase.open(this.path, create, this.now);
    if (!log) throw notFound(this.path);
    const now = this.now();
    try {
      log.trim(expiredBefore(log, now));
    } catch (error) {
      log.close();
      throw error;
    }
    this.trimmedAt = now;
    this.opened = { log, router: new HashKeyRouter(log.settings.shards) };
    return this.opened;
  }

  private connected(): OpenLog {
    this.assertNotClosed();
    if (!this.opened) {
      throw new StreamError(
        'stream_not_connected',
        `the local stream at ${this.path} is not connected: call connect() first`,
      );
    }
    return this.opened;
  }

  private assertNotClosed(): void {
    if (this.closed) throw new StreamError('stream_closed', `the local stream at ${this.path} is closed`);
  }

  private description(log: LogDatabase): StreamDescription {
    const { shards, retentionHours } = log.settings;
    let recordCount = 0;
    for (let shard = 0; shard < shards; shard++) recordCount += log.countAfter(shard, 0);
    return {
      name: this.name,
      arn: this.streamArn,
      status: 'ACTIVE',
      shards: describeShards(shards),
      retentionHours,
      recordCount,
    };
  }

  /** Runs a synchronous operation on the log, turning its failures into `StreamError`s. */
  private guard<T>(operation: () => T): T {
    try {
      return operation();
    } catch (error) {
      if (error instanceof PipelineError) throw error;
      if (error instanceof Database.SqliteError && /^SQLITE_(BUSY|LOCKED)/.test(error.code)) {
        throw new StreamError(
          'stream_busy',
          `the log at ${this.path} stayed locked by another process for over ${BUSY_TIMEOUT_MS / 1000} s: ${error.message}`,
          { retriable: true, cause: error },
        );
      }
      throw new StreamError('stream_failed', `the log at ${this.path} failed: ${describeError(error)}`, {
        cause: error,
      });
    }
  }
}

/** Records that arrived before this instant are past the log's retention. */
function expiredBefore(log: LogDatabase, now: number): number {
  return now - log.settings.retentionHours * HOUR_MS;
}

function notFound(streamPath: string): StreamError {
  return new StreamError(
    'stream_not_found',
    `no stream at ${streamPath}: create it with \`activity stream create --stream ${streamPath}\`, ` +
      'or let a command that writes to it create it on first use',
  );
}

function checkShards(shards: number): number {
  return checkInteger('shard count', shards, 1, MAX_LOCAL_SHARDS);
}

function checkRetention(hours: number): number {
  return checkInteger('retention (hours)', hours, MIN_RETENTION_HOURS, MAX_RETENTION_HOURS);
}

/** The log's shards: even hash-key ranges, each open, its sequence numbers starting at 1. */
function describeShards(count: number): ShardDescription[] {
  return evenHashKeyRanges(count).map((hashKeyRange, shard) => ({
    shardId: formatShardId(shard),
    hashKeyRange,
    sequenceNumberRange: { startingSequenceNumber: formatSequenceNumber(1) },
  }));
}

/** The sequence number a new iterator at `position` reads after. */
function startAfter(log: LogDatabase, shard: number, position: StartPosition): number {
  switch (position.type) {
    case 'TRIM_HORIZON':
      return 0;
    case 'LATEST':
      return log.tip(shard);
    case 'AT_SEQUENCE_NUMBER':
      return givenSequenceNumber(log, shard, position.sequenceNumber) - 1;
    case 'AFTER_SEQUENCE_NUMBER':
      return givenSequenceNumber(log, shard, position.sequenceNumber);
    case 'AT_TIMESTAMP': {
      const time = position.timestamp.getTime();
      if (Number.isNaN(time))
        throw new StreamError('invalid_argument', 'AT_TIMESTAMP needs a valid timestamp');
      return log.firstArrivedAtOrAfter(shard, time) - 1;
    }
  }
}

/** A sequence number the shard has given out (its record may have expired since). */
function givenSequenceNumber(log: LogDatabase, shard: number, text: string): number {
  const seq = parseSequenceNumber(text);
  const tip = log.tip(shard);
  if (seq < 1 || seq > tip) {
    throw new StreamError(
      'invalid_sequence_number',
      `sequence number ${text} was never given out by ${formatShardId(shard)} ` +
        `(its last is ${tip === 0 ? 'none yet' : formatSequenceNumber(tip)})`,
    );
  }
  return seq;
}
