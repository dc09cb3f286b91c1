import { createRequire } from 'node:module';

/** A user record for the reference aggregator. */
export interface KplUserRecordInput {
  partitionKey: string;
  data: Uint8Array;
  explicitHashKey?: string;
}

// awslabs' reference implementation of the KPL aggregation format (CommonJS; its declarations leave
// out the aggregator).
const reference = createRequire(import.meta.url)('aws-kinesis-agg') as {
  RecordAggregator: new () => {
    addUserRecord(record: KplUserRecordInput): void;
    build(): { partitionKey: string; data: Buffer } | undefined;
  };
  deaggregateSync(
    record: { data: string; partitionKey: string; sequenceNumber: string },
    computeChecksums: boolean,
    done: (error: Error | null, records?: { partitionKey: string; data: string }[]) => void,
  ): void;
};

/** One Kinesis record (its partition key and data) holding `records`, made by the reference aggregator. */
export function kplAggregate(records: readonly KplUserRecordInput[]): { partitionKey: string; data: Buffer } {
  const aggregator = new reference.RecordAggregator();
  for (const record of records) aggregator.addUserRecord({ ...record });
  const built = aggregator.build();
  if (built === undefined) throw new Error('the reference aggregator built nothing');
  return built;
}

/** The reference decoder's user records (partition key and base64 data). */
export function referenceDeaggregate(data: Uint8Array): { partitionKey: string; data: string }[] {
  let out: { partitionKey: string; data: string }[] | undefined;
  reference.deaggregateSync(
    { data: Buffer.from(data).toString('base64'), partitionKey: 'outer', sequenceNumber: '1' },
    true,
    (error, records) => {
      if (error) throw error;
      out = records;
    },
  );
  if (out === undefined) throw new Error('the reference decoder returned nothing');
  return out;
}
