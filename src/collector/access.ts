import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ConfigError } from '../core/errors.js';
import { CollectorError } from './errors.js';

/** Who may send events: the write key, when one is set, and the browser origins allowed. */
export class Access {
  /** Shown to browsers by the demo page: a browser's write key is public by nature. */
  readonly writeKey: string | undefined;
  /** For CORS: `'*'` or the origins allowed. */
  readonly corsOrigin: '*' | string[];
  private readonly allowedOrigins: ReadonlySet<string> | undefined;
  private readonly keyDigest: Buffer | undefined;

  constructor(options: { writeKey?: string; corsOrigins?: string[] }) {
    const origins = options.corsOrigins ?? ['*'];
    if (options.writeKey !== undefined && options.writeKey.length === 0) {
      throw new ConfigError('write key must not be empty: omit it to accept events without one');
    }
    this.writeKey = options.writeKey;
    this.keyDigest = options.writeKey === undefined ? undefined : digest(options.writeKey);
    this.allowedOrigins = origins.includes('*') ? undefined : new Set(origins);
    this.corsOrigin = this.allowedOrigins === undefined ? '*' : [...this.allowedOrigins];
  }

  /**
   * Refuses a request from a browser origin that is not allowed. A page may post text/plain without a
   * preflight, so the origin is enforced here, not only by the browser.
   */
  checkOrigin(request: FastifyRequest): void {
    const origin = request.headers.origin;
    if (this.allowedOrigins !== undefined && origin !== undefined && !this.allowedOrigins.has(origin)) {
      throw new CollectorError(
        403,
        'origin_not_allowed',
        `origin ${JSON.stringify(origin.slice(0, 100))} may not send events: add it with --cors-origin`,
      );
    }
  }

  /**
   * Refuses a request without the write key, when one is set: as `Authorization: Bearer KEY` or
   * `?write_key=KEY` (both forms exist because `sendBeacon` cannot set headers).
   */
  checkBearerKey(request: FastifyRequest): void {
    if (this.keyDigest === undefined) return;
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
    if (!this.matches(given)) {
      throw new CollectorError(
        401,
        'invalid_write_key',
        'the write key is wrong: use the key the collector was started with (--write-key or ACTIVITY_WRITE_KEY)',
      );
    }
  }

  /** Whether `given` is the write key (true when none is set), compared in constant time. */
  matches(given: string): boolean {
    return this.keyDigest === undefined || timingSafeEqual(digest(given), this.keyDigest);
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
