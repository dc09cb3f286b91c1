import cors, { type FastifyCorsOptions } from '@fastify/cors';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { CollectorContext } from '../context.js';
import type { BodyFormat } from '../ingest.js';
import { eventsProtocol } from './events.js';
import { segmentProtocol } from './segment.js';
import { snowplowProtocol } from './snowplow.js';

/** A request body as the ingest routes get it: its bytes, and how they are framed. */
export interface ParsedBody {
  format: BodyFormat;
  body: Buffer;
}

/** A plugin that takes events in by one protocol and answers with `CollectorContext.ingest`'s outcome. */
export type IngestProtocol = FastifyPluginAsync<CollectorContext>;

/** The protocols the collector speaks; each is a plugin of its own. */
export const INGEST_PROTOCOLS: readonly IngestProtocol[] = [
  eventsProtocol,
  segmentProtocol,
  snowplowProtocol,
];

/**
 * The routes events come in by, one plugin per protocol, sharing the body parsers and CORS. CORS applies
 * only here, where browser pages send from: other sites must not read the dashboard or metrics.
 */
export const ingestRoutes: FastifyPluginAsync<CollectorContext> = async (app, context) => {
  // Bodies are kept as bytes: the collector checks UTF-8 and parses JSON itself, so one bad NDJSON
  // line rejects one event, and hostile keys reject the event that has them, not the whole body.
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
  const shared = {
    allowedHeaders: ['Content-Type', 'Authorization', 'X-Retry-Count', 'SP-Anonymous'],
    exposedHeaders: ['Retry-After'],
    maxAge: 86_400,
  };
  const ours: FastifyCorsOptions = { ...shared, origin: context.access.corsOrigin, methods: ['POST'] };
  // Snowplow's browser tracker sends with credentials, which a `*` answer would refuse: its routes
  // echo the allowed origin instead. No ingest route sets or reads cookies.
  const snowplow: FastifyCorsOptions = {
    ...shared,
    origin: context.access.corsOrigin === '*' ? true : context.access.corsOrigin,
    credentials: true,
    methods: ['POST', 'GET'],
  };
  await app.register(
    cors,
    () => (request: FastifyRequest, callback: (error: Error | null, options: FastifyCorsOptions) => void) => {
      callback(null, isSnowplowRoute(request.url) ? snowplow : ours);
    },
  );
  for (const protocol of INGEST_PROTOCOLS) await app.register(protocol, context);
};

function isSnowplowRoute(url: string): boolean {
  return url.startsWith('/com.snowplowanalytics.snowplow/') || url === '/i' || url.startsWith('/i?');
}
