import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { CheckpointStore, Lease, LeaseStore } from '../../core/ports.js';
import { LeaseTable } from './lease-table.js';

/** The leases file beside the checkpoint files of a stream that keeps neither itself (Kinesis). */
export const LEASES_FILE = 'leases.sqlite';
const BUSY_TIMEOUT_MS = 5_000;

/**
 * Leases for a stream read by the local runner that keeps no leases itself (Kinesis): a small SQLite
 * file (WAL mode, so several processes share it) beside the checkpoint files. A checkpoint is saved
 * only after the lease was renewed, still held, a moment before.
 */
export class FileLeaseStore implements LeaseStore {
  private readonly file: string;
  private readonly checkpoints: CheckpointStore;
  private readonly now: () => number;
  private table: { db: Database.Database; leases: LeaseTable } | undefined;

  constructor(dir: string, checkpoints: CheckpointStore, now: () => number = Date.now) {
    this.file = path.join(path.resolve(dir), LEASES_FILE);
    this.checkpoints = checkpoints;
    this.now = now;
  }

  async acquire(
    consumer: string,
    shardId: string,
    owner: string,
    durationMs: number,
  ): Promise<Lease | undefined> {
    return this.leases().acquire(consumer, shardId, owner, durationMs);
  }

  async renew(lease: Lease, durationMs: number): Promise<Lease | undefined> {
    return this.leases().renew(lease, durationMs);
  }

  async checkpoint(lease: Lease, sequenceNumber: string, durationMs: number): Promise<Lease | undefined> {
    const renewed = this.leases().renew(lease, durationMs);
    if (renewed !== undefined) await this.checkpoints.save(lease.consumer, lease.shardId, sequenceNumber);
    return renewed;
  }

  async release(lease: Lease, durationMs: number): Promise<void> {
    this.leases().release(lease, durationMs);
  }

  async claim(consumer: string, shardId: string, claimant: string): Promise<boolean> {
    return this.leases().claim(consumer, shardId, claimant);
  }

  async list(consumer?: string): Promise<Lease[]> {
    return this.leases().list(consumer);
  }

  close(): void {
    this.table?.db.close();
    this.table = undefined;
  }

  private leases(): LeaseTable {
    if (this.table === undefined) {
      mkdirSync(path.dirname(this.file), { recursive: true });
      const db = new Database(this.file, { timeout: BUSY_TIMEOUT_MS });
      db.pragma('journal_mode = WAL');
      this.table = { db, leases: new LeaseTable(db, this.now) };
    }
    return this.table.leases;
  }
}
