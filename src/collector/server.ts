import { createHash, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import cors from '@fastify/cors';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { DEFAULT_CONSUMER_NAME } from '../consumer/index.js';
import { ConfigError, describeError, PipelineError } from '../core/errors.js';
import type { StreamWriter } from '../core/ports.js';
import type { ActivityEvent } from '../event/index.js';
import { type AcceptedRecord, BatchingProducer, type BatchingProducerOptions } from '../producer/index.js';
import { type Asset, type AssetName, loadAssets } from './assets.js';
import { type ConsumerLag, ConsumerLagProbe } from './consumer-lag.js';
import { CollectorError } from './errors.js';
import { type BodyFormat, decodeBody, prepareEvent, type RequestFacts } from './ingest.js';
import { type LiveSnapshot, LiveStats } from './live-stats.js';
import { CollectorMetrics } from './metrics.js';
import { dashboardPage, demoPage, PAGE_SECURITY_POLICY } from './pages.js';

/** The default and largest request body, in bytes. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
export const MAX_MAX_BODY_BYTES = 64 * 1024 * 1024;
/** The most events one request may carry. */
export const MAX_EVENTS_PER_REQUEST = 10_000;
/** Records buffered or in flight to the stream before requests are answered 429. */
export const DEFAULT_MAX_PENDING_RECORDS = 50_000;
/** A record not accepted by the stream this long after the request is answered 429 (the stream is throttling). */
export const DEFAULT_PUT_TIMEOUT_MS = 10_000;
const DEFAULT_RETRY_AFTER_SECONDS = 1;
const SNAPSHOT_INTERVAL_MS = 1_000;
/** Dashboards connected at once: each holds a connection and gets a snapshot a second. */
const MAX_DASHBOARDS = 50;
const LAG_INTERVAL_MS = 2_000;

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
  /** Take the client address from `X-Forwarded-For` (behind a proxy you trust; default false). */
  trustProxy?: boolean;
  /** Whose lag the dashboard shows, on the embedded stream (default `activity-consumer`). */
  consumerName?: string;
  /** Records pending to the stream before requests are answered 429 (default 50,000). */
  maxPendingRecords?: number;
  /** How long a record may wait for the stream before the request is answered 429 (default 10 s). */
  putTimeoutMs?: number;
  /** Seconds sent in `Retry-After` with 429 and 503 (default 1). */
  retryAfterSeconds?: number;
  /** The producer's other settings (linger, puts in flight, backoff). */
  producer?: Omit<BatchingProducerOptions, 'maxPendingRecords' | 'recordTtlMs'>;
  /** The clock: `received_at`, the dashboard's seconds (default `Date.now`). */
  now?: () => number;
  /** Where unexpected errors are reported (default stderr). */
  warn?: (message: string) => void;
}

/** One refused event of a request. */
export interface Rejection {
  /** The event's index in the batch (its line, 0-based, in NDJSON). */
  index: number;
  code: string;
  message: string;
}

export interface IngestResponse {
  accepted: number;
  rejected: Rejection[];
}

export interface Collector {
  readonly app: FastifyInstance;
  readonly producer: BatchingProducer;
  /** Starts listening; resolves with the base URL, such as `http://127.0.0.1:8080`. */
  listen(options?: { host?: string; port?: number }): Promise<string>;
  /** What the dashboard shows, now. */
  snapshot(): DashboardSnapshot;
  /** Stops accepting, answers the requests in progress, flushes the producer, closes the stream. */
  close(): Promise<void>;
}

export type DashboardSnapshot = LiveSnapshot & { lag: ConsumerLag; pendingRecords: number };

interface ParsedBody {
  format: BodyFormat;
  body: Buffer;
}

/** Producer failures that may pass if the client sends again later. */
const RETRIABLE_PUT_CODES = new Set(['put_timeout', 'aborted', 'producer_closed']);

/**
 * The HTTP collector: `POST /v1/events` validates events with the pipeline's one schema, puts the
 * valid ones on the stream through the batching producer, and answers once the stream has accepted
 * them. It also serves the browser tracker, a demo page, a live dashboard, `/healthz` and `/metrics`.
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
  const origins = options.corsOrigins ?? ['*'];
  const anyOrigin = origins.includes('*');
  const allowedOrigins = new Set(origins);
  const keyDigest = options.writeKey === undefined ? undefined : digest(options.writeKey);
  if (options.writeKey !== undefined && options.writeKey.length === 0) {
    throw new ConfigError('write key must not be empty: omit it to accept events without one');
  }

  const assets = loadAssets();
  const producer = new BatchingProducer(options.stream, {
    lingerMs: 2,
    ...options.producer,
    maxPendingRecords: maxPending,
    recordTtlMs: options.putTimeoutMs ?? DEFAULT_PUT_TIMEOUT_MS,
  });
  const metrics = new CollectorMetrics(pendingRecords);
  const live = new LiveStats(now);
  const lagProbe = new ConsumerLagProbe(options.stream, options.consumerName ?? DEFAULT_CONSUMER_NAME, now);
  let lag: ConsumerLag = { state: 'none', consumer: lagProbe.consumer };
  const dashboards = new Set<ServerResponse>();

  function pendingRecords(): number {
    const { inFlight, buffered } = producer.stats;
    return inFlight + buffered;
  }

  const snapshot = (): DashboardSnapshot => ({ ...live.snapshot(), lag, pendingRecords: pendingRecords() });

  const app = Fastify({
    logger: false,
    bodyLimit: maxBody,
    trustProxy: options.trustProxy ?? false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });

  // Bodies are kept as bytes: the collector checks UTF-8 and parses JSON itself, so one bad NDJSON
  // line rejects one event, and hostile keys reject the event that has them, not the whole body.
  app.removeAllContentTypeParsers();
  const keep =
    (format: BodyFormat) =>
    (_request: FastifyRequest, body: Buffer, done: (error: Error | null, body?: ParsedBody) => void) =>
      done(null, { format, body });
  app.addContentTypeParser(['application/json', 'text/plain'], { parseAs: 'buffer' }, keep('json'));
  app.addContentTypeParser(
    ['application/x-ndjson', 'application/ndjson'],
    { parseAs: 'buffer' },
    keep('ndjson'),
  );

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const answer = describeFailure(error, request, maxBody);
    if (answer.status >= 500 && !(error instanceof CollectorError)) {
      warn(`${request.method} ${request.url.slice(0, 100)} failed: ${describeError(error)}`);
    }
    if (answer.status < 500) metrics.refused.inc({ reason: answer.code });
    if (answer.status === 429 || answer.status === 503) reply.header('retry-after', retryAfter);
    if (answer.status === 401) reply.header('www-authenticate', 'Bearer realm="activity"');
    return reply.code(answer.status).send({ error: answer.code, message: answer.message });
  });

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      error: 'not_found',
      message: `no route ${request.method} ${request.url.slice(0, 100)}: the collector serves POST /v1/events, GET /tracker.js, /demo, /dashboard, /healthz and /metrics`,
    }),
  );

  app.addHook('onResponse', (request, reply, done) => {
    metrics.requestDuration.observe(
      { route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    done();
  });

  // A kept-alive connection whose request is answered after closing began would hold the server open
  // until its keep-alive timeout: tell the client to close it.
  let shuttingDown = false;
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (shuttingDown) reply.header('connection', 'close');
    done(null, payload);
  });

  // Dashboards hold their connection open: end them, or closing would wait for them forever.
  app.addHook('preClose', async () => {
    for (const response of dashboards) response.end();
    dashboards.clear();
  });

  // CORS only where browser pages send from: other sites must not read the dashboard or metrics.
  await app.register(async (events) => {
    await events.register(cors, {
      origin: anyOrigin ? '*' : [...allowedOrigins],
      methods: ['POST'],
      allowedHeaders: ['Content-Type', 'Authorization'],
      exposedHeaders: ['Retry-After'],
      maxAge: 86_400,
    });
    events.post('/v1/events', {
      onRequest: async (request) => {
        const origin = request.headers.origin;
        // A page may post text/plain without a preflight, so the origin is enforced here, not only by the browser.
        if (!anyOrigin && origin !== undefined && !allowedOrigins.has(origin)) {
          throw new CollectorError(
            403,
            'origin_not_allowed',
            `origin ${JSON.stringify(origin.slice(0, 100))} may not send events: add it with --cors-origin`,
          );
        }
        if (keyDigest !== undefined) checkWriteKey(request, keyDigest);
        const encoding = request.headers['content-encoding'];
        if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
          throw new CollectorError(
            415,
            'unsupported_content_encoding',
            `Content-Encoding ${JSON.stringify(encoding.slice(0, 40))} is not accepted: send the body uncompressed`,
          );
        }
      },
      handler: async (request, reply) => {
        const result = await ingest(request);
        reply.code(result.status);
        if (result.status === 429 || result.status === 503) reply.header('retry-after', retryAfter);
        return result.body;
      },
    });
  });

  async function ingest(request: FastifyRequest): Promise<{ status: number; body: IngestResponse }> {
    const receivedAt = now();
    const parsed = request.body as ParsedBody | undefined;
    if (parsed === undefined) {
      throw new CollectorError(
        400,
        'no_events',
        'the request has no body: send one event, an array of events, {"batch": [...]} or NDJSON',
      );
    }
    const { items, batchSentAt } = decodeBody(parsed.format, parsed.body);
    if (items.length === 0) {
      throw new CollectorError(
        400,
        'no_events',
        'the body holds no events: send one event, an array of events, {"batch": [...]} or NDJSON',
      );
    }
    if (items.length > MAX_EVENTS_PER_REQUEST) {
      throw new CollectorError(
        413,
        'too_many_events',
        `the body holds ${items.length} events; at most ${MAX_EVENTS_PER_REQUEST} go in one request: split the batch`,
      );
    }
    const pending = pendingRecords();
    if (pending > 0 && pending + items.length > maxPending) {
      throw new CollectorError(
        429,
        'backpressure',
        `the stream is behind (${pending} records waiting for it): send again after ${retryAfter} s`,
        { retriable: true },
      );
    }

    const facts: RequestFacts = { receivedAt };
    const userAgent = request.headers['user-agent'];
    if (userAgent !== undefined) facts.userAgent = userAgent;
    if (options.recordClientIp) facts.ip = request.ip;
    if (batchSentAt !== undefined) facts.batchSentAt = batchSentAt;

    const rejected: Rejection[] = [];
    const events: ActivityEvent[] = [];
    const indexes: number[] = [];
    const puts: Promise<AcceptedRecord>[] = [];
    for (const item of items) {
      if ('code' in item) {
        rejected.push(item);
        continue;
      }
      const prepared = prepareEvent(item.value, facts);
      if (!prepared.ok) {
        rejected.push({ index: item.index, code: prepared.code, message: prepared.message });
        continue;
      }
      const { event } = prepared;
      const record = { partitionKey: event.user_id, data: Buffer.from(JSON.stringify(event)) };
      try {
        puts.push(producer.put(record));
      } catch (error) {
        puts.push(Promise.reject(error));
      }
      events.push(event);
      indexes.push(item.index);
    }

    const putStarted = performance.now();
    const outcomes = await Promise.allSettled(puts);
    if (puts.length > 0) metrics.putDuration.observe((performance.now() - putStarted) / 1000);

    let accepted = 0;
    let retriable = false;
    let closing = false;
    const refusedByStream = rejected.length;
    for (let i = 0; i < outcomes.length; i++) {
      const outcome = outcomes[i] as PromiseSettledResult<AcceptedRecord>;
      const event = events[i] as ActivityEvent;
      if (outcome.status === 'fulfilled') {
        accepted++;
        live.accepted(event.event, event.user_id, receivedAt);
        continue;
      }
      const error = outcome.reason;
      const code = error instanceof PipelineError ? error.code : 'put_failed';
      if (code === 'producer_closed' || code === 'aborted') closing = true;
      if (RETRIABLE_PUT_CODES.has(code) || (error instanceof PipelineError && error.retriable))
        retriable = true;
      rejected.push({ index: indexes[i] as number, code, message: describeError(error) });
    }
    if (rejected.length > refusedByStream) rejected.sort((a, b) => a.index - b.index);

    metrics.accepted.inc(accepted);
    for (const rejection of rejected) {
      metrics.rejected.inc({ reason: rejection.code });
      live.rejected(rejection.code);
    }
    const status = closing ? 503 : retriable ? 429 : accepted === 0 ? 400 : 200;
    return { status, body: { accepted, rejected } };
  }

  app.get('/healthz', async () => ({ status: 'ok', pending_records: pendingRecords() }));

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  const serveAsset =
    (name: AssetName, cacheControl: string) => (request: FastifyRequest, reply: FastifyReply) =>
      sendAsset(request, reply, assets[name], cacheControl);
  // Pages embed the tracker by this URL: a short cache lets a new version reach them soon.
  app.get('/tracker.js', serveAsset('tracker.js', 'public, max-age=300'));
  app.get('/assets/demo.js', serveAsset('demo.js', 'no-cache'));
  app.get('/assets/dashboard.js', serveAsset('dashboard.js', 'no-cache'));
  app.get('/assets/dashboard.css', serveAsset('dashboard.css', 'no-cache'));

  app.get('/', (_request, reply) => reply.redirect('/dashboard'));
  // Browsers ask for it on every page; an empty answer keeps their consoles quiet.
  app.get('/favicon.ico', (_request, reply) => reply.code(204).send());

  app.get('/demo', (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const flush = Number(query.flush_interval);
    return sendPage(
      reply,
      demoPage({
        ...(options.writeKey === undefined ? {} : { writeKey: options.writeKey }),
        ...(Number.isInteger(flush) && flush >= 0 && flush <= 3_600_000 ? { flushIntervalMs: flush } : {}),
      }),
    );
  });

  app.get('/dashboard', (_request, reply) => sendPage(reply, dashboardPage()));
  app.get('/dashboard/snapshot', async () => snapshot());
  app.get('/dashboard/stream', (request, reply) => {
    if (dashboards.size >= MAX_DASHBOARDS) {
      throw new CollectorError(
        503,
        'too_many_dashboards',
        `${MAX_DASHBOARDS} dashboards are open already: close one, or read /dashboard/snapshot`,
      );
    }
    reply.hijack();
    const response = reply.raw;
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    response.write(`retry: 2000\ndata: ${JSON.stringify(snapshot())}\n\n`);
    dashboards.add(response);
    request.raw.on('close', () => dashboards.delete(response));
  });

  const snapshotTimer = setInterval(() => {
    if (dashboards.size === 0) return;
    const message = `data: ${JSON.stringify(snapshot())}\n\n`;
    for (const response of dashboards) response.write(message);
  }, SNAPSHOT_INTERVAL_MS);
  snapshotTimer.unref();
  let lagReading: Promise<void> | undefined;
  const readLag = () => {
    lagReading ??= lagProbe
      .read()
      .then((value) => {
        lag = value;
        metrics.setLag(value);
      })
      .finally(() => {
        lagReading = undefined;
      });
    return lagReading;
  };
  await readLag();
  const lagTimer = setInterval(readLag, LAG_INTERVAL_MS);
  lagTimer.unref();

  let closing: Promise<void> | undefined;
  return {
    app,
    producer,
    snapshot,
    async listen(listenOptions = {}) {
      await app.listen({ host: listenOptions.host ?? '127.0.0.1', port: listenOptions.port ?? 0 });
      const address = app.server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      return `http://${host}:${address.port}`;
    },
    close() {
      closing ??= (async () => {
        shuttingDown = true;
        clearInterval(snapshotTimer);
        clearInterval(lagTimer);
        await lagReading;
        await app.close();
        await producer.close();
      })();
      return closing;
    },
  };
}

function sendAsset(request: FastifyRequest, reply: FastifyReply, asset: Asset, cacheControl: string) {
  reply
    .header('content-type', asset.contentType)
    .header('etag', asset.etag)
    .header('cache-control', cacheControl)
    .header('vary', 'accept-encoding')
    .header('x-content-type-options', 'nosniff');
  if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  if (/\bgzip\b/.test(request.headers['accept-encoding'] ?? '')) {
    return reply.header('content-encoding', 'gzip').send(asset.gzipped);
  }
  return reply.send(asset.body);
}

function sendPage(reply: FastifyReply, html: string) {
  return reply
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', PAGE_SECURITY_POLICY)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-store')
    .send(html);
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Checks the write key in constant time; both forms exist because `sendBeacon` cannot set headers. */
function checkWriteKey(request: FastifyRequest, expected: Buffer): void {
  const header = request.headers.authorization;
  const fromQuery = (request.query as Record<string, unknown> | undefined)?.write_key;
  let given: string | undefined;
  if (header !== undefined && /^bearer /i.test(header)) given = header.slice(7).trim();
  else if (typeof fromQuery === 'string') given = fromQuery;
  if (given === undefined || given === '') {
    throw new CollectorError(
      401,
      'missing_write_key',
      'this collector needs a write key: send "Authorization: Bearer KEY" or add ?write_key=KEY to the URL',
    );
  }
  if (!timingSafeEqual(digest(given), expected)) {
    throw new CollectorError(
      401,
      'invalid_write_key',
      'the write key is wrong: use the key the collector was started with (--write-key or ACTIVITY_WRITE_KEY)',
    );
  }
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

function checkInteger(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max} (given ${value})`);
  }
  return value;
}
