import { ConfigError, describeError, isRetriable, PipelineError } from '../../core/errors.js';
import {
  checkInteger,
  MAX_BATCH_SIZE,
  MAX_BATCH_WINDOW_MS,
  MAX_INVOKE_PAYLOAD_BYTES,
} from '../../core/limits.js';
import type {
  CheckpointStore,
  GetRecordsResult,
  LeaseStore,
  ShardDescription,
  StartPosition,
  StreamReader,
  StreamRecord,
} from '../../core/ports.js';
import { compareSequenceNumbers } from '../../core/sequence-numbers.js';
import type { RawRecord } from '../../layout/index.js';
import { type BackoffOptions, backoffDelay, retry, sleep } from '../../util/backoff.js';
import { type RecordSource, rawOfStreamRecord, recordPayloadBytes, toLambdaEvent } from '../envelope.js';
import type { ActivityHandler } from '../handler.js';
import type { ErrorReason } from '../landing.js';
import { BatchBuffer } from './batch-buffer.js';
import { DEFAULT_LEASE_DURATION_MS, LeaseKeeper, newLeaseOwner } from './lease-keeper.js';

/**
 * Local defaults: an event waits about the window and the landing of its batch, and each shard writes
 * an object per partition and window. At 10,000 events/s over two shards, 750 ms gives at most 267
 * objects per million events and leaves a quarter of a second of the 1 s latency target to land a
 * batch of about 3,750. 4,000, just above that and well below Lambda's 10,000 ceiling, keeps a
 * consumer thread's heap (two batches per shard) small: at full speed `run` peaks 15-25 MB lower than
 * with 5,000, at the same rate, for 251 objects per million instead of 201 (BENCHMARKS.md).
 */
export const DEFAULT_BATCH_SIZE = 4_000;
export const DEFAULT_BATCH_WINDOW_MS = 750;
export const DEFAULT_CONSUMER_NAME = 'activity-consumer';
/** The CDK app's function timeout, which the local runner keeps too. */
export const DEFAULT_INVOCATION_TIMEOUT_MS = 120_000;
/** Lambda's longest function timeout, 15 minutes. */
export const MAX_INVOCATION_TIMEOUT_MS = 900_000;

/** Where records go that the handler could not process within the retry or age limits. */
export type FailureDestination = (
  records: readonly RawRecord[],
  reason: Extract<ErrorReason, 'handler_failed' | 'record_expired'>,
  message: string,
  streamArn: string,
) => Promise<void>;

export interface RunnerOptions {
  reader: StreamReader;
  checkpoints: CheckpointStore;
  handler: ActivityHandler;
  onFailure: FailureDestination;
  /** Checkpoints are kept per consumer name; two names read the stream independently. */
  consumerName?: string;
  /**
   * Shard leases: runners of one consumer name (threads, processes) then never read one shard at
   * once; each takes its share, and the shards of one that died move to the others once its leases
   * run out. Without it, the runner reads every shard it owns by `shardIds`/`shardSlice`.
   */
  leases?: LeaseStore;
  /** How long a lease lasts unless renewed (renewed every third of it). */
  leaseDurationMs?: number;
  /** This runner's name as a lease owner (default: host, process, thread and a random tag). */
  leaseOwner?: string;
  /**
   * Lambda's function timeout: an invocation still running then is abandoned and retried whole,
   * as a failure (without bisecting, so a late write of the abandoned one rewrites the same objects).
   */
  invocationTimeoutMs?: number;
  batchSize?: number;
  batchWindowMs?: number;
  /** Where a shard with no checkpoint starts. */
  startingPosition?: StartPosition;
  /** Start every shard at `startingPosition` even where a checkpoint exists (a replay). */
  ignoreCheckpoints?: boolean;
  bisectOnError?: boolean;
  /** -1 retries until the batch succeeds (Lambda's default for Kinesis). */
  maximumRetryAttempts?: number;
  /** -1 keeps records however old they are (Lambda's default). */
  maximumRecordAgeMs?: number;
  /** Read only these shards; all shards when absent. */
  shardIds?: readonly string[];
  /**
   * Read only slice `index` of `count` (by shard number), so that several runners split a stream and
   * the shards a reshard creates later are split too.
   */
  shardSlice?: { index: number; count: number };
  /** How long to wait before reading again a shard that is caught up (default: the reader's pacing). */
  pollIntervalMs?: number;
  /** How often to look for shards created by a reshard. */
  shardDiscoveryMs?: number;
  retryBackoff?: BackoffOptions;
  awsRegion?: string;
  now?: () => number;
  warn?: (message: string) => void;
}

export interface ShardProgress {
  shardId: string;
  millisBehindLatest: number;
  checkpoint?: string;
  /** Set while the shard's batch is being retried after a failure. */
  retrying?: string;
  /** Set while the shard waits for its parents (after a reshard) to be read to their end. */
  waitingForParents?: boolean;
  /** Set once a closed shard has been read to its end and all it held has landed. */
  ended?: boolean;
}

export interface RunnerStats {
  records: number;
  batches: number;
  retries: number;
  failedToDestination: number;
  shards: ShardProgress[];
}

/** What one invocation of the handler came to. */
type InvocationOutcome =
  | { kind: 'ok' }
  | { kind: 'partial'; failedAt: number; failure: string }
  | { kind: 'threw'; failure: string }
  | { kind: 'timed_out'; failure: string };

/** Why a shard's reading stopped. */
type ShardEnd = 'ended' | 'idle' | 'stopped' | 'lost';

interface PendingBatch {
  records: StreamRecord[];
  attempts: number;
}

/** The checkpoint of a closed shard that has been read to its end (the KCL's name for it). */
export const SHARD_END = 'SHARD_END';
/** Kinesis shard iterators expire 5 minutes after they are issued: renew them well before. */
export const ITERATOR_RENEW_MS = 4 * 60_000;
/** Lambda looks for new shards about once a minute; a local runner can afford to look more often. */
const DEFAULT_SHARD_DISCOVERY_MS = 10_000;
const LOCAL_POLL_MS = 100;

type ResolvedOptions = Required<
  Omit<RunnerOptions, 'startingPosition' | 'shardIds' | 'shardSlice' | 'pollIntervalMs' | 'leases'>
> & {
  leases: LeaseStore | undefined;
  startingPosition: StartPosition;
  pollIntervalMs: number;
  owns: (shardId: string) => boolean;
};

/**
 * Drives the consumer handler from a stream the way an AWS Lambda event source mapping does: one
 * batch in flight per shard; a batch goes when it holds `batchSize` records, reaches Lambda's payload
 * limit, or its first record has waited `batchWindowMs` since it arrived (see `BatchWindow`); the
 * checkpoint moves only after success; `batchItemFailures` resume from the lowest failed sequence
 * number; a thrown error bisects the batch; after `maximumRetryAttempts` or `maximumRecordAgeMs`
 * records go to the failure destination.
 *
 * After a reshard, a child shard is read only once its parents have been read to their end (their
 * checkpoint is `SHARD_END`), so one user's events stay in order across the split or merge. Shards a
 * reshard creates are found by listing the shards again when a shard ends and every
 * `shardDiscoveryMs`. Reads keep to the reader's pacing, back off when throttled, and renew shard
 * iterators before they expire.
 */
export class EventSourceRunner {
  private readonly o: ResolvedOptions;
  private draining = false;
  private stopped = false;
  private readonly stopController = new AbortController();
  private readonly counts: RunnerStats = {
    records: 0,
    batches: 0,
    retries: 0,
    failedToDestination: 0,
    shards: [],
  };
  /** The latest listing, by shard id. */
  private known = new Map<string, ShardDescription>();
  /** Shard ids seen in the first listing: a shard found later is a reshard's child. */
  private initial: Set<string> | undefined;
  /** Shards this runner has read to their end. */
  private readonly ended = new Set<string>();
  /** Shards a replay (`ignoreCheckpoints`) has started reading. */
  private readonly replayed = new Set<string>();
  /** Wakes the discovery loop early (a shard ended, or the runner is draining or stopping). */
  private wake: () => void = () => undefined;

  constructor(options: RunnerOptions) {
    const { shardIds, shardSlice, ...rest } = stripUndefined(options);
    validateRunnerOptions(options);
    this.o = {
      consumerName: DEFAULT_CONSUMER_NAME,
      batchSize: DEFAULT_BATCH_SIZE,
      batchWindowMs: DEFAULT_BATCH_WINDOW_MS,
      startingPosition: { type: 'TRIM_HORIZON' },
      ignoreCheckpoints: false,
      bisectOnError: true,
      maximumRetryAttempts: -1,
      maximumRecordAgeMs: -1,
      pollIntervalMs: options.reader.pacing?.idlePollMs ?? LOCAL_POLL_MS,
      shardDiscoveryMs: DEFAULT_SHARD_DISCOVERY_MS,
      retryBackoff: { baseMs: 200, maxMs: 30_000 },
      leaseDurationMs: DEFAULT_LEASE_DURATION_MS,
      leaseOwner: newLeaseOwner(),
      invocationTimeoutMs: DEFAULT_INVOCATION_TIMEOUT_MS,
      awsRegion: 'local',
      now: Date.now,
      warn: (message: string) => console.warn(message),
      ...rest,
      reader: options.reader,
      checkpoints: options.checkpoints,
      handler: options.handler,
      onFailure: options.onFailure,
      leases: options.leases,
      owns: shardFilter(shardIds, shardSlice),
    };
  }

  get stats(): Readonly<RunnerStats> {
    return this.counts;
  }

  /**
   * Reads every shard until `stop()`, or with `untilIdle` until every shard is caught up and all it
   * read has landed.
   */
  async run(options: { untilIdle?: boolean } = {}): Promise<RunnerStats> {
    if (options.untilIdle) this.draining = true;
    const { leases, consumerName, leaseOwner, leaseDurationMs, now } = this.o;
    const keeper = leases && new LeaseKeeper(leases, consumerName, leaseOwner, leaseDurationMs, this.o.warn);
    const leaseTick = Math.max(1, Math.floor(leaseDurationMs / 3));
    const renewer = keeper && setInterval(() => void keeper.renewAll(), leaseTick);
    const running = new Map<string, Promise<void>>();
    let failure: { error: unknown } | undefined;
    const started = new Set<string>();
    const start = (shard: ShardDescription) => {
      const task = this.runShard(shard, keeper)
        .then(async (end) => {
          // A shard handed over or lost may come back to this runner later.
          if (end === 'lost') started.delete(shard.shardId);
        })
        .catch((error: unknown) => {
          failure ??= { error };
          this.stop();
        })
        .finally(async () => {
          await keeper?.release(shard.shardId);
          running.delete(shard.shardId);
          this.wake();
        });
      running.set(shard.shardId, task);
    };

    try {
      while (!this.stopped) {
        const shards = await this.listShards();
        if (shards === undefined) break;
        const eligible = shards.filter((s) => this.o.owns(s.shardId) && !this.ended.has(s.shardId));
        // A shard is started once; a closed one is started again if it stopped before its end (it
        // closed while the runner drained), since its children wait for that end.
        const wanted = eligible.filter(
          (s) => !running.has(s.shardId) && (!started.has(s.shardId) || (this.draining && isClosed(s))),
        );
        let startable = wanted;
        if (keeper !== undefined) {
          const ids = wanted.map((s) => s.shardId);
          await keeper
            .acquire(
              eligible.map((s) => s.shardId),
              ids,
              now(),
              this.draining,
            )
            .catch((error: unknown) => {
              // Leases are tried again next tick; a lasting fault fails the run.
              if (!isRetriable(error)) throw error;
              this.o.warn(`could not take shard leases (${describeError(error)}); trying again`);
            });
          startable = wanted.filter((s) => keeper.holds(s.shardId));
        }
        for (const shard of startable) {
          started.add(shard.shardId);
          start(shard);
        }
        if (this.draining && running.size === 0 && startable.length === 0) {
          // Done, unless a shard is held by an owner not yet seen alive: it may have died, and its
          // lease runs out soon; then this runner lands what it left.
          const unsure = keeper && (await this.leftToDeadOwner(eligible, started, keeper));
          if (!unsure) break;
          await this.pause(leaseTick);
          continue;
        }
        if (this.draining) {
          // While draining, look again only once every shard has stopped (or, with leases, each tick).
          if (keeper === undefined) while (running.size > 0 && !this.stopped) await this.nextWake();
          else await this.pauseOrWake(leaseTick);
        } else {
          await this.pauseOrWake(keeper === undefined ? this.o.shardDiscoveryMs : leaseTick);
        }
      }
    } finally {
      if (renewer !== undefined) clearInterval(renewer);
      await Promise.allSettled(running.values());
      await keeper?.releaseAll();
    }
    if (failure !== undefined) throw failure.error;
    return this.counts;
  }

  /** True when a shard this runner did not read is held by an owner not (yet) seen renewing its lease. */
  private async leftToDeadOwner(
    eligible: readonly ShardDescription[],
    started: ReadonlySet<string>,
    keeper: LeaseKeeper,
  ): Promise<boolean> {
    for (const shard of eligible) {
      if (started.has(shard.shardId)) continue;
      if (!(await keeper.heldElsewhereAlive(shard.shardId, this.o.now()))) return true;
    }
    return false;
  }

  /** Waits `ms` or until woken; the timer goes with the wait, so a finished runner holds none open. */
  private async pauseOrWake(ms: number): Promise<void> {
    const waited = new AbortController();
    await Promise.race([this.nextWake(), this.pause(ms, waited.signal)]);
    waited.abort();
  }

  /** Lands everything readable now, then lets `run` resolve once every shard is caught up. */
  drain(): void {
    this.draining = true;
    this.wake();
  }

  /** Stops reading at once; a batch being handled finishes. Unlanded records are read again next time. */
  stop(): void {
    this.stopped = true;
    this.stopController.abort(new Error('runner stopped'));
    this.wake();
  }

  /** The stream's shards, retrying while the listing fails for a passing reason; undefined once stopped. */
  private async listShards(): Promise<ShardDescription[] | undefined> {
    try {
      const shards = await retry(() => this.o.reader.listShards(), {
        attempts: Number.POSITIVE_INFINITY,
        backoff: this.o.retryBackoff,
        signal: this.stopController.signal,
        onRetry: (error, _, delay) =>
          this.o.warn(`could not list the shards (${describeError(error)}); retry in ${delay} ms`),
      });
      this.known = new Map(shards.map((s) => [s.shardId, s]));
      this.initial ??= new Set(this.known.keys());
      return shards;
    } catch (error) {
      if (this.stopped) return undefined;
      throw error;
    }
  }

  /**
   * Reads one shard until it ends, goes idle while draining, the runner stops, or (with leases) the
   * shard is lost or asked for by another runner: then it stops between batches, and what it read
   * but did not land is read again by the next owner from the checkpoint.
   */
  private async runShard(shard: ShardDescription, keeper: LeaseKeeper | undefined): Promise<ShardEnd> {
    const { checkpoints, consumerName, batchSize, batchWindowMs, pollIntervalMs, now } = this.o;
    const { shardId } = shard;
    let progress = this.counts.shards.find((p) => p.shardId === shardId);
    if (progress === undefined) {
      progress = { shardId, millisBehindLatest: 0 };
      this.counts.shards.push(progress);
    }
    // A replay ignores checkpoints the first time it reads a shard, and goes on from them after.
    const replay = this.o.ignoreCheckpoints && !this.replayed.has(shardId);
    this.replayed.add(shardId);
    const saved = replay ? undefined : await checkpoints.load(consumerName, shardId);
    if (saved === SHARD_END) {
      this.markEnded(progress);
      return 'ended';
    }
    if (saved !== undefined) progress.checkpoint = saved;
    if (!(await this.waitForParents(shard, progress))) return 'stopped';

    const cursor = new ShardCursor(this.o, shardId, this.startOf(shard, saved), () => this.stopped);
    const closed = () => isClosed(this.known.get(shardId) ?? shard);
    const source: RecordSource = { shardId, streamArn: this.o.reader.streamArn, awsRegion: this.o.awsRegion };
    const buffer = new BatchBuffer(batchSize, MAX_INVOKE_PAYLOAD_BYTES, recordPayloadBytes);
    const window = new BatchWindow(batchWindowMs, now);

    while (!this.stopped) {
      if (keeper !== undefined && (!keeper.holds(shardId) || keeper.handOverDue(shardId))) return 'lost';
      let caughtUp = cursor.ended;
      const drainingBeforeRead = this.draining;
      if (!cursor.ended && !buffer.full) {
        const result = await cursor.read(batchSize - buffer.length, this.stopController.signal);
        if (result !== undefined) {
          progress.millisBehindLatest = result.millisBehindLatest;
          caughtUp = result.records.length === 0 || result.millisBehindLatest === 0;
          if (buffer.length === 0) window.open(result.records[0]);
          buffer.push(result.records);
        }
      }
      // A closed shard is finite: while draining it is read to its end, which its children wait for.
      const idle = caughtUp && drainingBeforeRead && !closed();
      if (buffer.length > 0 && (buffer.full || window.done(caughtUp) || idle || cursor.ended)) {
        const batch = buffer.take();
        window.open(buffer.first);
        if (!(await this.process(progress, batch, source, keeper))) return this.stopped ? 'stopped' : 'lost';
        continue;
      }
      if (buffer.length === 0 && cursor.ended) {
        if (!(await this.save(progress, SHARD_END, keeper))) return 'lost';
        this.markEnded(progress);
        return 'ended';
      }
      if (buffer.length === 0 && idle) return 'idle';
      if (caughtUp) {
        const wait = buffer.length > 0 ? Math.min(pollIntervalMs, window.left()) : pollIntervalMs;
        await this.pause(Math.max(1, wait));
      }
    }
    return 'stopped';
  }

  /** Where a shard starts: after its checkpoint, else the starting position (a reshard's child: its start). */
  private startOf(shard: ShardDescription, saved: string | undefined): StartPosition {
    if (saved !== undefined) return { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: saved };
    const position = this.o.startingPosition;
    // Every record of a child created after the runner started is new: LATEST would skip them.
    if (position.type === 'LATEST' && !this.initial?.has(shard.shardId)) return { type: 'TRIM_HORIZON' };
    return position;
  }

  /** Waits until the shard's parents (still listed) have been read to their end; false once stopped. */
  private async waitForParents(shard: ShardDescription, progress: ShardProgress): Promise<boolean> {
    const parents = [shard.parentShardId, shard.adjacentParentShardId].filter(
      (id): id is string => id !== undefined,
    );
    for (;;) {
      let pending = false;
      for (const parent of parents) {
        if (!this.known.has(parent) || this.ended.has(parent)) continue;
        // A replay re-reads parents this runner owns; another runner's parent is done at SHARD_END.
        if (this.o.ignoreCheckpoints && this.o.owns(parent)) pending = true;
        else if ((await this.o.checkpoints.load(this.o.consumerName, parent)) !== SHARD_END) pending = true;
      }
      progress.waitingForParents = pending || undefined;
      if (!pending) return true;
      if (!(await this.pause(this.o.pollIntervalMs))) return false;
    }
  }

  private nextWake(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  private markEnded(progress: ShardProgress): void {
    this.ended.add(progress.shardId);
    progress.ended = true;
    progress.checkpoint = SHARD_END;
    progress.millisBehindLatest = 0;
  }

  /**
   * Lands one batch by Lambda's rules; false when the shard must stop here (the runner stopped, or
   * its lease was lost: then no checkpoint was written past what landed under the lease).
   */
  private async process(
    progress: ShardProgress,
    batch: StreamRecord[],
    source: RecordSource,
    keeper: LeaseKeeper | undefined,
  ): Promise<boolean> {
    const pending: PendingBatch[] = [{ records: batch, attempts: 0 }];
    const checkpoint = (last: StreamRecord) => this.save(progress, last.sequenceNumber, keeper);
    while (pending.length > 0) {
      const item = pending[0] as PendingBatch;
      if (this.o.maximumRecordAgeMs >= 0) {
        const oldest = this.o.now() - this.o.maximumRecordAgeMs;
        const expired: StreamRecord[] = [];
        const fresh: StreamRecord[] = [];
        for (const r of item.records)
          (r.approximateArrivalTimestamp.getTime() < oldest ? expired : fresh).push(r);
        if (expired.length > 0) {
          await this.toDestination(
            expired,
            source,
            'record_expired',
            `older than ${this.o.maximumRecordAgeMs} ms`,
          );
          item.records = fresh;
          if (item.records.length === 0) {
            if (!(await checkpoint(expired.at(-1) as StreamRecord))) return false;
            pending.shift();
            continue;
          }
        }
      }

      if (keeper !== undefined && !keeper.holds(progress.shardId)) return false;
      const outcome = await this.invoke(item.records, source);
      if (outcome.kind === 'ok') {
        this.counts.records += item.records.length;
        this.counts.batches++;
        progress.retrying = undefined;
        if (!(await checkpoint(item.records.at(-1) as StreamRecord))) return false;
        pending.shift();
        continue;
      }
      if (outcome.kind === 'partial' && outcome.failedAt > 0) {
        this.counts.records += outcome.failedAt;
        if (!(await checkpoint(item.records[outcome.failedAt - 1] as StreamRecord))) return false;
        item.records = item.records.slice(outcome.failedAt);
      }
      item.attempts++;
      this.counts.retries++;
      const max = this.o.maximumRetryAttempts;
      if (max >= 0 && item.attempts > max) {
        await this.toDestination(
          item.records,
          source,
          'handler_failed',
          `failed ${item.attempts} times: ${outcome.failure}`,
        );
        if (!(await checkpoint(item.records.at(-1) as StreamRecord))) return false;
        pending.shift();
        continue;
      }
      if (outcome.kind === 'threw' && this.o.bisectOnError && item.records.length > 1) {
        const half = Math.ceil(item.records.length / 2);
        pending.splice(
          0,
          1,
          { records: item.records.slice(0, half), attempts: item.attempts },
          { records: item.records.slice(half), attempts: item.attempts },
        );
      }
      const delay = backoffDelay(item.attempts, this.o.retryBackoff);
      progress.retrying = outcome.failure;
      this.o.warn(
        `${progress.shardId}: batch failed (${outcome.failure}); retry ${item.attempts} in ${delay} ms`,
      );
      if (!(await this.pause(delay))) return false;
    }
    return true;
  }

  /**
   * One invocation of the handler, with Lambda's context and timeout. A timed-out invocation is
   * abandoned (its writes are cut off by the context's deadline) and retried whole, not bisected, so
   * a write of it that still lands rewrites an object of the retry with the same records.
   */
  private async invoke(records: StreamRecord[], source: RecordSource): Promise<InvocationOutcome> {
    const { invocationTimeoutMs, now } = this.o;
    const deadline = now() + invocationTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<InvocationOutcome>((resolve) => {
      timer = setTimeout(
        () =>
          resolve({ kind: 'timed_out', failure: `the invocation timed out after ${invocationTimeoutMs} ms` }),
        invocationTimeoutMs,
      );
    });
    const context = { getRemainingTimeInMillis: () => Math.max(0, deadline - now()) };
    // A handler that throws before its first await fails the same way as one that rejects.
    const invoked = (async () => this.o.handler(toLambdaEvent(records, source), context))()
      .then((response): InvocationOutcome => {
        const failedAt = lowestFailure(records, response?.batchItemFailures ?? []);
        return failedAt === undefined
          ? { kind: 'ok' }
          : { kind: 'partial', failedAt, failure: 'the handler reported failed records' };
      })
      .catch((error: unknown): InvocationOutcome => ({ kind: 'threw', failure: describeError(error) }));
    try {
      return await Promise.race([invoked, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends records to the failure destination, retrying until it takes them or the runner stops. */
  private async toDestination(
    records: readonly StreamRecord[],
    source: RecordSource,
    reason: Parameters<FailureDestination>[1],
    message: string,
  ): Promise<void> {
    const raw = records.map((r) => rawOfStreamRecord(r, source.shardId));
    await retry(() => this.o.onFailure(raw, reason, message, source.streamArn), {
      attempts: Number.POSITIVE_INFINITY,
      backoff: this.o.retryBackoff,
      signal: this.stopController.signal,
      retriable: () => true,
      onRetry: (error) =>
        this.o.warn(
          `could not write ${records.length} failed records to the failure destination: ${describeError(error)}`,
        ),
    });
    this.counts.failedToDestination += records.length;
  }

  /** Saves a checkpoint, through the shard's lease when there are leases; false once the lease was lost. */
  private async save(
    progress: ShardProgress,
    sequenceNumber: string,
    keeper: LeaseKeeper | undefined,
  ): Promise<boolean> {
    if (keeper !== undefined) {
      if (!(await keeper.checkpoint(progress.shardId, sequenceNumber))) return false;
    } else await this.o.checkpoints.save(this.o.consumerName, progress.shardId, sequenceNumber);
    progress.checkpoint = sequenceNumber;
    return true;
  }

  /** Waits `ms` (or until `cut` aborts); false when the runner was stopped meanwhile. */
  private async pause(ms: number, cut?: AbortSignal): Promise<boolean> {
    const signal =
      cut === undefined ? this.stopController.signal : AbortSignal.any([this.stopController.signal, cut]);
    await sleep(ms, signal).catch(() => undefined);
    return !this.stopped;
  }
}

/**
 * A shard's batching window: it closes once the buffer's first record has waited the window since it
 * arrived on the stream, so time spent unread (while the previous batch was landing) counts, and an
 * event waits about the window in all, not the window on top of the landing before it. That holds
 * while the shard is caught up; a shard behind its tip counts from the first read of the batch instead,
 * so that it reads full batches while it catches up rather than one invocation per read. A record
 * stamped later than this clock (another machine's) counts from when it was read.
 */
class BatchWindow {
  private readAt = 0;
  private arrivedAt = 0;

  constructor(
    private readonly ms: number,
    private readonly now: () => number,
  ) {}

  /** Starts the window for a buffer whose first record is `first` (none: it starts when one is read). */
  open(first: StreamRecord | undefined): void {
    const t = this.now();
    this.readAt = t;
    this.arrivedAt = first === undefined ? t : Math.min(t, first.approximateArrivalTimestamp.getTime());
  }

  done(caughtUp: boolean): boolean {
    const t = this.now();
    return t - this.readAt >= this.ms || (caughtUp && t - this.arrivedAt >= this.ms);
  }

  /** Milliseconds until a caught-up shard's window closes. */
  left(): number {
    return this.ms - (this.now() - this.arrivedAt);
  }
}

/**
 * Reads one shard: keeps the shard iterator, renews it before Kinesis expires it (or when it has
 * expired) from the last record read, keeps to the reader's pacing, and backs off on passing
 * failures such as throttling instead of failing the run.
 */
class ShardCursor {
  private iterator: string | undefined;
  private issuedAt = 0;
  private lastReadAt = Number.NEGATIVE_INFINITY;
  private lastSequenceNumber: string | undefined;
  private failures = 0;
  private atEnd = false;

  constructor(
    private readonly o: ResolvedOptions,
    private readonly shardId: string,
    private readonly start: StartPosition,
    private readonly stopped: () => boolean,
  ) {}

  /** True once a closed shard has been read to its end. */
  get ended(): boolean {
    return this.atEnd;
  }

  /** Up to `limit` records; undefined when the read failed for a passing reason (after its backoff). */
  async read(limit: number, signal: AbortSignal): Promise<GetRecordsResult | undefined> {
    const { reader, now } = this.o;
    try {
      if (this.iterator === undefined || now() - this.issuedAt >= ITERATOR_RENEW_MS) {
        const position: StartPosition =
          this.lastSequenceNumber === undefined
            ? this.start
            : { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: this.lastSequenceNumber };
        this.iterator = await reader.getShardIterator(this.shardId, position);
        this.issuedAt = now();
      }
      const wait = this.lastReadAt + (reader.pacing?.minReadIntervalMs ?? 0) - now();
      if (wait > 0) await sleep(wait, signal).catch(() => undefined);
      if (this.stopped()) return undefined;
      this.lastReadAt = now();
      const result = await reader.getRecords(this.iterator, limit);
      this.failures = 0;
      this.iterator = result.nextShardIterator;
      this.issuedAt = now();
      if (result.nextShardIterator === undefined) this.atEnd = true;
      const last = result.records.at(-1);
      if (last !== undefined) this.lastSequenceNumber = last.sequenceNumber;
      return result;
    } catch (error) {
      if (!isRetriable(error)) throw error;
      if (error instanceof PipelineError && error.code === 'iterator_expired') this.iterator = undefined;
      this.failures++;
      const delay = backoffDelay(this.failures, this.o.retryBackoff);
      this.o.warn(`${this.shardId}: read failed (${describeError(error)}); retry in ${delay} ms`);
      await sleep(delay, signal).catch(() => undefined);
      return undefined;
    }
  }
}

/** The index of the lowest failed record, or undefined when none failed. */
function lowestFailure(
  records: readonly StreamRecord[],
  failures: readonly { itemIdentifier: string }[],
): number | undefined {
  if (failures.length === 0) return undefined;
  let lowest: string | undefined;
  for (const { itemIdentifier } of failures) {
    // Lambda treats an empty or unknown identifier as a failure of the whole batch.
    if (!/^[0-9]+$/.test(itemIdentifier ?? '')) return 0;
    if (lowest === undefined || compareSequenceNumbers(itemIdentifier, lowest) < 0) lowest = itemIdentifier;
  }
  const index = records.findIndex((r) => r.sequenceNumber === lowest);
  return index === -1 ? 0 : index;
}

/** Which shards a runner reads: listed ids, a slice by shard number, or all. */
function shardFilter(
  shardIds: readonly string[] | undefined,
  slice: { index: number; count: number } | undefined,
): (shardId: string) => boolean {
  if (shardIds !== undefined) return (id) => shardIds.includes(id);
  if (slice !== undefined) return (id) => shardNumber(id) % slice.count === slice.index;
  return () => true;
}

/** `shardId-000000000007` → 7; shards a reshard creates get the next numbers, so slices stay even. */
function shardNumber(shardId: string): number {
  const digits = /([0-9]{1,15})$/.exec(shardId)?.[1];
  if (digits !== undefined) return Number(digits);
  let hash = 0;
  for (const c of shardId) hash = (hash * 31 + (c.codePointAt(0) ?? 0)) >>> 0;
  return hash;
}

function isClosed(shard: ShardDescription): boolean {
  return shard.sequenceNumberRange.endingSequenceNumber !== undefined;
}

function validateRunnerOptions(o: RunnerOptions): void {
  const checks: [string, number | undefined, number, number][] = [
    ['batch size', o.batchSize, 1, MAX_BATCH_SIZE],
    ['batch window (ms)', o.batchWindowMs, 0, MAX_BATCH_WINDOW_MS],
    ['maximum retry attempts', o.maximumRetryAttempts, -1, 10_000],
    ['maximum record age (ms)', o.maximumRecordAgeMs, -1, 7 * 24 * 3600 * 1000],
    ['invocation timeout (ms)', o.invocationTimeoutMs, 1, MAX_INVOCATION_TIMEOUT_MS],
    ['lease duration (ms)', o.leaseDurationMs, 100, 3_600_000],
  ];
  if (o.shardSlice !== undefined) {
    const { index, count } = o.shardSlice;
    if (!Number.isInteger(count) || count < 1 || !Number.isInteger(index) || index < 0 || index >= count)
      throw new ConfigError(`shard slice must be 0 <= index < count (given ${index} of ${count})`);
  }
  for (const [name, value, min, max] of checks) if (value !== undefined) checkInteger(name, value, min, max);
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
