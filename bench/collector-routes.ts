/**
 * `npm run bench:collector-routes`: what each ingest route costs per event, in one process. The same
 * events go through ours (`/v1/events`), Segment's `/v1/batch` and Snowplow's tp2 (structured events,
 * and self-describing ones with `ue_px` and `cx`) into one collector of the built code (`dist/`, as
 * `activity collect` runs it), by Fastify's `inject`, on a stream that takes every record at once:
 * only the routes' own work is timed (parse, map, validate, serialise, hand to the producer), not the
 * network or the stream. The rounds take the routes in turn, so a change of the machine's load falls
 * on all of them. A route's figures are the medians of its rounds: events per second of CPU time the
 * process used (what the route costs, whatever else the machine runs), events per wall-clock second,
 * and its share of ours (the median of the rounds' ratios by CPU time). With --json, ends with one
 * JSON line.
 *
 * A protocol's events land larger than ours (library context, tracker fields, contexts), and larger
 * events cost more to validate and serialise in any route. So each protocol route has a baseline of
 * the same size: ours sent the very events that route landed (`… as landed`), and the protocol's share
 * of that baseline is what its protocol costs beyond the size of what it lands.
 *
 * BENCH_ROUTE_EVENTS (events a route a round, default 20,000), BENCH_ROUTE_ROUNDS (default 7),
 * BENCH_ROUTE_CONCURRENCY (requests in flight, default 8); `--only NAME` runs the route named NAME,
 * or those whose name holds it, beside ours, and `--alone` without it, for a profile of one route
 * (`npm run build && node --cpu-prof --import tsx bench/collector-routes.ts --only ue_px --alone`).
 * `--against DIR` runs a second collector, built in the checkout at DIR (`npx tsc -p
 * tsconfig.build.json` there), in the same process, its rounds interleaved with this tree's, and gives
 * this tree's events per CPU second over that one's, route by route: a change measured in one process.
 */

import path from 'node:path';
import { type Collector, createCollector } from '../dist/collector/index.js';
import type { PutEntryResult, RecordToPut, StreamWriter } from '../dist/core/ports.js';
import { BATCH, batches, PROTOCOLS, type Protocol } from './collector-routes-load.js';
import { load } from './machine.js';
import { median } from './support.js';

const EVENTS = Number(process.env.BENCH_ROUTE_EVENTS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUTE_ROUNDS ?? 7);
const CONCURRENCY = Number(process.env.BENCH_ROUTE_CONCURRENCY ?? 8);
const json = process.argv.includes('--json');
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const alone = process.argv.includes('--alone');
const against = process.argv.includes('--against')
  ? process.argv[process.argv.indexOf('--against') + 1]
  : undefined;

/**
 * A stream that accepts every record at once, so the stream's own work is not timed. It keeps none,
 * but hands each to `seen` while one is set.
 */
function discardStream(): StreamWriter & { seen?: (data: Uint8Array) => void } {
  let sequence = 0;
  const stream: StreamWriter & { seen?: (data: Uint8Array) => void } = {
    connect: async () => undefined,
    close: async () => undefined,
    putRecords: async (records: readonly RecordToPut[]) => {
      for (const record of records) stream.seen?.(record.data);
      return {
        failedRecordCount: 0,
        records: records.map(
          (): PutEntryResult => ({
            ok: true,
            shardId: 'shardId-000000000000',
            sequenceNumber: String(++sequence),
          }),
        ),
      };
    },
  };
  return stream;
}

/**
 * Ours, sending the events `route` landed from `bodies`, as a producer of ours would send them: the
 * client's own time and `sent_at`, so the collector corrects the skew as it did, and without what it
 * adds itself (`received_at`, the user agent). What lands is the same, byte for byte but the times.
 */
async function asLanded(
  collector: Collector,
  stream: ReturnType<typeof discardStream>,
  route: Protocol,
  bodies: string[],
): Promise<Protocol & { bodies: string[] }> {
  const landed: string[] = [];
  for (const body of bodies) {
    const events: Record<string, unknown>[] = [];
    stream.seen = (data) => events.push(JSON.parse(Buffer.from(data).toString('utf8')));
    await send(collector, route, [body], 1);
    stream.seen = undefined;
    const sentAt = events[0]?.sent_at;
    const batch = events.map(({ received_at, sent_at, original_timestamp, timestamp, ...event }) => {
      const { user_agent, ...context } = event.context as Record<string, unknown>;
      return { ...event, timestamp: original_timestamp ?? timestamp, context };
    });
    landed.push(JSON.stringify({ batch, sent_at: sentAt }));
  }
  const ours = PROTOCOLS[0] as Protocol;
  return { name: `ours, as ${route.name} landed`, path: ours.path, body: ours.body, bodies: landed };
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
  /** Of ours sending the events this route landed, by CPU time: what the protocol costs beyond size. */
  ratio_as_landed?: number;
  /** Bytes of a request body, and of an event as it lands, on average. */
  body_bytes_per_event: number;
  landed_bytes_per_event: number;
  rounds_events_per_cpu_s: number[];
}

/** The bytes an event of `bodies` lands as, on average, and the bytes it takes in a body. */
async function sizes(
  collector: Collector,
  stream: ReturnType<typeof discardStream>,
  route: Protocol,
  bodies: string[],
): Promise<{ body: number; landed: number }> {
  let landed = 0;
  let events = 0;
  stream.seen = (data) => {
    landed += data.byteLength;
    events++;
  };
  for (const body of bodies) await send(collector, route, [body], 1);
  stream.seen = undefined;
  const body = bodies.reduce((sum, b) => sum + Buffer.byteLength(b), 0) / (bodies.length * BATCH);
  return { body, landed: landed / events };
}

interface Route {
  route: Protocol;
  bodies: string[];
  /** The route sending the same landed events through ours, for a protocol route. */
  asLanded?: number;
}

/** The routes to run: ours first, then each protocol's, each followed by ours sending what it landed. */
async function routesToRun(collector: Collector, stream: ReturnType<typeof discardStream>): Promise<Route[]> {
  const load50 = batches();
  const sentAt = Date.now();
  const routes: Route[] = [];
  // A name given whole picks that route alone (the structured tp2 route's name begins the other's).
  const exact = PROTOCOLS.some((p) => p.name === only);
  const picked = (name: string) => only === undefined || (exact ? name === only : name.includes(only));
  for (const [i, protocol] of PROTOCOLS.entries()) {
    const bodies = load50.map((batch) => protocol.body(batch, sentAt));
    if (i === 0) {
      if (!alone || picked(protocol.name)) routes.push({ route: protocol, bodies });
      continue;
    }
    if (!picked(protocol.name)) continue;
    const own: Route = { route: protocol, bodies };
    routes.push(own);
    const baseline = await asLanded(collector, stream, protocol, bodies);
    if (alone) continue;
    own.asLanded = routes.length;
    routes.push({ route: baseline, bodies: baseline.bodies });
  }
  return routes;
}

/** A collector under test: this tree's build, or the one `--against` names. */
interface Tree {
  name: string;
  collector: Collector;
  stream: ReturnType<typeof discardStream>;
  /** Events per wall-clock second and per CPU second, by route, a figure a round. */
  rates: number[][];
  cpuRates: number[][];
}

async function startTree(name: string, create: typeof createCollector): Promise<Tree> {
  const stream = discardStream();
  const collector = await create({ stream, producer: { lingerMs: 0 } });
  return { name, collector, stream, rates: [], cpuRates: [] };
}

/** Runs every route on every tree, `ROUNDS` times after a warm-up, each round in another order. */
async function runRounds(trees: Tree[], routes: Route[], requests: number): Promise<void> {
  for (const tree of trees) {
    tree.rates = routes.map(() => []);
    tree.cpuRates = routes.map(() => []);
    // Warm-up: JIT, Fastify's route caches.
    for (const { route, bodies } of routes) await send(tree.collector, route, bodies, requests);
  }
  const runs = routes.flatMap((_, i) => trees.map((tree) => ({ tree, i })));
  for (let round = 0; round < ROUNDS; round++) {
    // Each round starts with another run, so none always runs after the same one (and its garbage).
    for (let step = 0; step < runs.length; step++) {
      const { tree, i } = runs[(round + step) % runs.length] as (typeof runs)[number];
      const { route, bodies } = routes[i] as Route;
      const started = performance.now();
      const cpu = process.cpuUsage();
      await send(tree.collector, route, bodies, requests);
      const { user, system } = process.cpuUsage(cpu);
      tree.rates[i]?.push((requests * BATCH) / ((performance.now() - started) / 1000));
      tree.cpuRates[i]?.push((requests * BATCH) / ((user + system) / 1e6));
    }
  }
}

/** The median over the rounds of `own`'s ratio to `of` in the same round. */
function share(own: number[], of: number[]): number {
  return Math.round(median(own.map((rate, round) => rate / (of[round] as number))) * 1000) / 1000;
}

function figuresOf(
  tree: Tree,
  routes: Route[],
  byteSizes: { body: number; landed: number }[],
): RouteFigures[] {
  const ours = tree.cpuRates[0] as number[];
  return routes.map(({ route, asLanded }, i) => {
    const own = tree.cpuRates[i] as number[];
    const size = byteSizes[i] as { body: number; landed: number };
    return {
      route: route.name,
      events_per_s: Math.round(median(tree.rates[i] as number[])),
      events_per_cpu_s: Math.round(median(own)),
      ratio: share(own, ours),
      ...(asLanded === undefined ? {} : { ratio_as_landed: share(own, tree.cpuRates[asLanded] as number[]) }),
      body_bytes_per_event: Math.round(size.body),
      landed_bytes_per_event: Math.round(size.landed),
      rounds_events_per_cpu_s: own.map(Math.round),
    };
  });
}

function printFigures(figures: RouteFigures[]): void {
  process.stdout.write(
    `${'route'.padEnd(58)} ${'events/CPU-s'.padStart(12)} ${'events/s'.padStart(9)} ${'of ours'.padStart(7)} ${'as landed'.padStart(9)} ${'bytes sent'.padStart(10)} ${'landed'.padStart(6)}\n`,
  );
  for (const f of figures) {
    process.stdout.write(
      `${f.route.padEnd(58)} ${f.events_per_cpu_s.toLocaleString('en-US').padStart(12)} ${f.events_per_s.toLocaleString('en-US').padStart(9)} ${percent(f.ratio).padStart(7)} ${(f.ratio_as_landed === undefined ? '' : percent(f.ratio_as_landed)).padStart(9)} ${String(f.body_bytes_per_event).padStart(10)} ${String(f.landed_bytes_per_event).padStart(6)}\n`,
    );
  }
}

const percent = (ratio: number) => `${Math.round(ratio * 100)} %`;

async function main(): Promise<void> {
  const requests = Math.ceil(EVENTS / BATCH);
  const trees = [await startTree('this tree', createCollector)];
  if (against !== undefined) {
    const other = (await import(path.resolve(against, 'dist/collector/index.js'))) as {
      createCollector: typeof createCollector;
    };
    trees.push(await startTree(against, other.createCollector));
  }
  const [here] = trees as [Tree];
  const loadBefore = load();
  let routes: Route[] = [];
  const byteSizes: { body: number; landed: number }[] = [];
  try {
    routes = await routesToRun(here.collector, here.stream);
    for (const { route, bodies } of routes) {
      byteSizes.push(await sizes(here.collector, here.stream, route, bodies));
    }
    await runRounds(trees, routes, requests);
  } finally {
    for (const tree of trees) await tree.collector.close();
  }
  const loadAfter = load();
  process.stdout.write(
    `each route in one process, ${requests * BATCH} events a round in batches of ${BATCH}, ${CONCURRENCY} requests in flight, ${ROUNDS} rounds; load ${loadBefore} → ${loadAfter}\n`,
  );
  const figures = trees.map((tree) => figuresOf(tree, routes, byteSizes));
  for (const [t, tree] of trees.entries()) {
    if (trees.length > 1) process.stdout.write(`${tree.name}:\n`);
    printFigures(figures[t] as RouteFigures[]);
  }
  const other = trees[1];
  // This tree's events per CPU second over the other's, the median of the rounds' ratios.
  const againstRatios =
    other === undefined
      ? undefined
      : routes.map(({ route }, i) => ({
          route: route.name,
          ratio: share(here.cpuRates[i] as number[], other.cpuRates[i] as number[]),
        }));
  if (againstRatios !== undefined) {
    process.stdout.write(`this tree against ${against}, events per CPU second:\n`);
    for (const { route, ratio } of againstRatios) {
      process.stdout.write(`${route.padEnd(58)} ${ratio.toFixed(2).padStart(6)} ×\n`);
    }
  }
  if (json) {
    const summary = {
      events: requests * BATCH,
      batch: BATCH,
      concurrency: CONCURRENCY,
      rounds: ROUNDS,
      load: [loadBefore, loadAfter],
      routes: figures[0],
      ...(againstRatios === undefined
        ? {}
        : { against: { tree: against, routes: figures[1], ratios: againstRatios } }),
    };
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  }
}

await main();
