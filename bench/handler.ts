/**
 * The consumer handler's cost per event, on simulated events: `parseEventRecord` alone, and the whole
 * handler (parse, encode, gzip) into a store that keeps nothing. Prints the best of several rounds.
 *
 *   node --import tsx bench/handler.ts [events]
 */
import type { KinesisStreamRecord } from 'aws-lambda';
import { createHandler } from '../src/consumer/index.js';
import type { ObjectStore } from '../src/core/ports.js';
import { parseEventRecord } from '../src/event/index.js';
import { Simulator } from '../src/producer/index.js';

const EVENTS = Number(process.argv[2] ?? 100_000);
const BATCH = 5_000;
const ROUNDS = 7;
const ARN = 'arn:aws:kinesis:us-east-1:123456789012:stream/bench';

const simulator = new Simulator({ users: 1_000, seed: 42 });
const now = Date.now();
const records: KinesisStreamRecord[] = [];
const raw: Buffer[] = [];
for (let i = 0; i < EVENTS; i++) {
  const { partitionKey, data } = simulator.nextEncoded();
  raw.push(data);
  const sequenceNumber = String(49_000_000_000_000n + BigInt(i));
  records.push({
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey,
      sequenceNumber,
      data: data.toString('base64'),
      approximateArrivalTimestamp: now / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `shardId-000000000000:${sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: 'arn:aws:iam::123456789012:role/bench',
    awsRegion: 'us-east-1',
    eventSourceARN: ARN,
  });
}

const nullStore: ObjectStore = {
  url: 'null://',
  connect: async () => {},
  put: async () => {},
  get: async () => new Uint8Array(),
  list: async function* () {},
  delete: async () => {},
  close: async () => {},
};

function parseRound(): number {
  const context = { receivedAt: now, fallbackId: () => 'id' };
  const started = performance.now();
  let ok = 0;
  for (const data of raw) if (parseEventRecord(data, context).ok) ok++;
  const elapsed = performance.now() - started;
  if (ok !== raw.length) throw new Error(`only ${ok} of ${raw.length} simulated events parsed`);
  return (elapsed * 1000) / raw.length;
}

async function handlerRound(): Promise<number> {
  const handler = createHandler({ store: nullStore });
  const started = performance.now();
  for (let i = 0; i < records.length; i += BATCH) {
    const result = await handler({ Records: records.slice(i, i + BATCH) });
    if (result.batchItemFailures.length > 0) throw new Error('the handler reported a failure');
  }
  return ((performance.now() - started) * 1000) / records.length;
}

const parse: number[] = [];
const handler: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  parse.push(parseRound());
  handler.push(await handlerRound());
}
const best = (values: number[]) => Math.min(...values).toFixed(3);
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]?.toFixed(3);
console.log(
  `${EVENTS} simulated events: parseEventRecord ${best(parse)} µs/event (median ${median(parse)}), handler ${best(handler)} µs/event (median ${median(handler)})`,
);
