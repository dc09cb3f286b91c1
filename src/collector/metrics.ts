import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { ConsumerLag } from './consumer-lag.js';

/** Latency buckets in seconds: fine around the milliseconds a local put takes, coarse up to a throttled Kinesis. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The collector's Prometheus metrics, in a registry of its own (so several collectors in one process
 * never share counts). Labels have bounded values only: reasons, routes and status codes, never
 * event names or user ids that clients choose.
 */
export class CollectorMetrics {
  readonly registry = new Registry();
  readonly accepted = new Counter({
    name: 'activity_collector_events_accepted_total',
    help: 'Events the stream accepted.',
    registers: [this.registry],
  });
  readonly rejected = new Counter({
    name: 'activity_collector_events_rejected_total',
    help: 'Events refused, by reason (schema reasons, hostile shapes, stream refusals).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly refused = new Counter({
    name: 'activity_collector_requests_refused_total',
    help: 'Requests refused whole (bad body, content type, size, write key, origin, backpressure), by reason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly requestDuration = new Histogram({
    name: 'activity_collector_request_duration_seconds',
    help: 'HTTP request latency, from the request arriving to the response sent.',
    labelNames: ['route', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly putDuration = new Histogram({
    name: 'activity_collector_stream_put_seconds',
    help: "Time from handing a request's events to the producer until the stream accepted them all.",
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly pending: Gauge;
  readonly consumerLag = new Gauge({
    name: 'activity_consumer_lag_records',
    help: 'Records on the embedded stream that the named consumer has not checkpointed yet.',
    labelNames: ['consumer'] as const,
    registers: [this.registry],
  });

  constructor(pendingRecords: () => number) {
    this.pending = new Gauge({
      name: 'activity_collector_producer_pending_records',
      help: 'Records buffered or in flight to the stream.',
      registers: [this.registry],
      collect() {
        this.set(pendingRecords());
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  setLag(lag: ConsumerLag): void {
    if (lag.state === 'running' || lag.state === 'stalled')
      this.consumerLag.set({ consumer: lag.consumer }, lag.records);
    else this.consumerLag.remove({ consumer: lag.consumer });
  }
}
