import { isUtf8 } from 'node:buffer';
import type { FastifyRequest } from 'fastify';
import type { CollectorContext } from '../context.js';
import { CollectorError } from '../errors.js';
import type { BodyItem, RequestFacts } from '../ingest.js';
import type { BatchOutcome, Rejection } from '../ingest-batch.js';
import { mapSnowplowEvent, queryFields, readSnowplowPayload } from '../protocols/snowplow.js';
import type { IngestProtocol, ParsedBody } from './ingest.js';

/** The answer to `POST …/tp2`. */
export interface SnowplowResponse {
  accepted: number;
  rejected: Rejection[];
}

/** The 1×1 transparent GIF Snowplow's collectors answer `GET /i` with. */
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/**
 * Snowplow's tracker protocol: `POST /com.snowplowanalytics.snowplow/tp2` (a `payload_data` body of
 * events) and `GET /i` (one event in the query string, answered with a 1×1 GIF). Each event is mapped
 * into the one event (`protocols/snowplow.ts`). When the collector has a write key, trackers send it
 * as `Authorization: Bearer KEY` (their `customHeaders`) or `?write_key=KEY`.
 */
export const snowplowProtocol: IngestProtocol = async (app, context) => {
  const guard = {
    onRequest: async (request: FastifyRequest) => {
      context.access.checkOrigin(request);
      context.access.checkBearerKey(request);
    },
  };

  app.post('/com.snowplowanalytics.snowplow/tp2', {
    ...guard,
    handler: async (request, reply): Promise<SnowplowResponse> => {
      const facts = factsOf(context, request);
      const payload = readSnowplowPayload(parseJson(request.body as ParsedBody | undefined));
      if (!payload.ok) throw new CollectorError(400, 'invalid_batch', payload.message);
      if (payload.events.length === 0) {
        throw new CollectorError(400, 'no_events', 'the payload holds no events: "data" is empty');
      }
      const items: BodyItem[] = payload.events.map((fields, index) => item(fields, index, facts));
      const outcome = await context.ingest(items, facts);
      reply.code(outcome.status);
      return { accepted: outcome.accepted.length, rejected: outcome.rejected };
    },
  });

  app.get('/i', {
    ...guard,
    handler: async (request, reply) => {
      const facts = factsOf(context, request);
      const fields = queryFields(request.query);
      delete fields.write_key;
      const outcome: BatchOutcome = await context.ingest([item(fields, 0, facts)], facts);
      reply.code(outcome.status).header('cache-control', 'no-store');
      if (outcome.status !== 200) return { accepted: outcome.accepted.length, rejected: outcome.rejected };
      return reply.header('content-type', 'image/gif').send(PIXEL);
    },
  });
};

/** The request's facts; a tracker asking for server-side anonymisation (`SP-Anonymous`) has no IP kept. */
function factsOf(context: CollectorContext, request: FastifyRequest): RequestFacts {
  const facts = context.factsOf(request);
  if (request.headers['sp-anonymous'] !== undefined) delete facts.ip;
  return facts;
}

function item(fields: unknown, index: number, facts: RequestFacts): BodyItem {
  const mapped = mapSnowplowEvent(fields, { receivedAt: facts.receivedAt });
  return mapped.ok ? { index, value: mapped.value } : { index, code: mapped.code, message: mapped.message };
}

function parseJson(parsed: ParsedBody | undefined): unknown {
  if (parsed === undefined) {
    throw new CollectorError(400, 'no_events', 'the request has no body: send a payload_data JSON');
  }
  if (parsed.format !== 'json') {
    throw new CollectorError(
      415,
      'unsupported_media_type',
      'tp2 takes JSON: send Content-Type application/json',
    );
  }
  if (!isUtf8(parsed.body)) throw new CollectorError(400, 'invalid_utf8', 'body is not valid UTF-8');
  try {
    return JSON.parse(parsed.body.toString('utf8'));
  } catch (error) {
    throw new CollectorError(400, 'invalid_json', `body is not valid JSON (${(error as Error).message})`);
  }
}
