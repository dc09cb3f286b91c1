import type Database from 'better-sqlite3';
import type { StreamRecord } from '../../core/ports.js';
import { formatSequenceNumber } from './positions.js';

/** Columns of a record row, in insert order: seq, partition_key, data, arrival. */
const COLUMNS = 4;
/** Rows per multi-row INSERT: one statement per 32 rows measured ~50% faster puts than one per row. */
const INSERT_CHUNK = 32;

function tableName(shard: number): string {
  return `records_${shard}`;
}

/**
 * One shard's records: a table whose rowid is the sequence number. Appends go to the end of one
 * B-tree and reads are range scans of it. It puts faster than one rowid table with a (shard, seq)
 * index, or one WITHOUT ROWID table keyed by (shard, seq), whose B-tree holds whole rows even in its
 * interior pages (BENCHMARKS.md, design measurements).
 *
 * Sequence numbers have no gaps (each put takes the next ones, trimming removes a prefix), so a
 * shard holds exactly the records first()..tip.
 */
export class ShardTable {
  static ddl(shard: number): string {
    return `CREATE TABLE ${tableName(shard)} (
      seq INTEGER PRIMARY KEY,
      partition_key TEXT NOT NULL,
      data BLOB NOT NULL,
      arrival INTEGER NOT NULL
    )`;
  }

  private readonly insertOne: Database.Statement;
  private readonly insertChunk: Database.Statement;
  private readonly headsAfter: Database.Statement<[number, number], [number, string, number, number]>;
  private readonly dataAfter: Database.Statement<[number, number], Buffer>;
  private readonly firstSeq: Database.Statement<[], number | null>;
  private readonly arrivalAt: Database.Statement<[number], number>;
  private readonly deleteUpTo: Database.Statement<[number]>;

  constructor(db: Database.Database, shard: number) {
    const table = tableName(shard);
    const values = (rows: number) => Array.from({ length: rows }, () => '(?, ?, ?, ?)').join(', ');
    this.insertOne = db.prepare(`INSERT INTO ${table} VALUES ${values(1)}`);
    this.insertChunk = db.prepare(`INSERT INTO ${table} VALUES ${values(INSERT_CHUNK)}`);
    // length() of a blob reads its size from the row header, not the blob itself.
    this.headsAfter = db
      .prepare<[number, number], [number, string, number, number]>(
        `SELECT seq, partition_key, arrival, length(data) FROM ${table} WHERE seq > ? ORDER BY seq LIMIT ?`,
      )
      .raw(true);
    this.dataAfter = db
      .prepare<[number, number], Buffer>(`SELECT data FROM ${table} WHERE seq > ? ORDER BY seq LIMIT ?`)
      .pluck(true);
    this.firstSeq = db.prepare<[], number | null>(`SELECT min(seq) FROM ${table}`).pluck(true);
    this.arrivalAt = db.prepare<[number], number>(`SELECT arrival FROM ${table} WHERE seq = ?`).pluck(true);
    this.deleteUpTo = db.prepare<[number]>(`DELETE FROM ${table} WHERE seq <= ?`);
  }

  /** Inserts rows given as flat parameters: seq, partition key, data, arrival, seq, … */
  append(params: unknown[]): void {
    const rows = params.length / COLUMNS;
    let row = 0;
    for (; row + INSERT_CHUNK <= rows; row += INSERT_CHUNK) {
      this.insertChunk.run(params.slice(row * COLUMNS, (row + INSERT_CHUNK) * COLUMNS));
    }
    for (; row < rows; row++) this.insertOne.run(params.slice(row * COLUMNS, (row + 1) * COLUMNS));
  }

  /**
   * Up to `limit` records after sequence number `after`, in order, with at most `maxBytes` of data
   * (but always at least one record). Run it in a transaction: it reads the headers first, to bound
   * the bytes, then the data of the records that fit.
   */
  read(after: number, limit: number, maxBytes: number): StreamRecord[] {
    const heads = this.headsAfter.all(after, limit);
    let count = 0;
    let bytes = 0;
    for (const [, , , size] of heads) {
      if (count > 0 && bytes + size > maxBytes) break;
      bytes += size;
      count++;
    }
    if (count === 0) return [];
    const data = this.dataAfter.all(after, count);
    return data.map((blob, i) => {
      const [seq, partitionKey, arrival] = heads[i] as [number, string, number, number];
      return {
        sequenceNumber: formatSequenceNumber(seq),
        partitionKey,
        data: blob,
        approximateArrivalTimestamp: new Date(arrival),
      };
    });
  }

  /** The oldest record's sequence number; undefined when the shard holds none. */
  first(): number | undefined {
    return this.firstSeq.get() ?? undefined;
  }

  arrivalOf(seq: number): number | undefined {
    return this.arrivalAt.get(seq);
  }

  deleteThrough(seq: number): void {
    this.deleteUpTo.run(seq);
  }
}
