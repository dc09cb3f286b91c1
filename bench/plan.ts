/**
 * `node --import tsx bench/plan.ts [--json]`: the cost of `TrackingPlan.check` per event, in µs, with
 * the shop's plan of ten events (`examples/shop-tracking-plan.json`) over 100,000 simulated events
 * (BENCH_PLAN_EVENTS), checked as the consumer checks them: once each, after parsing. Three policy
 * sets: the defaults (`allow` unplanned, `reject` violations), `reject` of unplanned properties (each
 * property looked up), and `drop` with one unplanned property in every event (each event copied).
 * Then the consumer handler's own cost per event (as bench/handler.ts measures it: Lambda-shaped
 * batches of 5,000, a store that keeps nothing) without a plan and with the shop's plan, and on the
 * same records with the sources of enrichment hidden: the ratio is enrichment's cost in the handler.
 * Last, `enrich` alone per event, and one user-agent parse that misses the cache.
 * Five runs each after a warm-up; the median CPU time per event is printed, the elapsed time beside it.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { createHandler } from '../src/consumer/index.js';
import { enrich, parseUserAgent, USER_AGENT_CACHE_SIZE } from '../src/enrich/index.js';
import type { ActivityEvent } from '../src/event/index.js';
import { type PlanFile, TrackingPlan } from '../src/plan/index.js';
import { Simulator } from '../src/producer/index.js';
import { discardStore } from './support.js';

const EVENTS = Number(process.env.BENCH_PLAN_EVENTS ?? 100_000);
const RUNS = 5;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const json = process.argv.includes('--json');

const file = JSON.parse(
  await readFile(path.join(root, 'examples/shop-tracking-plan.json'), 'utf8'),
) as PlanFile;
const simulator = new Simulator({ users: 1000, seed: 'plan-bench' });
const events: ActivityEvent[] = [];
for (let i = 0; i < EVENTS; i++) {
  const e = simulator.next();
  events.push({ ...e, received_at: e.timestamp, context: { ...e.context } });
}
const withExtra = events.map((e) => ({ ...e, properties: { ...e.properties, debug: true } }));

const CASES: Record<string, { policies: PlanFile['policies']; input: ActivityEvent[] }> = {
  defaults: { policies: {}, input: events },
  'reject unplanned properties': { policies: { unplanned_properties: 'reject' }, input: events },
  'drop an unplanned property': { policies: { unplanned_properties: 'drop' }, input: withExtra },
};

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

const results: Record<string, { cpu: number; wall: number; compileMs: number }> = {};
for (const [name, { policies, input }] of Object.entries(CASES)) {
  const compiling = performance.now();
  const plan = TrackingPlan.fromPlan({ ...file, policies }, 'shop plan');
  const compileMs = performance.now() - compiling;
  const run = () => {
    let passed = 0;
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (const event of input) if (plan.check(event).ok) passed++;
    const elapsed = performance.now() - started;
    const used = process.cpuUsage(cpu);
    if (passed !== input.length)
      throw new Error(`${input.length - passed} events failed the plan: the bench is broken`);
    return { cpu: (used.user + used.system) / input.length, wall: (elapsed * 1000) / input.length };
  };
  run();
  const runs = Array.from({ length: RUNS }, run);
  results[name] = { cpu: median(runs.map((r) => r.cpu)), wall: median(runs.map((r) => r.wall)), compileMs };
}

const BATCH = 5_000;
const arrival = Date.now();
const recordSimulator = new Simulator({ users: 1000, seed: 'plan-bench', now: () => arrival - 60_000 });
const batches: KinesisStreamEvent[] = [];
for (let start = 0; start < EVENTS; start += BATCH) {
  const records: KinesisStreamRecord[] = [];
  for (let i = start; i < Math.min(start + BATCH, EVENTS); i++) {
    const { partitionKey, data } = recordSimulator.nextEncoded();
    const sequenceNumber = String(49_000_000_000 + i);
    records.push({
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey,
        sequenceNumber,
        data: data.toString('base64'),
        approximateArrivalTimestamp: arrival / 1000,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `shardId-000000000000:${sequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::123456789012:role/bench',
      awsRegion: 'us-east-2',
      eventSourceARN: 'arn:aws:kinesis:us-east-2:123456789012:stream/bench',
    });
  }
  batches.push({ Records: records });
}

/**
 * The same records with the sources of enrichment renamed (`user_agent`, `url`, `referrer`, one
 * letter changed, so the bytes are as many): enrichment finds nothing to parse and returns at once.
 */
const unenriched: KinesisStreamEvent[] = batches.map((batch) => ({
  Records: batch.Records.map((record) => {
    const text = Buffer.from(record.kinesis.data, 'base64')
      .toString('utf8')
      .replace('"user_agent":', '"user_agenX":')
      .replace('"url":', '"urX":')
      .replace('"referrer":', '"referreX":');
    return { ...record, kinesis: { ...record.kinesis, data: Buffer.from(text).toString('base64') } };
  }),
}));

const handlerResults: Record<string, { cpu: number; wall: number }> = {};
const shopPlan = TrackingPlan.fromPlan(file, 'shop plan');
for (const [name, plan, input] of [
  ['handler without a plan', undefined, batches],
  ['handler with the shop plan', shopPlan, batches],
  ['handler, nothing to enrich', undefined, unenriched],
] as const) {
  const run = async () => {
    let landed = 0;
    const handler = createHandler({
      store: discardStore,
      onBatch: (stats) => (landed += stats.events),
      ...(plan === undefined ? {} : { plan }),
    });
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (const batch of input) await handler(batch);
    const elapsed = performance.now() - started;
    const used = process.cpuUsage(cpu);
    if (landed !== EVENTS) throw new Error(`landed ${landed} of ${EVENTS} events: the bench is broken`);
    return { cpu: (used.user + used.system) / EVENTS, wall: (elapsed * 1000) / EVENTS };
  };
  await run();
  const runs: { cpu: number; wall: number }[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await run());
  handlerResults[name] = { cpu: median(runs.map((r) => r.cpu)), wall: median(runs.map((r) => r.wall)) };
}

/**
 * CPU µs per call of `step` over the items `make` gives, the median of the runs after a warm-up. Each
 * run gets new items, as the handler gets newly parsed events: reusing one array's objects and strings
 * again and again measures less than the handler pays.
 */
function cpuPerCall<T>(make: () => readonly T[], step: (item: T) => unknown): number {
  const run = () => {
    const input = make();
    const cpu = process.cpuUsage();
    for (const item of input) step(item);
    const used = process.cpuUsage(cpu);
    return (used.user + used.system) / input.length;
  };
  run();
  return median(Array.from({ length: RUNS }, run));
}

// Enrichment alone, on events parsed anew for each run: its share of the handler's time, and what a
// cache miss costs (distinct user agents, twice as many as the cache holds, so every parse misses).
const enrichedShare = events.filter((e) => enrich(e) !== e).length / events.length;
const agents = [...new Set(events.map((e) => String(e.context?.user_agent)))];
const distinct = Array.from(
  { length: 2 * USER_AGENT_CACHE_SIZE },
  (_, i) => `${agents[i % agents.length]} build/${i}`,
);
const eventsText = JSON.stringify(events);
const enrichment = {
  enriched_share: enrichedShare,
  distinct_user_agents: agents.length,
  cpu_per_event: cpuPerCall(() => JSON.parse(eventsText) as ActivityEvent[], enrich),
  cpu_per_cache_miss: cpuPerCall(() => distinct, parseUserAgent),
};

if (json)
  process.stdout.write(
    `${JSON.stringify({ events: EVENTS, plan_events: 10, results, handler: handlerResults, enrichment })}\n`,
  );
else {
  process.stdout.write(
    `TrackingPlan.check, plan of 10 events, ${EVENTS} simulated events, median of ${RUNS}\n`,
  );
  for (const [name, r] of Object.entries(results)) {
    process.stdout.write(
      `  ${name.padEnd(30)} ${r.cpu.toFixed(2)} µs CPU/event  (${r.wall.toFixed(2)} µs elapsed; compiled in ${r.compileMs.toFixed(0)} ms)\n`,
    );
  }
  process.stdout.write(
    `The consumer handler, batches of ${BATCH}, NDJSON gzip into a store that keeps nothing\n`,
  );
  for (const [name, r] of Object.entries(handlerResults)) {
    process.stdout.write(
      `  ${name.padEnd(30)} ${r.cpu.toFixed(2)} µs CPU/event  (${r.wall.toFixed(2)} µs elapsed)\n`,
    );
  }
  const full = handlerResults['handler without a plan'];
  const bare = handlerResults['handler, nothing to enrich'];
  process.stdout.write(
    `Enrichment: ${(enrichment.enriched_share * 100).toFixed(0)} % of events enriched, ${enrichment.distinct_user_agents} distinct user agents\n` +
      `  enrich() alone                 ${enrichment.cpu_per_event.toFixed(2)} µs CPU/event\n` +
      `  a user-agent cache miss        ${enrichment.cpu_per_cache_miss.toFixed(2)} µs CPU\n` +
      (full === undefined || bare === undefined
        ? ''
        : `  handler with / without         ${(full.cpu / bare.cpu).toFixed(2)} × (${(full.cpu - bare.cpu).toFixed(2)} µs CPU/event)\n`),
  );
}
