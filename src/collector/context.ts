import type { FastifyRequest } from 'fastify';
import type { TrackingPlan } from '../plan/index.js';
import type { BatchingProducer } from '../producer/index.js';
import type { Access } from './access.js';
import { anonymizeIp } from './client-ip.js';
import type { ConsumerLag } from './consumer-lag.js';
import { CollectorError } from './errors.js';
import type { BodyItem, RequestFacts } from './ingest.js';
import { type BatchOutcome, ingestBatch } from './ingest-batch.js';
import type { LiveSnapshot, LiveStats } from './live-stats.js';
import type { CollectorMetrics } from './metrics.js';

/** The most events one request may carry. */
export const MAX_EVENTS_PER_REQUEST = 10_000;

export type DashboardSnapshot = LiveSnapshot & { lag: ConsumerLag; pendingRecords: number };

/**
 * What the collector's route plugins share: the way into the stream, who may send, and what the
 * dashboard and `/metrics` show. A protocol plugin decodes its body into `BodyItem`s, takes the
 * request's facts, and answers with the outcome of `ingest`.
 */
export interface CollectorContext {
  /**
   * Refuses a batch the collector cannot take now (413 over `MAX_EVENTS_PER_REQUEST`, 429 while the
   * stream is behind) by throwing a `CollectorError`; otherwise ingests it and counts the outcome in the
   * metrics and the dashboard.
   */
  ingest(items: readonly BodyItem[], facts: RequestFacts): Promise<BatchOutcome>;
  /** What the collector knows about a request beyond its body: when it was read, the user agent, the IP. */
  factsOf(request: FastifyRequest): RequestFacts;
  access: Access;
  metrics: CollectorMetrics;
  /** Records buffered or in flight to the stream. */
  pendingRecords(): number;
  snapshot(): DashboardSnapshot;
  /** Seconds sent in `Retry-After`. */
  retryAfter: string;
  limits: ProtocolLimits;
}

/** The size limits of the protocols that document their own. */
export interface ProtocolLimits {
  /** Segment's: a message (a call, or one message of a batch) and a batch, decoded bytes. */
  segment: { maxMessageBytes: number; maxBatchBytes: number };
}

export interface ContextParts {
  producer: BatchingProducer;
  access: Access;
  metrics: CollectorMetrics;
  live: LiveStats;
  lag: () => ConsumerLag;
  now: () => number;
  maxPending: number;
  recordClientIp: boolean;
  /** With `recordClientIp`: keep only the network of the address (IPv4 /24, IPv6 /48). */
  anonymizeIp: boolean;
  retryAfter: string;
  limits: ProtocolLimits;
  /** Checked on every event of every route, before it reaches the stream. */
  plan?: TrackingPlan | undefined;
}

/** Records buffered or in flight to the stream. */
export function pendingRecordsOf(producer: BatchingProducer): number {
  const { inFlight, buffered } = producer.stats;
  return inFlight + buffered;
}

export function createContext(parts: ContextParts): CollectorContext {
  const { producer, metrics, live } = parts;
  const pendingRecords = () => pendingRecordsOf(producer);
  return {
    access: parts.access,
    metrics,
    retryAfter: parts.retryAfter,
    limits: parts.limits,
    pendingRecords,
    snapshot: () => ({ ...live.snapshot(), lag: parts.lag(), pendingRecords: pendingRecords() }),
    factsOf(request) {
      const facts: RequestFacts = { receivedAt: parts.now() };
      const userAgent = request.headers['user-agent'];
      if (userAgent !== undefined) facts.userAgent = userAgent;
      if (parts.recordClientIp) {
        const ip = parts.anonymizeIp ? anonymizeIp(request.ip) : request.ip;
        if (ip !== undefined) facts.ip = ip;
      }
      return facts;
    },
    async ingest(items, facts) {
      if (items.length > MAX_EVENTS_PER_REQUEST) {
        throw new CollectorError(
          413,
          'too_many_events',
          `the body holds ${items.length} events; at most ${MAX_EVENTS_PER_REQUEST} go in one request: split the batch`,
        );
      }
      const pending = pendingRecords();
      if (pending > 0 && pending + items.length > parts.maxPending) {
        throw new CollectorError(
          429,
          'backpressure',
          `the stream is behind (${pending} records waiting for it): send again after ${parts.retryAfter} s`,
          { retriable: true },
        );
      }
      const outcome = await ingestBatch(items, facts, (record) => producer.put(record), parts.plan);
      if (outcome.putSeconds !== undefined) metrics.putDuration.observe(outcome.putSeconds);
      for (const { event } of outcome.accepted) live.accepted(event.event, event.user_id, facts.receivedAt);
      metrics.accepted.inc(outcome.accepted.length);
      for (const rejection of outcome.rejected) {
        metrics.rejected.inc({ reason: rejection.code });
        live.rejected(rejection.code);
      }
      return outcome;
    },
  };
}
