import { gzipSync } from 'node:zlib';
import type { RejectReason } from '../event/index.js';
import type { PlanReason } from '../plan/index.js';
import type { EventIdRange } from '../sink/formats/index.js';
import { withEventIdRange } from '../sink/formats/ndjson.js';

/**
 * Why a record landed in `errors/`: it failed validation, the tracking plan refused it
 * (`schema_violation`, `unplanned_event`, `unplanned_property`), it is a damaged KPL aggregated record
 * (`invalid_aggregate`), or the handler could not process it.
 */
export type ErrorReason =
  | RejectReason
  | PlanReason
  | 'invalid_aggregate'
  | 'handler_failed'
  | 'record_expired';

/**
 * gzip level of landed objects. Level 3 is the smallest of zlib's fast levels (1-3, which do not search
 * for lazy matches): on simulated landed events, 46.8 bytes an event at 1.8 µs of CPU, against 39.7
 * bytes at 3.4 µs at zlib's default 6, so 18 % more bytes for half the compression time, which was the
 * largest single cost of an event in the consumer.
 */
export const DEFAULT_COMPRESSION_LEVEL = 3;

/**
 * The NDJSON gzip body of an object, compressed on the calling thread: zlib's asynchronous form, which
 * hands the work to libuv's thread pool, cost twice the CPU time for the bodies of 1,000 events
 * (1.1-1.3 µs an event against 0.55; BENCHMARKS.md, "The Lambda handler's CPU per event"), and a
 * handler has nothing to do meanwhile: Lambda gives an invocation one event at a time, and its objects
 * are written as they are made. With `range`, the distinct ids of an object's events, the header says
 * so (`src/sink/formats/ndjson.ts`).
 */
export async function encodeLines(
  lines: readonly string[],
  level = DEFAULT_COMPRESSION_LEVEL,
  range?: EventIdRange,
): Promise<Buffer> {
  return withEventIdRange(gzipSync(`${lines.join('\n')}\n`, { level }), range);
}
