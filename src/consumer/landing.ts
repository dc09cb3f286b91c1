import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import type { RejectReason } from '../event/index.js';

const gzip = promisify(gzipCallback);

/**
 * Why a record landed in `errors/`: it failed validation, it is a damaged KPL aggregated record
 * (`invalid_aggregate`), or the handler could not process it.
 */
export type ErrorReason = RejectReason | 'invalid_aggregate' | 'handler_failed' | 'record_expired';

/** gzip level of landed objects: 6 is zlib's default balance of size and speed. */
export const DEFAULT_COMPRESSION_LEVEL = 6;

/** The NDJSON gzip body of an object. */
export async function encodeLines(
  lines: readonly string[],
  level = DEFAULT_COMPRESSION_LEVEL,
): Promise<Buffer> {
  return gzip(`${lines.join('\n')}\n`, { level });
}
