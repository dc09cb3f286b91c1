import type { FastifyRequest } from 'fastify';
import { CollectorError } from '../errors.js';
import { decodeBody } from '../ingest.js';
import type { Rejection } from '../ingest-batch.js';
import type { IngestProtocol, ParsedBody } from './ingest.js';

/** The answer to `POST /v1/events`. */
export interface IngestResponse {
  accepted: number;
  rejected: Rejection[];
}

/**
 * The collector's own protocol, `POST /v1/events`: one event, a JSON array, `{"batch": [...]}` or NDJSON,
 * answered once the stream has taken the valid events, naming every rejected one.
 */
export const eventsProtocol: IngestProtocol = async (app, context) => {
  app.post('/v1/events', {
    onRequest: async (request) => {
      context.access.checkOrigin(request);
      context.access.checkBearerKey(request);
      checkIdentityEncoding(request);
    },
    handler: async (request, reply): Promise<IngestResponse> => {
      const facts = context.factsOf(request);
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
      if (batchSentAt !== undefined) facts.batchSentAt = batchSentAt;
      const outcome = await context.ingest(items, facts);
      reply.code(outcome.status);
      return { accepted: outcome.accepted.length, rejected: outcome.rejected };
    },
  });
};

function checkIdentityEncoding(request: FastifyRequest): void {
  const encoding = request.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    throw new CollectorError(
      415,
      'unsupported_content_encoding',
      `Content-Encoding ${JSON.stringify(encoding.slice(0, 40))} is not accepted: send the body uncompressed`,
    );
  }
}
