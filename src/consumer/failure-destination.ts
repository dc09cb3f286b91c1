import type { ObjectStore } from '../core/ports.js';
import { errorLine, NDJSON_GZIP, objectKey, partitionOf, type RawRecord } from '../layout/index.js';
import { encodeLines } from './landing.js';
import type { FailureDestination } from './runner/event-source-runner.js';

/**
 * The local runner's on-failure destination: records the handler could not process land in
 * `errors/` with their original bytes and the reason, under a name derived from their position.
 */
export function errorsDestination(store: ObjectStore, compressionLevel?: number): FailureDestination {
  return async (records, reason, message, streamArn) => {
    const first = records[0] as RawRecord | undefined;
    if (first === undefined) return;
    const lines = records.map((r) => errorLine(r, reason, message, streamArn));
    const key = objectKey(
      'errors',
      partitionOf(first.arrivalMs),
      first.shardId,
      first.sequenceNumber,
      `-${reason}`,
    );
    const body = await encodeLines(lines, compressionLevel);
    await store.put(key, body, {
      contentType: NDJSON_GZIP.contentType,
      contentEncoding: NDJSON_GZIP.contentEncoding,
    });
  };
}
