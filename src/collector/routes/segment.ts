import { isUtf8 } from 'node:buffer';
import { gunzipSync } from 'node:zlib';
import type { FastifyRequest } from 'fastify';
import type { CollectorContext } from '../context.js';
import { CollectorError } from '../errors.js';
import type { BodyItem, BodyItemCode } from '../ingest.js';
import type { Rejection } from '../ingest-batch.js';
import { findUnfaithful, type LandedPath } from '../protocols/faithful.js';
import {
  mapSegmentMessage,
  readSegmentBatch,
  type SegmentMapOptions,
  type SegmentType,
  segmentBodyWriteKey,
  segmentLandedPath,
} from '../protocols/segment.js';
import type { IngestProtocol, ParsedBody } from './ingest.js';

/** The answer to Segment's routes: `success` as Segment's API answers, and what we accepted and refused. */
export interface SegmentResponse {
  success: boolean;
  accepted: number;
  rejected: Rejection[];
}

/** Each route and the call type it implies (`batch`: each message names its own). */
const ROUTES: readonly [string, SegmentType | 'batch'][] = [
  ['/v1/track', 'track'],
  ['/v1/identify', 'identify'],
  ['/v1/page', 'page'],
  ['/v1/screen', 'screen'],
  ['/v1/group', 'group'],
  ['/v1/alias', 'alias'],
  ['/v1/batch', 'batch'],
  ['/v1/import', 'batch'],
  // The short paths Segment's browser library posts to.
  ['/v1/t', 'track'],
  ['/v1/i', 'identify'],
  ['/v1/p', 'page'],
  ['/v1/s', 'screen'],
  ['/v1/g', 'group'],
  ['/v1/a', 'alias'],
  ['/v1/b', 'batch'],
];

/**
 * Segment's HTTP Tracking API: the six calls, a batch, and the browser library's short paths. Bodies
 * are JSON sent as `application/json` or `text/plain`, gzipped or not; the write key is the HTTP Basic
 * user name or the body's `writeKey`. Each message is mapped into the one event
 * (`protocols/segment.ts`) and answered with the outcome of `ingest`.
 */
export const segmentProtocol: IngestProtocol = async (app, context) => {
  const { maxMessageBytes, maxBatchBytes } = context.limits.segment;
  // Segment's API reads every body as JSON, whatever its Content-Type: RudderStack's library, for one,
  // sends its gzipped batches as application/x-www-form-urlencoded.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) =>
    done(null, { format: 'json', body: body as Buffer } satisfies ParsedBody),
  );
  for (const [url, route] of ROUTES) {
    const limit = route === 'batch' ? maxBatchBytes : maxMessageBytes;
    app.post(url, {
      onRequest: async (request) => {
        context.access.checkOrigin(request);
        checkBasicKey(context, request);
      },
      handler: async (request, reply): Promise<SegmentResponse> => {
        const facts = context.factsOf(request);
        const { body, text, bytes } = readBody(request, limit, route === 'batch' ? 'batch' : 'message');
        if (request.headers.authorization === undefined) checkBodyKey(context, segmentBodyWriteKey(body));
        const items = route === 'batch' ? batchItems(body, bytes, facts.receivedAt, maxMessageBytes) : [];
        if (route !== 'batch')
          items.push(messageItem(body, 0, { type: route, receivedAt: facts.receivedAt }));
        if (items.length === 0) {
          throw new CollectorError(400, 'no_events', 'the batch holds no messages: send {"batch": [ … ]}');
        }
        const outcome = await context.ingest(refuseUnfaithful(text, items, route === 'batch'), facts);
        reply.code(outcome.status);
        return {
          success: outcome.status === 200,
          accepted: outcome.accepted.length,
          rejected: outcome.rejected,
        };
      },
    });
  }
};

function batchItems(body: unknown, bytes: number, receivedAt: number, maxMessageBytes: number): BodyItem[] {
  const batch = readSegmentBatch(body);
  if (!batch.ok) throw new CollectorError(400, 'invalid_batch', batch.message);
  // A message can be over its limit only when the whole batch is.
  const measure = bytes > maxMessageBytes;
  // Each message names its own type.
  const options: SegmentMapOptions = { receivedAt, defaults: batch.defaults };
  return batch.messages.map((message, index) => {
    if (measure) {
      const bytes = Buffer.byteLength(JSON.stringify(message) ?? '');
      if (bytes > maxMessageBytes) {
        return {
          index,
          code: 'message_too_large',
          message: `the message is ${bytes} bytes; at most ${maxMessageBytes} go in one message`,
        };
      }
    }
    return messageItem(message, index, options);
  });
}

/**
 * Refuses the messages that would not land as sent (a lone surrogate, a number a double does not
 * hold), as the consumer would: the paths of the body's text are traced to each message's event.
 */
function refuseUnfaithful(text: string, items: BodyItem[], batch: boolean): BodyItem[] {
  const mapped = new Map<number, unknown>();
  for (const item of items) if ('value' in item) mapped.set(item.index, item.value);
  const landed: LandedPath = (path) => {
    if (!batch) {
      const inEvent = segmentLandedPath(path);
      return inEvent === undefined ? undefined : { index: 0, path: inEvent };
    }
    const [top, index, ...rest] = path;
    if (top === 'batch' && typeof index === 'number') {
      const inEvent = segmentLandedPath(rest);
      return inEvent === undefined ? undefined : { index, path: inEvent };
    }
    // A batch's own context and integrations are merged into every message.
    if (top === 'context' || top === 'integrations') {
      const inEvent = segmentLandedPath(path);
      return inEvent === undefined ? undefined : { index: 'all', path: inEvent };
    }
    return undefined;
  };
  const refused = findUnfaithful([{ text, landed }], mapped);
  if (refused.size === 0) return items;
  return items.map((item) => {
    const refusal = refused.get(item.index);
    return refusal === undefined || !('value' in item)
      ? item
      : { index: item.index, code: refusal.reason as BodyItemCode, message: refusal.message };
  });
}

function messageItem(message: unknown, index: number, options: SegmentMapOptions): BodyItem {
  const mapped = mapSegmentMessage(message, options);
  return mapped.ok ? { index, value: mapped.value } : { index, code: mapped.code, message: mapped.message };
}

/** The body as JSON, and its size: gunzipped when sent so, within the route's limit, UTF-8 and parseable. */
function readBody(
  request: FastifyRequest,
  limit: number,
  what: 'batch' | 'message',
): { body: unknown; text: string; bytes: number } {
  const parsed = request.body as ParsedBody | undefined;
  if (parsed === undefined) {
    throw new CollectorError(400, 'no_events', `the request has no body: send a JSON ${what}`);
  }
  if (parsed.format !== 'json') {
    throw new CollectorError(
      415,
      'unsupported_media_type',
      "Segment's API takes JSON: send Content-Type application/json or text/plain",
    );
  }
  let body = parsed.body;
  const encoding = request.headers['content-encoding']?.toLowerCase();
  if (encoding === 'gzip') {
    try {
      body = gunzipSync(body, { maxOutputLength: limit + 1 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ERR_BUFFER_TOO_LARGE') {
        throw new CollectorError(
          400,
          'invalid_gzip',
          `the body is not valid gzip: ${(error as Error).message}`,
        );
      }
      body = Buffer.alloc(limit + 1);
    }
  } else if (encoding !== undefined && encoding !== 'identity') {
    throw new CollectorError(
      415,
      'unsupported_content_encoding',
      `Content-Encoding ${JSON.stringify(encoding.slice(0, 40))} is not accepted: send gzip or an uncompressed body`,
    );
  }
  if (body.length > limit) {
    throw new CollectorError(
      413,
      'body_too_large',
      `the ${what} is over Segment's limit of ${limit} bytes: send smaller batches`,
    );
  }
  if (!isUtf8(body)) throw new CollectorError(400, 'invalid_utf8', 'body is not valid UTF-8');
  try {
    const text = body.toString('utf8');
    return { body: JSON.parse(text), text, bytes: body.length };
  } catch (error) {
    throw new CollectorError(400, 'invalid_json', `body is not valid JSON (${(error as Error).message})`);
  }
}

/**
 * Segment's libraries send the write key as the Basic user name with an empty password. Our own Bearer
 * form is taken too. Without an Authorization header the key may come in the body.
 */
function checkBasicKey(context: CollectorContext, request: FastifyRequest): void {
  if (context.access.writeKey === undefined) return;
  const header = request.headers.authorization;
  if (header === undefined) return;
  if (/^bearer /i.test(header)) {
    context.access.checkBearerKey(request);
    return;
  }
  if (!/^basic /i.test(header)) {
    throw new CollectorError(
      401,
      'invalid_write_key',
      'Authorization must be Basic (the write key as user name) or Bearer KEY',
    );
  }
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  checkBodyKey(context, colon === -1 ? decoded : decoded.slice(0, colon));
}

function checkBodyKey(context: CollectorContext, given: string | undefined): void {
  if (context.access.writeKey === undefined) return;
  if (given === undefined || given === '') {
    throw new CollectorError(
      401,
      'missing_write_key',
      'this collector needs a write key: set it as the Basic user name (the writeKey of your Segment library)',
    );
  }
  if (!context.access.matches(given)) {
    throw new CollectorError(
      401,
      'invalid_write_key',
      'the write key is wrong: use the key the collector was started with (--write-key or ACTIVITY_WRITE_KEY)',
    );
  }
}
