import type Database from 'better-sqlite3';
import { StreamError } from '../../core/errors.js';
import type { Lease } from '../../core/ports.js';

/** The leases table, in the embedded log's SQLite file or in a file of its own beside Kinesis checkpoints. */
const DDL = `CREATE TABLE IF NOT EXISTS leases (
  consumer TEXT NOT NULL,
  shard_id TEXT NOT NULL,
  owner TEXT,
  counter INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  claimant TEXT,
  PRIMARY KEY (consumer, shard_id)
)`;

interface Row {
  consumer: string;
  shard_id: string;
  owner: string | null;
  counter: number;
  expires_at: number;
  claimant: string | null;
}

/**
 * Shard leases in a SQLite table. Every change is one `BEGIN IMMEDIATE` transaction that reads the row
 * and writes it under the database's write lock, so two processes claiming one shard at once cannot
 * both win: the second sees the first's owner and counter.
 */
export class LeaseTable {
  private readonly get: Database.Statement<[string, string], Row>;
  private readonly put: Database.Statement<[string, string, string | null, number, number, string | null]>;
  private readonly all: Database.Statement<[], Row>;
  private readonly ofConsumer: Database.Statement<[string], Row>;

  constructor(
    private readonly db: Database.Database,
    private readonly now: () => number,
  ) {
    db.exec(DDL);
    this.get = db.prepare('SELECT * FROM leases WHERE consumer = ? AND shard_id = ?');
    this.put = db.prepare(
      `INSERT INTO leases (consumer, shard_id, owner, counter, expires_at, claimant) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (consumer, shard_id) DO UPDATE SET owner = excluded.owner, counter = excluded.counter,
         expires_at = excluded.expires_at, claimant = excluded.claimant`,
    );
    this.all = db.prepare('SELECT * FROM leases ORDER BY consumer, shard_id');
    this.ofConsumer = db.prepare('SELECT * FROM leases WHERE consumer = ? ORDER BY shard_id');
  }

  acquire(consumer: string, shardId: string, owner: string, durationMs: number): Lease | undefined {
    checkDuration(durationMs);
    if (owner === '') throw new StreamError('invalid_argument', 'lease owner must not be empty');
    return this.db
      .transaction(() => {
        const row = this.get.get(consumer, shardId);
        const now = this.now();
        const free = row === undefined || row.owner === null || row.expires_at <= now || row.owner === owner;
        if (!free) return undefined;
        // A claim by the new owner is fulfilled; anyone else's claim stays for the next hand-over.
        const claimant = row?.claimant === owner ? null : (row?.claimant ?? null);
        return this.write({
          consumer,
          shard_id: shardId,
          owner,
          counter: (row?.counter ?? 0) + 1,
          expires_at: now + durationMs,
          claimant,
        });
      })
      .immediate();
  }

  /**
   * Extends the lease while it is still the one given (same owner and counter: nobody took it over
   * meanwhile), running `alsoInside` in the same transaction (the checkpoint save); else undefined.
   */
  renew(lease: Lease, durationMs: number, alsoInside?: () => void): Lease | undefined {
    checkDuration(durationMs);
    return this.db
      .transaction(() => {
        const row = this.held(lease);
        if (row === undefined) return undefined;
        alsoInside?.();
        return this.write({ ...row, counter: row.counter + 1, expires_at: this.now() + durationMs });
      })
      .immediate();
  }

  release(lease: Lease, durationMs: number): void {
    this.db
      .transaction(() => {
        const row = this.held(lease);
        if (row === undefined) return;
        const next = row.claimant !== null && row.claimant !== row.owner ? row.claimant : null;
        this.write({
          ...row,
          owner: next,
          counter: row.counter + 1,
          expires_at: next === null ? 0 : this.now() + durationMs,
          claimant: null,
        });
      })
      .immediate();
  }

  claim(consumer: string, shardId: string, claimant: string): boolean {
    return this.db
      .transaction(() => {
        const row = this.get.get(consumer, shardId);
        if (row === undefined || row.owner === null || row.owner === claimant || row.claimant !== null)
          return false;
        this.write({ ...row, claimant });
        return true;
      })
      .immediate();
  }

  list(consumer?: string): Lease[] {
    const rows = consumer === undefined ? this.all.all() : this.ofConsumer.all(consumer);
    return rows.map(toLease);
  }

  private held(lease: Lease): Row | undefined {
    const row = this.get.get(lease.consumer, lease.shardId);
    if (row === undefined || row.owner === null || row.owner !== lease.owner || row.counter !== lease.counter)
      return undefined;
    return row;
  }

  private write(row: Row): Lease {
    this.put.run(row.consumer, row.shard_id, row.owner, row.counter, row.expires_at, row.claimant);
    return toLease(row);
  }
}

function toLease(row: Row): Lease {
  return {
    consumer: row.consumer,
    shardId: row.shard_id,
    ...(row.owner === null ? {} : { owner: row.owner }),
    counter: row.counter,
    expiresAt: row.expires_at,
    ...(row.claimant === null ? {} : { claimant: row.claimant }),
  };
}

function checkDuration(durationMs: number): void {
  if (!Number.isInteger(durationMs) || durationMs < 1)
    throw new StreamError(
      'invalid_argument',
      `lease duration must be a positive integer of ms (given ${durationMs})`,
    );
}
