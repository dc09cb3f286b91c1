import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import { DEFAULT_CONSUMER_NAME } from '../consumer/index.js';
import { describeError } from '../core/errors.js';
import { checkInteger, DEFAULT_MAX_BODY_BYTES, MAX_MAX_BODY_BYTES } from '../core/limits.js';
import type { StreamWriter } from '../core/ports.js';
import type { TrackingPlan } from '../plan/index.js';
import { BatchingProducer, type BatchingProducerOptions } from '../producer/index.js';
import { Access } from './access.js';
import type { ConsumerLag } from './consumer-lag.js';
import { createContext, type DashboardSnapshot, pendingRecordsOf } from './context.js';
import { CollectorError } from './errors.js';
import { LiveStats } from './live-stats.js';
import { CollectorMetrics } from './metrics.js';
import { SEGMENT_MAX_BATCH_BYTES, SEGMENT_MAX_MESSAGE_BYTES } from './protocols/segment.js';
import { assetRoutes, dashboardRoutes, ingestRoutes, operationsRoutes } from './routes/index.js';

/** The default and largest request body, in bytes. */
export { DEFAULT_MAX_BODY_BYTES, MAX_MAX_BODY_BYTES };
/** Records buffered or in flight to the stream before requests are answered 429. */
export const DEFAULT_MAX_PENDING_RECORDS = 50_000;
/** A record not accepted by the stream this long after the request is answered 429 (the stream is throttling). */
export const DEFAULT_PUT_TIMEOUT_MS = 10_000;
const DEFAULT_RETRY_AFTER_SECONDS = 1;
const LAG_INTERVAL_MS = 2_000;

/** The lag shown when no way to read it was given. */
const LAG_NOT_MEASURED: ConsumerLag = {
  state: 'unknown',
  consumer: DEFAULT_CONSUMER_NAME,
  message: 'not measured for this stream: on Kinesis, see the consumer’s iterator age in CloudWatch',
};

export interface CollectorOptions {
  /** The stream events are put on, already connected. `close()` closes it. */
  stream: StreamWriter;
  /** When set, `POST /v1/events` needs it (`Authorization: Bearer KEY` or `?write_key=KEY`). */
  writeKey?: string;
  /** Origins browser pages may send from; `['*']` (the default) allows any. */
  corsOrigins?: string[];
  /** The largest request body, in bytes (default 1 MiB). */
  maxBodyBytes?: number;
  /** Record the client's IP address as `context.ip` (default false: it is personal data). */
  recordClientIp?: boolean;
  /** With `recordClientIp`: record only the network (IPv4 /24, IPv6 /48), never the whole address. */
  anonymizeIp?: boolean;
  /** Take the client address from `X-Forwarded-For` (behind a proxy you trust; default false). */
  trustProxy?: boolean;
  /**
   * Reads how far the consumer is behind the stream, for the dashboard and `/metrics`; called every 2 s,
   * never twice at once. On the embedded log, a `ConsumerLagProbe` reads its checkpoints. Without it the
   * lag shows as not measured.
   */
  consumerLag?: () => Promise<ConsumerLag>;
  /** Records pending to the stream before requests are answered 429 (default 50,000). */
  maxPendingRecords?: number;
  /** How long a record may wait for the stream before the request is answered 429 (default 10 s). */
  putTimeoutMs?: number;
  /** Seconds sent in `Retry-After` with 429 and 503 (default 1). */
  retryAfterSeconds?: number;
  /** The largest Segment message, decoded (default 32 KB, Segment's own limit). */
  segmentMaxMessageBytes?: number;
  /** The largest Segment batch, decoded (default 500 KB, Segment's own limit). */
  segmentMaxBatchBytes?: number;
  /** A tracking plan every route checks each event with: violating events are rejected (or flagged). */
  trackingPlan?: TrackingPlan;
  /** The producer's other settings (linger, puts in flight, backoff). */
  producer?: Omit<BatchingProducerOptions, 'maxPendingRecords' | 'recordTtlMs'>;
  /** The clock: `received_at`, the dashboard's seconds (default `Date.now`). */
  now?: () => number;
  /** Where unexpected errors are reported (default stderr). */
  warn?: (message: string) => void;
}

export interface Collector {
  readonly app: FastifyInstance;
  readonly producer: BatchingProducer;
  /** The counters `/metrics` shows (the Lambda function turns them into CloudWatch metrics). */
  readonly metrics: CollectorMetrics;
  /** Starts listening; resolves with the base URL, such as `http://127.0.0.1:8080`. */
  listen(options?: { host?: string; port?: number }): Promise<string>;
  /** What the dashboard shows, now. */
  snapshot(): DashboardSnapshot;
  /** Stops accepting, answers the requests in progress, flushes the producer, closes the stream. */
  close(): Promise<void>;
}

/**
 * The HTTP collector: `POST /v1/events` (and Segment's and Snowplow's protocols) validates events with the pipeline's one schema, puts the
 * valid ones on the stream through the batching producer, and answers once the stream has accepted
 * them. It also serves the browser tracker, a demo page, a live dashboard, `/healthz` and `/metrics`.
 * Each of those is a Fastify plugin (`routes/`) over one `CollectorContext`; this wires them together.
 */
export async function createCollector(options: CollectorOptions): Promise<Collector> {
  const now = options.now ?? Date.now;
  const warn = options.warn ?? ((message: string) => process.stderr.write(`activity collect: ${message}\n`));
  const maxBody = checkInteger(
    'max body',
    options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    1,
    MAX_MAX_BODY_BYTES,
  );
  const maxPending = checkInteger(
    'max pending records',
    options.maxPendingRecords ?? DEFAULT_MAX_PENDING_RECORDS,
    1,
    10_000_000,
  );
  const retryAfter = String(options.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS);
  const access = new Access(options);

  const producer = new BatchingProducer(options.stream, {
    lingerMs: 2,
    ...options.producer,
    maxPendingRecords: maxPending,
    recordTtlMs: options.putTimeoutMs ?? DEFAULT_PUT_TIMEOUT_MS,
  });
  const metrics = new CollectorMetrics(() => pendingRecordsOf(producer));
  const lag = new LagWatch(options.consumerLag);
  const live = new LiveStats(now);
  const context = createContext({
    producer,
    access,
    metrics,
    live,
    lag: () => lag.current,
    now,
    maxPending,
    recordClientIp: options.recordClientIp ?? false,
    anonymizeIp: options.anonymizeIp ?? false,
    retryAfter,
    plan: options.trackingPlan,
    limits: {
      segment: {
        maxMessageBytes: checkInteger(
          'segment max message bytes',
          options.segmentMaxMessageBytes ?? SEGMENT_MAX_MESSAGE_BYTES,
          1,
          MAX_MAX_BODY_BYTES,
        ),
        maxBatchBytes: checkInteger(
          'segment max batch bytes',
          options.segmentMaxBatchBytes ?? SEGMENT_MAX_BATCH_BYTES,
          1,
          MAX_MAX_BODY_BYTES,
        ),
      },
    },
  });

  const app = Fastify({
    logger: false,
    bodyLimit: maxBody,
    trustProxy: options.trustProxy ?? false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  // No route takes a body but the ingest routes, which add their own parsers.
  app.removeAllContentTypeParsers();

  let shuttingDown = false;
  answerFailures(app, { maxBody, metrics, live, warn });
  addResponseHooks(app, { metrics, retryAfter, shuttingDown: () => shuttingDown });

  await app.register(ingestRoutes, context);
  await app.register(operationsRoutes, context);
  await app.register(assetRoutes, context);
  await app.register(dashboardRoutes, context);

  await lag.start((value) => metrics.setLag(value));

  let closing: Promise<void> | undefined;
  return {
    app,
    producer,
    metrics,
    snapshot: context.snapshot,
    async listen(listenOptions = {}) {
      await app.listen({ host: listenOptions.host ?? '127.0.0.1', port: listenOptions.port ?? 0 });
      const address = app.server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      return `http://${host}:${address.port}`;
    },
    close() {
      closing ??= (async () => {
        shuttingDown = true;
        await lag.stop();
        await app.close();
        await producer.close();
      })();
      return closing;
    },
  };
}

/** Polls the consumer's lag every `LAG_INTERVAL_MS`, never twice at once, keeping the latest reading. */
class LagWatch {
  current: ConsumerLag = LAG_NOT_MEASURED;
  private reading: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly read: (() => Promise<ConsumerLag>) | undefined) {}

  /** Reads once, then every interval; `onReading` gets each value. */
  async start(onReading: (lag: ConsumerLag) => void): Promise<void> {
    const { read } = this;
    if (read === undefined) return;
    const poll = () => {
      this.reading ??= read()
        .catch(
          (error: unknown): ConsumerLag => ({
            state: 'unknown',
            consumer: this.current.consumer,
            message: `could not read the consumer's lag: ${describeError(error)}`,
          }),
        )
        .then((value) => {
          this.current = value;
          onReading(value);
        })
        .finally(() => {
          this.reading = undefined;
        });
      return this.reading;
    };
    await poll();
    this.timer = setInterval(poll, LAG_INTERVAL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.reading;
  }
}

/** How a request that failed is answered: one JSON shape for every refusal, and a 404 naming the routes. */
function answerFailures(
  app: FastifyInstance,
  {
    maxBody,
    metrics,
    live,
    warn,
  }: { maxBody: number; metrics: CollectorMetrics; live: LiveStats; warn: (message: string) => void },
): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const answer = describeFailure(error, request, maxBody);
    if (answer.status >= 500 && !(error instanceof CollectorError)) {
      warn(`${request.method} ${request.url.slice(0, 100)} failed: ${describeError(error)}`);
    }
    if (answer.status < 500) {
      metrics.refused.inc({ reason: answer.code });
      live.refused(answer.code);
    }
    if (answer.status === 401) reply.header('www-authenticate', 'Bearer realm="activity"');
    return reply.code(answer.status).send({ error: answer.code, message: answer.message });
  });

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      error: 'not_found',
      message: `no route ${request.method} ${request.url.slice(0, 100)}: the collector serves POST /v1/events, Segment's /v1/track, /v1/batch and the other calls, Snowplow's POST /com.snowplowanalytics.snowplow/tp2 and GET /i, GET /tracker.js, /demo, /dashboard, /healthz and /metrics`,
    }),
  );
}

/** What every response gets: its latency in the metrics, `Retry-After`, and `Connection: close` once closing. */
function addResponseHooks(
  app: FastifyInstance,
  options: { metrics: CollectorMetrics; retryAfter: string; shuttingDown: () => boolean },
): void {
  app.addHook('onResponse', (request, reply, done) => {
    options.metrics.requestDuration.observe(
      { route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    done();
  });

  app.addHook('onSend', (_request, reply, payload, done) => {
    // Every 429 and 503, refused whole or per batch, says when to send again.
    if (reply.statusCode === 429 || reply.statusCode === 503) reply.header('retry-after', options.retryAfter);
    // A kept-alive connection whose request is answered after closing began would hold the server open
    // until its keep-alive timeout: tell the client to close it.
    if (options.shuttingDown()) reply.header('connection', 'close');
    done(null, payload);
  });
}

/** The status, code and message for an error thrown while handling a request. */
function describeFailure(
  error: FastifyError,
  request: FastifyRequest,
  maxBody: number,
): { status: number; code: string; message: string } {
  if (error instanceof CollectorError)
    return { status: error.statusCode, code: error.code, message: error.message };
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        status: 413,
        code: 'body_too_large',
        message: `the body is over the limit of ${maxBody} bytes: send smaller batches (or start the collector with a larger --max-body)`,
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': {
      const type = request.headers['content-type'];
      return {
        status: 415,
        code: 'unsupported_media_type',
        message: `${type === undefined ? 'a missing Content-Type' : `Content-Type ${JSON.stringify(type.slice(0, 80))}`} is not accepted: use application/json, application/x-ndjson or text/plain (JSON)`,
      };
    }
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    return { status, code: 'bad_request', message: error.message };
  }
  return { status: 500, code: 'internal_error', message: 'the collector failed to handle the request' };
}
