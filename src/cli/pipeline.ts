import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import {
  type BatchStats,
  createHandler,
  EventSourceRunner,
  errorsDestination,
  type RunnerOptions,
} from '../consumer/index.js';
import type { SinkLocation, StreamLocation } from '../core/locations.js';
import type { ObjectStore } from '../core/ports.js';
import { ForgottenList } from '../forget/forgotten-list.js';
import type { TrackingPlan } from '../plan/index.js';
import type { BatchingProducer } from '../producer/index.js';
import { Simulator } from '../producer/index.js';
import type { LandingFormat } from '../sink/formats/index.js';
import { openStore } from '../sink/open-store.js';
import { openStream, type StreamConnection } from '../stream/open-stream.js';
import { sleep } from '../util/backoff.js';

/** What the consumer has landed so far. */
export interface LandedCounts {
  records: number;
  events: number;
  errors: number;
  objects: number;
  bytes: number;
}

export async function connectStream(location: StreamLocation, shards?: number): Promise<StreamConnection> {
  const opened = await openStream(location, shards === undefined ? {} : { shards });
  await opened.stream.connect();
  return opened;
}

export async function connectStore(location: SinkLocation): Promise<ObjectStore> {
  const store = await openStore(location);
  await store.connect();
  return store;
}

/**
 * The local event-source runner driving the consumer handler, with running counts of what landed.
 * It reads the shards it holds leases on, so runners of one consumer name split the stream.
 */
export function startConsumer(
  { stream, checkpoints, leases }: Pick<StreamConnection, 'stream' | 'checkpoints' | 'leases'>,
  store: ObjectStore,
  {
    format,
    plan,
    ...options
  }: Partial<Omit<RunnerOptions, 'reader' | 'checkpoints' | 'leases' | 'handler' | 'onFailure'>> & {
    format?: LandingFormat;
    plan?: TrackingPlan;
  } = {},
): { runner: EventSourceRunner; landed: LandedCounts } {
  const landed: LandedCounts = { records: 0, events: 0, errors: 0, objects: 0, bytes: 0 };
  const onBatch = (stats: BatchStats) => {
    landed.records += stats.records;
    landed.events += stats.events;
    landed.errors += stats.errors;
    landed.objects += stats.objects;
    landed.bytes += stats.bytes;
  };
  const warn = options.warn ?? ((message: string) => process.stderr.write(`\nactivity: ${message}\n`));
  const handler = createHandler({
    store,
    onBatch,
    warn,
    // The sink's list of forgotten users: their records, replayed or redriven, land nowhere.
    forgotten: new ForgottenList(store),
    ...(format === undefined ? {} : { format }),
    ...(plan === undefined ? {} : { plan }),
  });
  const runner = new EventSourceRunner({
    ...options,
    reader: stream,
    checkpoints,
    leases,
    handler,
    onFailure: errorsDestination(store),
    warn,
  });
  return { runner, landed };
}

export interface SimulateOptions {
  events?: number;
  rate?: number;
  users: number;
  seed?: string;
  /** Spreads event times over this many milliseconds back from the start (see `SimulatorOptions.span`). */
  span?: number;
  /** The share of events given a deliberate tracking-plan violation. */
  violations?: number;
  signal: AbortSignal;
  /** Called for each record the producer could not put (never silently dropped). */
  onRejected: (error: unknown) => void;
}

/**
 * Sends simulated activity through the producer: `events` of them (or until the signal aborts) at
 * `rate` events/s (or as fast as the producer takes them). Returns how many were handed over.
 */
export async function simulate(producer: BatchingProducer, options: SimulateOptions): Promise<number> {
  const simulator = new Simulator({
    users: options.users,
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    ...(options.span === undefined ? {} : { span: options.span }),
    ...(options.violations === undefined ? {} : { violations: options.violations }),
  });
  const limit = options.events ?? Number.POSITIVE_INFINITY;
  const started = performance.now();
  let sent = 0;
  while (sent < limit && !options.signal.aborted) {
    if (options.rate !== undefined) {
      const due = started + (sent * 1000) / options.rate;
      const ahead = due - performance.now();
      if (ahead > 2) await sleep(ahead, options.signal).catch(() => undefined);
      if (options.signal.aborted) break;
    }
    producer.put(simulator.nextEncoded()).catch(options.onRejected);
    sent++;
    // Let timers and I/O (the consumer, the progress line) run between bursts.
    if (sent % 1000 === 0) await yieldToEventLoop();
    await producer.ready();
  }
  return sent;
}
