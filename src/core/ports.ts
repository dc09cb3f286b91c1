/**
 * The ports every adapter implements.
 *
 * One lifecycle rule: a caller calls `connect()` before anything else and `close()` last, and an
 * adapter may rely on it (the embedded log refuses reads and writes before `connect()` with
 * `stream_not_connected`). `StreamAdmin` is the one exception, since it works on a stream that may
 * not exist yet: `create`, `describe` and `delete` open what they need themselves. Checkpoints and
 * leases are facets of a stream's connection (`openStream` returns them with it) and share its
 * lifecycle.
 *
 * Partial failure is a value (as in Kinesis `PutRecords`), not an exception; an exception means the
 * whole call failed and carries a `PipelineError` with its code (one of the port's typed codes:
 * `StreamErrorCode`, `StoreErrorCode`) and `retriable` set where it was made.
 */

/** One record to put on a stream. */
export interface RecordToPut {
  /** Routes the record to a shard (MD5 into the 128-bit hash-key space). We use `user_id`. */
  partitionKey: string;
  data: Uint8Array;
}

/** The outcome of one record of a put: a sequence number, or an error code. */
export type PutEntryResult =
  | { ok: true; shardId: string; sequenceNumber: string }
  | { ok: false; errorCode: string; errorMessage: string; retriable: boolean };

export interface PutRecordsResult {
  failedRecordCount: number;
  /** One entry per input record, in input order. */
  records: PutEntryResult[];
}

/** Writes records to a stream, like Kinesis `PutRecords`. */
export interface StreamWriter {
  connect(): Promise<void>;
  /** At most `MAX_PUT_RECORDS` records and `MAX_PUT_BYTES` bytes. */
  putRecords(records: readonly RecordToPut[], signal?: AbortSignal): Promise<PutRecordsResult>;
  close(): Promise<void>;
}

export interface ShardDescription {
  shardId: string;
  parentShardId?: string;
  adjacentParentShardId?: string;
  /** Decimal strings, as Kinesis gives them. */
  hashKeyRange: { startingHashKey: string; endingHashKey: string };
  sequenceNumberRange: { startingSequenceNumber: string; endingSequenceNumber?: string };
}

/** Where to start reading a shard: Kinesis' five iterator types. */
export type StartPosition =
  | { type: 'TRIM_HORIZON' }
  | { type: 'LATEST' }
  | { type: 'AT_SEQUENCE_NUMBER'; sequenceNumber: string }
  | { type: 'AFTER_SEQUENCE_NUMBER'; sequenceNumber: string }
  | { type: 'AT_TIMESTAMP'; timestamp: Date };

/** One record read from a stream. */
export interface StreamRecord {
  sequenceNumber: string;
  partitionKey: string;
  data: Uint8Array;
  approximateArrivalTimestamp: Date;
}

export interface GetRecordsResult {
  records: StreamRecord[];
  /** Absent once a closed shard has been read to its end. */
  nextShardIterator?: string;
  /** How far the last record returned is behind the tip of the shard; 0 when caught up. */
  millisBehindLatest: number;
}

/** How often a consumer may read one shard: Kinesis allows 5 `GetRecords` calls a second per shard. */
export interface ReadPacing {
  /** The least time between two reads of one shard, in milliseconds. */
  minReadIntervalMs: number;
  /** How long to wait before reading again a shard that is caught up, in milliseconds. */
  idlePollMs: number;
}

/** Reads records from a stream, like Kinesis `ListShards`/`GetShardIterator`/`GetRecords`. */
export interface StreamReader {
  connect(): Promise<void>;
  /** The stream's ARN (or a local stand-in), used as `eventSourceARN`. */
  readonly streamArn: string;
  /** Read limits of the service; none (read as fast as wanted) when absent. */
  readonly pacing?: ReadPacing;
  listShards(): Promise<ShardDescription[]>;
  getShardIterator(shardId: string, position: StartPosition): Promise<string>;
  getRecords(shardIterator: string, limit: number): Promise<GetRecordsResult>;
  close(): Promise<void>;
}

/** Durable consumer checkpoints: the last sequence number fully processed, per shard. */
export interface CheckpointStore {
  load(consumer: string, shardId: string): Promise<string | undefined>;
  save(consumer: string, shardId: string, sequenceNumber: string): Promise<void>;
}

/**
 * One consumer's claim on one shard, as the Kinesis Client Library keeps them: who owns it, a counter
 * that grows with every renewal and change of owner (so a holder can tell it was taken over), and
 * when it runs out. A worker that wants the shard for balance names itself `claimant`; the owner hands
 * the lease over once its batch in hand has landed and been checkpointed.
 */
export interface Lease {
  consumer: string;
  shardId: string;
  /** Undefined once released. */
  owner?: string;
  counter: number;
  /** Epoch milliseconds. */
  expiresAt: number;
  claimant?: string;
}

/**
 * Leases of shards, kept beside the checkpoints, with atomic claims: several consumer processes of one
 * name split a stream's shards and never read one shard at the same time.
 */
export interface LeaseStore {
  /**
   * Takes the shard's lease for `owner` when nobody holds it, it has run out, or `owner` holds it
   * already; undefined when another owner holds it.
   */
  acquire(consumer: string, shardId: string, owner: string, durationMs: number): Promise<Lease | undefined>;
  /** Extends a held lease; undefined when it is no longer held (another owner took it). */
  renew(lease: Lease, durationMs: number): Promise<Lease | undefined>;
  /**
   * Saves the checkpoint only while the lease is held, renewing it in the same step; undefined (and
   * nothing saved) when it was lost.
   */
  checkpoint(lease: Lease, sequenceNumber: string, durationMs: number): Promise<Lease | undefined>;
  /** Lets the lease go: to its claimant when there is one, else free. Does nothing when no longer held. */
  release(lease: Lease, durationMs: number): Promise<void>;
  /** Asks the owner of a held lease to hand it over to `claimant` (balancing); false when already asked. */
  claim(consumer: string, shardId: string, claimant: string): Promise<boolean>;
  /** Every lease, of one consumer name or of all. */
  list(consumer?: string): Promise<Lease[]>;
}

export interface StreamDescription {
  name: string;
  arn: string;
  status: 'ACTIVE' | 'CREATING' | 'DELETING' | 'UPDATING';
  shards: ShardDescription[];
  retentionHours: number;
  /** Records currently held, where the stream can tell (the embedded log can). */
  recordCount?: number;
}

/** Creates, describes and deletes a stream (`activity stream …`). */
export interface StreamAdmin {
  create(options: { shards: number; retentionHours?: number }): Promise<StreamDescription>;
  /** Throws a `StreamError` with code `stream_not_found` when there is none. */
  describe(): Promise<StreamDescription>;
  delete(): Promise<void>;
}

export interface PutObjectOptions {
  contentType: string;
  contentEncoding?: string;
}

export interface ObjectInfo {
  key: string;
  size: number;
}

/**
 * An object store. `put` is atomic: readers see the whole object under its key or nothing, and a
 * second `put` of the same key replaces the first (so retried batches overwrite, never duplicate).
 * Keys are `/`-separated relative paths of safe characters; see `assertSafeKey`.
 */
export interface ObjectStore {
  connect(): Promise<void>;
  /** A URL naming where objects land, for messages (`file:///…/data`, `s3://bucket/prefix`). */
  readonly url: string;
  put(key: string, body: Uint8Array, options: PutObjectOptions, signal?: AbortSignal): Promise<void>;
  get(key: string, signal?: AbortSignal): Promise<Uint8Array>;
  /** Finished objects under a prefix; skips names that start with `_` or `.`. */
  list(prefix: string, signal?: AbortSignal): AsyncIterable<ObjectInfo>;
  /**
   * Removes an object; removing one that is not there succeeds (as S3's `DeleteObject` does), so a
   * repeated or concurrent delete is harmless.
   */
  delete(key: string, signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}
