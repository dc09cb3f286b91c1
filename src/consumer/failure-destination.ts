import type { KinesisStreamRecord } from 'aws-lambda';
import type { ObjectStore } from '../core/ports.js';
import { errorLine, NDJSON_GZIP, objectKey, partitionOf } from '../layout/index.js';
import { encodeLines, shardIdOf } from './landing.js';
import type { FailureDestination } from './runner/event-source-runner.js';

/**
 * The local runner's on-failure destination: records the handler could not process land in
 * `errors/` with their original bytes and the reason, under a name derived from their position.
 */
export function errorsDestination(store: ObjectStore, compressionLevel?: number): FailureDestination {
  return async (records, reason, message) => {
    const first = records[0] as KinesisStreamRecord | undefined;
    if (first === undefined) return;
    const shardId = shardIdOf(first.eventID);
    const arrivalMs = (r: KinesisStreamRecord) => Math.round(r.kinesis.approximateArrivalTimestamp * 1000);
    const lines = records.map((r) =>
      errorLine(
        {
          shardId: shardIdOf(r.eventID),
          sequenceNumber: r.kinesis.sequenceNumber,
          partitionKey: r.kinesis.partitionKey,
          arrivalMs: arrivalMs(r),
          data: r.kinesis.data,
        },
        reason,
        message,
        r.eventSourceARN,
      ),
    );
    const key = objectKey(
      'errors',
      partitionOf(arrivalMs(first)),
      shardId,
      first.kinesis.sequenceNumber,
      `-${reason}`,
    );
    const body = await encodeLines(lines, compressionLevel);
    await store.put(key, body, {
      contentType: NDJSON_GZIP.contentType,
      contentEncoding: NDJSON_GZIP.contentEncoding,
    });
  };
}
