import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { StreamRecord } from '../../core/ports.js';

/** The identity the local runner invokes the handler as; Lambda sets the function's role here. */
const LOCAL_INVOKE_IDENTITY = 'arn:aws:iam::000000000000:role/activity-consumer';

/** A stream record shaped exactly as Lambda delivers it to a Kinesis-triggered function. */
export function toLambdaRecord(
  record: StreamRecord,
  shardId: string,
  streamArn: string,
  awsRegion: string,
): KinesisStreamRecord {
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: record.partitionKey,
      sequenceNumber: record.sequenceNumber,
      data: Buffer.from(record.data.buffer, record.data.byteOffset, record.data.byteLength).toString(
        'base64',
      ),
      approximateArrivalTimestamp: record.approximateArrivalTimestamp.getTime() / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${shardId}:${record.sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: LOCAL_INVOKE_IDENTITY,
    awsRegion,
    eventSourceARN: streamArn,
  };
}

export function toLambdaEvent(records: KinesisStreamRecord[]): KinesisStreamEvent {
  return { Records: records };
}

/** The size Lambda counts against its 6 MB payload limit, near enough. */
export function recordPayloadBytes(record: KinesisStreamRecord): number {
  return record.kinesis.data.length + record.kinesis.partitionKey.length + 400;
}
