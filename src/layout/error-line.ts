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
export function errorLine(record: RawRecord, reason: string, message: string, streamArn: string): string {
  return JSON.stringify({
    reason,
    message,
    shard_id: record.shardId,
    sequence_number: record.sequenceNumber,
    // Left out of plain records' lines: JSON.stringify drops undefined values.
    sub_sequence_number: record.subSequenceNumber,
    partition_key: record.partitionKey,
    approximate_arrival_timestamp: new Date(record.arrivalMs).toISOString(),
    event_source_arn: streamArn,
    data: record.data,
  });
}
