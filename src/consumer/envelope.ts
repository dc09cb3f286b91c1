/**
 * The Lambda envelope of Kinesis records, built once and taken apart once: the local runner builds
 * the event only when it invokes the handler, the handler takes each record apart with
 * `fromKinesisRecord`, and both speak `RawRecord` to the failure destination.
 */
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { StreamRecord } from '../core/ports.js';
import type { RawRecord } from '../layout/index.js';

/** The identity the local runner invokes the handler as; Lambda sets the function's role here. */
const LOCAL_INVOKE_IDENTITY = 'arn:aws:iam::000000000000:role/activity-consumer';

/** Where records were read: the Lambda envelope's fields that are the same for a whole shard. */
export interface RecordSource {
  shardId: string;
  streamArn: string;
  awsRegion: string;
}

/** A stream record shaped exactly as Lambda delivers it to a Kinesis-triggered function. */
export function toLambdaRecord(record: StreamRecord, source: RecordSource): KinesisStreamRecord {
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: record.partitionKey,
      sequenceNumber: record.sequenceNumber,
      data: base64Of(record.data),
      approximateArrivalTimestamp: record.approximateArrivalTimestamp.getTime() / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${source.shardId}:${record.sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: LOCAL_INVOKE_IDENTITY,
    awsRegion: source.awsRegion,
    eventSourceARN: source.streamArn,
  };
}

/** The Lambda event of one invocation: built only when the handler is invoked. */
export function toLambdaEvent(records: readonly StreamRecord[], source: RecordSource): KinesisStreamEvent {
  return { Records: records.map((record) => toLambdaRecord(record, source)) };
}

/** A record read from the stream as `errors/` keeps it (for the failure destination). */
export function rawOfStreamRecord(record: StreamRecord, shardId: string): RawRecord {
  return {
    shardId,
    sequenceNumber: record.sequenceNumber,
    partitionKey: record.partitionKey,
    arrivalMs: record.approximateArrivalTimestamp.getTime(),
    data: base64Of(record.data),
  };
}

/**
 * A record of a Lambda event as `errors/` keeps it: the one place the envelope is taken apart. A
 * caller taking apart a whole batch passes one `ShardIds`, which spares a new shard id per record.
 */
export function fromKinesisRecord(record: KinesisStreamRecord, shardIds?: ShardIds): RawRecord {
  return {
    shardId: shardIds === undefined ? shardIdOf(record.eventID) : shardIds.of(record.eventID),
    sequenceNumber: record.kinesis.sequenceNumber,
    partitionKey: record.kinesis.partitionKey,
    arrivalMs: Math.round(record.kinesis.approximateArrivalTimestamp * 1000),
    data: record.kinesis.data,
  };
}

/** The shard id in a Lambda Kinesis record's `eventID` (`shardId-000000000000:4959…`). */
export function shardIdOf(eventId: string): string {
  const colon = eventId.indexOf(':');
  return colon === -1 ? eventId : eventId.slice(0, colon);
}

/**
 * `shardIdOf` for the records of one batch, which mostly come from one shard: while the `eventID`s
 * begin with the last shard id found, that same string is the answer.
 */
export class ShardIds {
  #last = '';

  of(eventId: string): string {
    const last = this.#last;
    if (last !== '' && eventId.charCodeAt(last.length) === 0x3a && eventId.startsWith(last)) return last;
    this.#last = shardIdOf(eventId);
    return this.#last;
  }
}

/** The size Lambda counts against its 6 MB payload limit for a record, near enough: base64 data. */
export function recordPayloadBytes(record: StreamRecord): number {
  return Math.ceil(record.data.byteLength / 3) * 4 + record.partitionKey.length + 400;
}

function base64Of(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
}
