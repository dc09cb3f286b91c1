import { isUtf8 } from 'node:buffer';
import type { FastifyRequest } from 'fastify';
import type { CollectorContext } from '../context.js';
import { CollectorError } from '../errors.js';
import type { BodyItem, BodyItemCode, RequestFacts } from '../ingest.js';
import type { BatchOutcome, Rejection } from '../ingest-batch.js';
import { findUnfaithful, type UnfaithfulSource } from '../protocols/faithful.js';
import {
  mapSnowplowEvent,
  queryFields,
  readSnowplowPayload,
  snowplowLandedPath,
} from '../protocols/snowplow.js';
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
      const { value, text } = parseJson(request.body as ParsedBody | undefined);
      const payload = readSnowplowPayload(value);
      if (!payload.ok) throw new CollectorError(400, 'invalid_batch', payload.message);
      if (payload.events.length === 0) {
        throw new CollectorError(400, 'no_events', 'the payload holds no events: "data" is empty');
      }
      const items = mapEvents(payload.events, facts, text);
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
      const outcome: BatchOutcome = await context.ingest(mapEvents([fields], facts, undefined), facts);
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

/**
 * Maps each event, then refuses those that would not land as sent (a lone surrogate, a number a double
 * does not hold), as the consumer would, tracing the paths of the body's text (`text`, for a POST) and
 * of the JSON its events carry as text (`ue_pr`/`ue_px`, `co`/`cx`) to each event.
 */
function mapEvents(events: readonly unknown[], facts: RequestFacts, text: string | undefined): BodyItem[] {
  const items: BodyItem[] = [];
  const mapped = new Map<number, unknown>();
  const texts: UnfaithfulSource[] = [];
  // Of the body's own numbers, only those of fields kept as sent land as written (the others are
  // strings by the protocol, or mapped): unless an event keeps one that is not a string, the body's
  // text is not scanned for numbers.
  const body: UnfaithfulSource | undefined =
    text === undefined
      ? undefined
      : {
          text,
          numbersLand: false,
          landed: ([top, index, ...rest]) => {
            const path = top === 'data' && typeof index === 'number' ? snowplowLandedPath(rest) : undefined;
            return path === undefined ? undefined : { index: index as number, path };
          },
        };
  if (body !== undefined) texts.push(body);
  for (const [index, fields] of events.entries()) {
    const result = mapSnowplowEvent(fields, { receivedAt: facts.receivedAt });
    if (!result.ok) {
      items.push({ index, code: result.code, message: result.message });
      continue;
    }
    items.push({ index, value: result.value });
    mapped.set(index, result.value);
    if (result.keptNonString && body !== undefined) body.numbersLand = true;
    const { ue, contexts } = result.texts ?? {};
    if (ue !== undefined) {
      // {"schema": …, "data": {"schema": …, "data": {…}}}: the inner data lands as `properties`.
      texts.push({
        text: ue,
        landed: ([outer, inner, ...rest]) =>
          outer === 'data' && inner === 'data' ? { index, path: ['properties', ...rest] } : undefined,
      });
    }
    if (contexts !== undefined) {
      texts.push({
        text: contexts,
        landed: (path) => ({ index, path: ['contexts', ...path] }),
      });
    }
  }
  const refused = findUnfaithful(texts, mapped);
  if (refused.size === 0) return items;
  return items.map((item) => {
    const refusal = refused.get(item.index);
    return refusal === undefined || !('value' in item)
      ? item
      : { index: item.index, code: refusal.reason as BodyItemCode, message: refusal.message };
  });
}

function parseJson(parsed: ParsedBody | undefined): { value: unknown; text: string } {
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
    const text = parsed.body.toString('utf8');
    return { value: JSON.parse(text), text };
  } catch (error) {
    throw new CollectorError(400, 'invalid_json', `body is not valid JSON (${(error as Error).message})`);
  }
}
