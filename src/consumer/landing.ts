import { createHash } from 'node:crypto';
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

export const NDJSON_GZIP = {
  contentType: 'application/x-ndjson',
  contentEncoding: 'gzip',
  extension: '.ndjson.gz',
};

const SHARD_ID = /^shardId-[0-9]{1,20}$/;
const SEQUENCE_NUMBER = /^[0-9]{1,128}$/;

/** A record as it sat in the stream: what `errors/` keeps of a record that did not land as an event. */
export interface RawRecord {
  shardId: string;
  sequenceNumber: string;
  /** The user record's index in its KPL aggregate; absent for a plain record. */
  subSequenceNumber?: number;
  /** The user record's own key, for a user record of a KPL aggregate. */
  partitionKey: string;
  /** Epoch milliseconds. */
  arrivalMs: number;
  /** base64, as Lambda delivers it; for a user record of a KPL aggregate, that user record's bytes. */
  data: string;
}

/** One line of an `errors/` object. */
export function errorLine(
  record: RawRecord,
  reason: ErrorReason,
  message: string,
  streamArn: string,
): string {
  // The record's bytes are kept in `data`; the texts beside them must be Unicode, or a lone surrogate
  // (a partition key any producer chose, a message quoting one) would make the object unreadable.
  return JSON.stringify({
    reason,
    message: message.toWellFormed(),
    shard_id: record.shardId,
    sequence_number: record.sequenceNumber,
    // Left out of plain records' lines: JSON.stringify drops undefined values.
    sub_sequence_number: record.subSequenceNumber,
    partition_key: record.partitionKey.toWellFormed(),
    approximate_arrival_timestamp: new Date(record.arrivalMs).toISOString(),
    event_source_arn: streamArn,
    data: record.data,
  });
}

const HOUR_MS = 3_600_000;
let lastHour = Number.NaN;
let lastPartition = '';

/** `dt=YYYY-MM-DD/hour=HH` of an instant, in UTC. */
export function partitionOf(epochMs: number): string {
  // Nearly every event of a batch falls in the same hour: keep the last answer.
  const hour = Math.floor(epochMs / HOUR_MS);
  if (hour !== lastHour) {
    const iso = new Date(hour * HOUR_MS).toISOString();
    lastPartition = `dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}`;
    lastHour = hour;
  }
  return lastPartition;
}

/**
 * The deterministic key of an object: its dataset, partition, shard and the sequence number of the
 * first record in it. A retried batch starts at the same record, so it overwrites the same object
 * instead of adding a duplicate; since the name comes from the first record of this object (not of
 * the batch), a batch retried in smaller pieces (bisected) overwrites too. Only stream positions, never
 * event data, reach the name; odd shard ids or sequence numbers are hashed. `extension` is the
 * format's (`.ndjson.gz`, or `.parquet` for events landed as Parquet).
 */
export function objectKey(
  dataset: 'events' | 'errors',
  partition: string,
  shardId: string,
  firstSequenceNumber: string,
  suffix = '',
  extension: string = NDJSON_GZIP.extension,
): string {
  const shard = SHARD_ID.test(shardId) ? shardId : `shard-${digest(shardId)}`;
  const seq = SEQUENCE_NUMBER.test(firstSequenceNumber)
    ? firstSequenceNumber
    : `seq-${digest(firstSequenceNumber)}`;
  return `${dataset}/${partition}/${shard}-${seq}${suffix}${extension}`;
}

/** The NDJSON gzip body of an object. */
export async function encodeLines(
  lines: readonly string[],
  level = DEFAULT_COMPRESSION_LEVEL,
): Promise<Buffer> {
  return gzip(`${lines.join('\n')}\n`, { level });
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** The shard id in a Lambda Kinesis record's `eventID` (`shardId-000000000000:4959…`). */
export function shardIdOf(eventId: string): string {
  const colon = eventId.indexOf(':');
  return colon === -1 ? eventId : eventId.slice(0, colon);
}
