/**
 * `npm run bench:collector-routes`: what each ingest route costs per event, in one process. The same
 * events go through ours (`/v1/events`), Segment's `/v1/batch` and Snowplow's tp2 (structured events,
 * and self-describing ones with `ue_px` and `cx`) into one collector, by Fastify's `inject`, on a stream
 * that takes every record at once: only the routes' own work is timed (parse, map, validate,
 * serialise, hand to the producer), not the network or the stream. The rounds take the routes in turn,
 * so a change of the machine's load falls on all of them. A route's figures are the medians of its
 * rounds: events per second of CPU time the process used (what the route costs, whatever else the
 * machine runs), events per wall-clock second, and its share of ours (the median of the rounds' ratios
 * by CPU time). With --json, ends with one JSON line.
 *
 * BENCH_ROUTE_EVENTS (events a route a round, default 20,000), BENCH_ROUTE_ROUNDS (default 7),
 * BENCH_ROUTE_CONCURRENCY (requests in flight, default 8); `--only NAME` runs the routes whose name
 * holds NAME, for a profile (`node --cpu-prof --import tsx bench/collector-routes.ts --only tp2`).
 */

import { type Collector, createCollector } from '../src/collector/index.js';
import type { PutEntryResult, RecordToPut, StreamWriter } from '../src/core/ports.js';
import { BATCH, batches, PROTOCOLS, type Protocol } from './collector-routes-load.js';
import { load } from './machine.js';

const EVENTS = Number(process.env.BENCH_ROUTE_EVENTS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUTE_ROUNDS ?? 7);
const CONCURRENCY = Number(process.env.BENCH_ROUTE_CONCURRENCY ?? 8);
const json = process.argv.includes('--json');
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;

/** A stream that accepts every record at once and keeps none, so the stream's own work is not timed. */
function discardStream(): StreamWriter {
  let sequence = 0;
  return {
    connect: async () => undefined,
    close: async () => undefined,
    putRecords: async (records: readonly RecordToPut[]) => ({
      failedRecordCount: 0,
      records: records.map(
        (): PutEntryResult => ({
          ok: true,
          shardId: 'shardId-000000000000',
          sequenceNumber: String(++sequence),
        }),
      ),
    }),
  };
}

/** Sends `requests` bodies to `path`, `CONCURRENCY` at a time; every one must be accepted whole. */
async function send(
  collector: Collector,
  route: Protocol,
  bodies: string[],
  requests: number,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < requests) {
      const payload = bodies[next++ % bodies.length] as string;
      const response = await collector.app.inject({
        method: 'POST',
        url: route.path,
        headers: { 'content-type': 'application/json', 'user-agent': 'bench' },
        payload,
      });
      const accepted = (response.json() as { accepted: unknown }).accepted;
      const count = Array.isArray(accepted) ? accepted.length : accepted;
      if (response.statusCode !== 200 || count !== BATCH) {
        throw new Error(`${route.name}: ${response.statusCode} ${response.body.slice(0, 300)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

interface RouteFigures {
  route: string;
  /** Events over the wall-clock time of a round: the machine's load lowers it. */
  events_per_s: number;
  /** Events over the process's CPU time (user and system, GC threads included) of a round. */
  events_per_cpu_s: number;
  /** Of ours, by CPU time: the median of the rounds' ratios. */
  ratio: number;
  rounds_events_per_cpu_s: number[];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

async function main(): Promise<void> {
  const routes = PROTOCOLS.filter((p, i) => i === 0 || only === undefined || p.name.includes(only));
  const load50 = batches();
  const sentAt = Date.now();
  const bodies = routes.map((route) => load50.map((batch) => route.body(batch, sentAt)));
  const requests = Math.ceil(EVENTS / BATCH);
  const collector = await createCollector({ stream: discardStream(), producer: { lingerMs: 0 } });
  const loadBefore = load();
  const rates: number[][] = routes.map(() => []);
  const cpuRates: number[][] = routes.map(() => []);
  try {
    // Warm-up: JIT, Fastify's route caches.
    for (const [i, route] of routes.entries()) await send(collector, route, bodies[i] as string[], requests);
    for (let round = 0; round < ROUNDS; round++) {
      // Each round starts with another route, so none always runs after the same one (and its garbage).
      for (let step = 0; step < routes.length; step++) {
        const i = (round + step) % routes.length;
        const started = performance.now();
        const cpu = process.cpuUsage();
        await send(collector, routes[i] as Protocol, bodies[i] as string[], requests);
        const { user, system } = process.cpuUsage(cpu);
        rates[i]?.push((requests * BATCH) / ((performance.now() - started) / 1000));
        cpuRates[i]?.push((requests * BATCH) / ((user + system) / 1e6));
      }
    }
  } finally {
    await collector.close();
  }
  const ours = cpuRates[0] as number[];
  const figures: RouteFigures[] = routes.map((route, i) => {
    const own = cpuRates[i] as number[];
    return {
      route: route.name,
      events_per_s: Math.round(median(rates[i] as number[])),
      events_per_cpu_s: Math.round(median(own)),
      ratio: Math.round(median(own.map((rate, round) => rate / (ours[round] as number))) * 1000) / 1000,
      rounds_events_per_cpu_s: own.map(Math.round),
    };
  });
  const loadAfter = load();
  process.stdout.write(
    `each route in one process, ${requests * BATCH} events a round in batches of ${BATCH}, ${CONCURRENCY} requests in flight, ${ROUNDS} rounds; load ${loadBefore} → ${loadAfter}\n`,
  );
  for (const f of figures) {
    process.stdout.write(
      `${f.route.padEnd(36)} ${f.events_per_cpu_s.toLocaleString('en-US').padStart(9)} events/CPU-s ${f.events_per_s.toLocaleString('en-US').padStart(9)} events/s  ${Math.round(
        f.ratio * 100,
      )
        .toString()
        .padStart(3)} % of ours\n`,
    );
  }
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ events: requests * BATCH, batch: BATCH, concurrency: CONCURRENCY, rounds: ROUNDS, load: [loadBefore, loadAfter], routes: figures })}\n`,
    );
  }
}

await main();
