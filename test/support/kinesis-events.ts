import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';

export const STREAM_ARN = 'arn:aws:kinesis:us-east-2:123456789012:stream/lambda-stream';

/** A Kinesis record as Lambda delivers it, with the given bytes. */
export function kinesisRecord(
  data: Uint8Array | string,
  sequenceNumber: string,
  options: { shardId?: string; partitionKey?: string; arrivalMs?: number } = {},
): KinesisStreamRecord {
  const shardId = options.shardId ?? 'shardId-000000000000';
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: options.partitionKey ?? 'pk',
      sequenceNumber,
      data: Buffer.from(data).toString('base64'),
      approximateArrivalTimestamp: (options.arrivalMs ?? Date.parse('2026-11-25T19:31:12.041Z')) / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${shardId}:${sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: 'arn:aws:iam::123456789012:role/lambda-role',
    awsRegion: 'us-east-2',
    eventSourceARN: STREAM_ARN,
  };
}

/** AWS's documented sample Kinesis event for Lambda: its data is "Hello, this is a test." — not JSON. */
export const AWS_SAMPLE_EVENT: KinesisStreamEvent = {
  Records: [
    {
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: '1',
        sequenceNumber: '49590338271490256608559692538361571095921575989136588898',
        data: 'SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg==',
        approximateArrivalTimestamp: 1545084650.987,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: 'shardId-000000000006:49590338271490256608559692538361571095921575989136588898',
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::123456789012:role/lambda-role',
      awsRegion: 'us-east-2',
      eventSourceARN: 'arn:aws:kinesis:us-east-2:123456789012:stream/lambda-stream',
    },
  ],
};

export function eventOf(records: KinesisStreamRecord[]): KinesisStreamEvent {
  return { Records: records };
}

/** A valid activity event's JSON bytes. */
export function activityJson(fields: Record<string, unknown> = {}): string {
  return JSON.stringify({
    user_id: 'user_1',
    event: 'click',
    timestamp: '2026-11-25T19:31:12.000Z',
    ...fields,
  });
}
