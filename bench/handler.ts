/**
 * `node --import tsx bench/handler.ts [--json]`: the consumer handler's cost per event, in µs, over
 * 100,000 simulated events (BENCH_HANDLER_EVENTS) handed to it in Lambda-shaped batches of 5,000 (the
 * local runner's default), landing NDJSON gzip into a store that keeps nothing, so only the handler's
 * own work (decode, parse, partition, group, serialise, gzip) is timed. Three event-time shapes:
 * `live` (every event in one hour), `backfill` (48 hours in order) and `interleaved` (each event in
 * another of 24 hours than the one before it, the worst case for anything that remembers the last
 * hour). Each shape runs five times after a warm-up; the median is printed, as CPU time (the process's
 * user and system time, gzip's worker threads included), which other work on a shared machine disturbs
 * far less than it does the elapsed time, printed beside it.
 */
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { createHandler } from '../src/consumer/index.js';
import { Simulator } from '../src/producer/index.js';
import { discardStore } from './support.js';

const EVENTS = Number(process.env.BENCH_HANDLER_EVENTS ?? 100_000);
const BATCH = 5_000;
const RUNS = 5;
const HOUR_MS = 3_600_000;
const ARRIVAL_MS = Date.parse('2026-11-25T23:59:59.000Z');
const STREAM_ARN = 'arn:aws:kinesis:us-east-2:123456789012:stream/bench';
const json = process.argv.includes('--json');

const SHAPES: Record<string, (i: number) => number> = {
  live: (i) => ARRIVAL_MS - HOUR_MS + (i % 3_000_000),
  backfill: (i) => ARRIVAL_MS - 48 * HOUR_MS + Math.floor((i * 48 * HOUR_MS) / EVENTS),
  interleaved: (i) => ARRIVAL_MS - 24 * HOUR_MS + (i % 24) * HOUR_MS + (i % 1000),
};

function batches(shape: (i: number) => number): KinesisStreamEvent[] {
  let i = 0;
  const simulator = new Simulator({ users: 1000, seed: 'handler-bench', now: () => shape(i) });
  const events: KinesisStreamEvent[] = [];
  for (let start = 0; start < EVENTS; start += BATCH) {
    const records: KinesisStreamRecord[] = [];
    for (; i < Math.min(start + BATCH, EVENTS); i++) {
      const { partitionKey, data } = simulator.nextEncoded();
      const sequenceNumber = String(49_000_000_000 + i);
      records.push({
        kinesis: {
          kinesisSchemaVersion: '1.0',
          partitionKey,
          sequenceNumber,
          data: data.toString('base64'),
          approximateArrivalTimestamp: ARRIVAL_MS / 1000,
        },
        eventSource: 'aws:kinesis',
        eventVersion: '1.0',
        eventID: `shardId-000000000000:${sequenceNumber}`,
        eventName: 'aws:kinesis:record',
        invokeIdentityArn: 'arn:aws:iam::123456789012:role/bench',
        awsRegion: 'us-east-2',
        eventSourceARN: STREAM_ARN,
      });
    }
    events.push({ Records: records });
  }
  return events;
}

interface Run {
  /** CPU µs per event. */
  cpu: number;
  /** Elapsed µs per event. */
  wall: number;
}

async function timeRun(input: readonly KinesisStreamEvent[]): Promise<Run> {
  let landed = 0;
  const handler = createHandler({ store: discardStore, onBatch: (stats) => (landed += stats.events) });
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (const event of input) await handler(event);
  const elapsed = performance.now() - started;
  const used = process.cpuUsage(cpu);
  if (landed !== EVENTS) throw new Error(`landed ${landed} of ${EVENTS} events: the bench is broken`);
  return { cpu: (used.user + used.system) / EVENTS, wall: (elapsed * 1000) / EVENTS };
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

const results: Record<string, Run> = {};
for (const [name, shape] of Object.entries(SHAPES)) {
  const input = batches(shape);
  await timeRun(input);
  const runs: Run[] = [];
  for (let run = 0; run < RUNS; run++) runs.push(await timeRun(input));
  const result = { cpu: median(runs.map((r) => r.cpu)), wall: median(runs.map((r) => r.wall)) };
  results[name] = result;
  if (!json)
    console.log(
      `${name.padEnd(12)} ${result.cpu.toFixed(2)} µs CPU/event, ${result.wall.toFixed(2)} µs elapsed (CPU runs ${runs.map((r) => r.cpu.toFixed(2)).join(' ')})`,
    );
}
if (json) console.log(JSON.stringify({ events: EVENTS, batch: BATCH, micros_per_event: results }));
