import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { RunnerStats } from '../consumer/index.js';
import { PipelineError, type Stage } from '../core/errors.js';
import type { SinkLocation, StreamLocation } from '../core/locations.js';
import type { LandingFormat } from '../sink/formats/index.js';
import type { LandedCounts } from './pipeline.js';

/** What the consumer thread is started with. */
export interface ConsumerThreadData {
  stream: StreamLocation;
  sink: SinkLocation;
  batchSize: number;
  batchWindowMs: number;
  consumerName: string;
  invocationTimeoutMs?: number;
  leaseDurationMs?: number;
  /** How events land: NDJSON gzip or Parquet. */
  format?: LandingFormat;
  /** The tracking plan file the handler checks events against (read and compiled in the thread). */
  trackingPlan?: string;
  /** The slice of the shards this thread reads (by shard number); the threads of one run split the stream. */
  shardSlice: { index: number; count: number };
}

/** Messages between the two threads. */
export type ToConsumer = { type: 'drain' } | { type: 'stop' };
export type FromConsumer =
  | { type: 'ready' }
  | { type: 'progress'; landed: LandedCounts; stats: RunnerStats }
  | { type: 'warn'; message: string }
  | { type: 'done'; landed: LandedCounts; stats: RunnerStats }
  | { type: 'failed'; message: string; code: string; stage?: Stage; retriable?: boolean };

/**
 * The consumer (event-source runner and handler) on its own thread, so that producing and consuming
 * run side by side. It opens its own connection to the embedded log; the log is built for several
 * connections at once.
 */
class ConsumerThread {
  landed: LandedCounts = { records: 0, events: 0, errors: 0, objects: 0, bytes: 0 };
  stats: RunnerStats = { records: 0, batches: 0, retries: 0, failedToDestination: 0, shards: [] };
  readonly done: Promise<void>;
  /** Resolves once the thread has connected to the stream and the store and is about to read. */
  readonly ready: Promise<void>;
  private readonly worker: Worker;

  constructor(data: ConsumerThreadData, shardsPerThread: number, warn: (message: string) => void) {
    // Under the TypeScript loader (tests) this file is .ts, in the build .js: start the sibling alike.
    const self = fileURLToPath(import.meta.url);
    const entry = path.join(path.dirname(self), `consumer-worker${path.extname(self)}`);
    this.worker = new Worker(entry, { workerData: data, resourceLimits: heapLimits(data, shardsPerThread) });
    let markReady: () => void = () => undefined;
    this.ready = new Promise((resolve) => {
      markReady = resolve;
    });
    this.done = new Promise((resolve, reject) => {
      let finished = false;
      this.worker.on('message', (message: FromConsumer) => {
        if (message.type === 'ready') markReady();
        else if (message.type === 'warn') warn(message.message);
        else if (message.type === 'failed') {
          finished = true;
          // The error as the thread saw it: its code, stage and whether it may pass.
          reject(
            new PipelineError(message.code, message.message, {
              stage: message.stage ?? 'consumer',
              retriable: message.retriable ?? false,
            }),
          );
        } else {
          this.landed = message.landed;
          this.stats = message.stats;
          if (message.type === 'done') {
            finished = true;
            resolve();
          }
        }
      });
      this.worker.on('error', reject);
      this.worker.on('exit', (code) => {
        if (!finished)
          reject(
            new PipelineError('consumer_exited', `the consumer thread exited with code ${code}`, {
              stage: 'consumer',
            }),
          );
      });
    });
  }

  /** Lands everything readable now, then finishes once every shard is caught up. */
  drain(): void {
    this.worker.postMessage({ type: 'drain' } satisfies ToConsumer);
  }

  /** Stops at once; a batch being handled finishes. */
  stop(): void {
    this.worker.postMessage({ type: 'stop' } satisfies ToConsumer);
  }
}

/** What one record of a batch may hold in memory, read and parsed, for sizing a thread's heap. */
const HEAP_PER_RECORD_KIB = 8;

/**
 * Each consumer thread's young generation. With the local batches of 4,000, 12 MB keeps `run`'s peak
 * at 278-287 MB (16 MB: 301-309 MB; 16 MB and batches of 5,000: 317-329 MB) for about 5 % more CPU in
 * scavenges; 32 MB would save 16-20 % of the CPU at 349-352 MB (BENCHMARKS.md, "Figures" and "End to
 * end at full speed").
 */
const YOUNG_GENERATION_MB = 12;

/**
 * A heap bound for a consumer thread: room for two batches per shard it reads (the one being landed
 * and the next being read) over a fixed base. Without a bound V8 lets each thread's heap grow to
 * hundreds of MB of garbage before it collects; with it, the garbage is collected early. Batches are
 * also capped at Lambda's 6 MB payload, so large records stay within the bound.
 */
function heapLimits(data: ConsumerThreadData, shardsPerThread: number) {
  const batchesMb = (shardsPerThread * 2 * data.batchSize * HEAP_PER_RECORD_KIB) / 1024;
  return {
    maxOldGenerationSizeMb: Math.max(128, Math.ceil(48 + batchesMb)),
    maxYoungGenerationSizeMb: YOUNG_GENERATION_MB,
  };
}

/**
 * The consumer spread over threads, each reading its own shards, as Lambda runs one invocation per
 * shard at once. Counts are summed over the threads.
 */
export class ConsumerThreads {
  readonly done: Promise<void>;
  /**
   * Resolves once every thread is ready to read, or rejects as `done` does when one fails first:
   * producing before then would only build a backlog while the threads load and connect.
   */
  readonly ready: Promise<void>;
  private readonly threads: ConsumerThread[];

  constructor(
    data: Omit<ConsumerThreadData, 'shardSlice'>,
    openShards: number,
    threads: number,
    warn: (message: string) => void,
  ) {
    const count = Math.max(1, Math.min(threads, openShards));
    this.threads = Array.from(
      { length: count },
      (_, index) =>
        new ConsumerThread({ ...data, shardSlice: { index, count } }, Math.ceil(openShards / count), warn),
    );
    this.done = Promise.all(this.threads.map((t) => t.done)).then(() => undefined);
    this.ready = Promise.race([Promise.all(this.threads.map((t) => t.ready)), this.done]).then(
      () => undefined,
    );
  }

  get landed(): LandedCounts {
    const sum: LandedCounts = { records: 0, events: 0, errors: 0, objects: 0, bytes: 0 };
    for (const { landed } of this.threads) {
      sum.records += landed.records;
      sum.events += landed.events;
      sum.errors += landed.errors;
      sum.objects += landed.objects;
      sum.bytes += landed.bytes;
    }
    return sum;
  }

  get stats(): RunnerStats {
    const all = this.threads.map((t) => t.stats);
    return {
      records: all.reduce((n, s) => n + s.records, 0),
      batches: all.reduce((n, s) => n + s.batches, 0),
      retries: all.reduce((n, s) => n + s.retries, 0),
      failedToDestination: all.reduce((n, s) => n + s.failedToDestination, 0),
      shards: all.flatMap((s) => s.shards),
    };
  }

  drain(): void {
    for (const thread of this.threads) thread.drain();
  }

  stop(): void {
    for (const thread of this.threads) thread.stop();
  }
}
