/**
 * `npm run bench:collector`: sustained accepted events/s of `activity collect` on loopback, on the
 * embedded stream, driven by autocannon with batches of 50 events over several connections, for each
 * protocol it speaks (ours, Segment's `/v1/batch`, Snowplow's tp2 with structured events and with
 * self-describing ones in `ue_px` and `cx`) on the same load, each on a collector and stream of its
 * own. The protocols take turns in rounds (BENCH_ROUNDS, default 4, sharing BENCH_DURATION, default
 * 20 s a protocol), so a change of the machine's load falls on all of them; a figure is the median of
 * a protocol's rounds, and its share of ours the median of the rounds' ratios. Prints the figures;
 * with --json, ends with one JSON line. The collector runs as users run it (the built CLI, in its own
 * process); the load generator shares the machine, so the figures are a floor.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCli } from '../test/support/cli.js';
import { BATCH, batches, type LoadEvent, PROTOCOLS, type Protocol } from './collector-routes-load.js';
import { load as machineLoad } from './machine.js';
import { median } from './support.js';

/** The part of autocannon's API used here (it ships no type declarations). */
interface LoadResult {
  requests: { average: number };
  latency: { p50: number; p99: number; max: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  requests: {
    method: string;
    headers: Record<string, string>;
    setupRequest: (request: { body?: string }) => { body?: string };
  }[];
}) => Promise<LoadResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DURATION_S = Number(process.env.BENCH_DURATION ?? 20);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const json = process.argv.includes('--json');

async function acceptedSoFar(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const match = /^activity_collector_events_accepted_total (\d+)/m.exec(text);
  return Number(match?.[1] ?? 0);
}

function load(url: string, durationS: number, payloads: string[]): Promise<LoadResult> {
  let next = 0;
  return autocannon({
    url,
    connections: CONNECTIONS,
    duration: durationS,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'autocannon' },
        setupRequest: (request) => {
          request.body = payloads[next++ % payloads.length];
          return request;
        },
      },
    ],
  });
}

interface Figures {
  protocol: string;
  events_per_s: number;
  requests_per_s: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  /** Of ours: the median of the rounds' ratios of accepted events per second. */
  share_of_ours: number;
  non_2xx: number;
  errors: number;
  timeouts: number;
  rounds_events_per_s: number[];
}

/** One protocol's collector, running, and what each round of load measured on it. */
interface Target {
  protocol: Protocol;
  base: string;
  payloads: string[];
  stop: () => Promise<void>;
  rounds: { eventsPerS: number; result: LoadResult }[];
}

/** Starts `activity collect` on a fresh embedded stream for one protocol, and warms it up. */
async function start(protocol: Protocol, load50: LoadEvent[][]): Promise<Target> {
  const dir = await mkdtemp(path.join(tmpdir(), 'activity-bench-'));
  const { child, done } = startCli(['collect', '--port', '0', '--stream', path.join(dir, 'stream')], {
    cwd: root,
  });
  const stop = async () => {
    child.kill('SIGTERM');
    await done;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const base = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /listening on (http:\/\/[^,\s]+)/.exec(out);
        if (match?.[1]) resolve(match[1]);
      });
      void done.then((result) => reject(new Error(`activity collect exited: ${result.stderr}`)));
    });
    const sentAt = Date.now();
    const payloads = load50.map((batch) => protocol.body(batch, sentAt));
    await load(`${base}${protocol.path}`, 3, payloads); // warm-up: JIT, SQLite pages, connections
    return { protocol, base, payloads, stop, rounds: [] };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Loads one target for `seconds`, counting the events its collector accepted meanwhile. */
async function round(target: Target, seconds: number): Promise<void> {
  const before = await acceptedSoFar(target.base);
  const result = await load(`${target.base}${target.protocol.path}`, seconds, target.payloads);
  const accepted = (await acceptedSoFar(target.base)) - before;
  target.rounds.push({ eventsPerS: accepted / seconds, result });
}

/** A protocol's figures: medians over its rounds; its share of ours from the rounds taken side by side. */
function figuresOf(target: Target, ours: Target): Figures {
  const { rounds } = target;
  const sum = (pick: (r: LoadResult) => number) => rounds.reduce((total, r) => total + pick(r.result), 0);
  return {
    protocol: target.protocol.name,
    events_per_s: Math.round(median(rounds.map((r) => r.eventsPerS))),
    requests_per_s: Math.round(median(rounds.map((r) => r.result.requests.average))),
    p50_ms: median(rounds.map((r) => r.result.latency.p50)),
    p99_ms: median(rounds.map((r) => r.result.latency.p99)),
    max_ms: Math.max(...rounds.map((r) => r.result.latency.max)),
    share_of_ours:
      Math.round(
        median(rounds.map((r, i) => r.eventsPerS / (ours.rounds[i] as (typeof rounds)[number]).eventsPerS)) *
          1000,
      ) / 1000,
    non_2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
    rounds_events_per_s: rounds.map((r) => Math.round(r.eventsPerS)),
  };
}

async function main(): Promise<void> {
  const load50 = batches();
  const slice = DURATION_S / ROUNDS;
  const loadBefore = machineLoad();
  process.stdout.write(
    `activity collect on the embedded stream, ${CONNECTIONS} connections, batches of ${BATCH}, ${DURATION_S} s a protocol in ${ROUNDS} rounds of ${slice} s, the protocols in turn\n`,
  );
  const targets: Target[] = [];
  try {
    for (const protocol of PROTOCOLS) targets.push(await start(protocol, load50));
    for (let r = 0; r < ROUNDS; r++) {
      // Each round starts with another protocol, so a change of the machine's load falls on all of them.
      for (let step = 0; step < targets.length; step++) {
        await round(targets[(r + step) % targets.length] as Target, slice);
      }
    }
  } finally {
    for (const target of targets) await target.stop();
  }
  const loadAfter = machineLoad();
  const all = targets.map((target) => figuresOf(target, targets[0] as Target));
  for (const figures of all) {
    process.stdout.write(
      [
        `${figures.protocol}`,
        `  accepted     ${figures.events_per_s.toLocaleString('en-US')} events/s (${figures.requests_per_s.toLocaleString('en-US')} requests/s; ${Math.round(figures.share_of_ours * 100)} % of ours)`,
        `  latency      p50 ${figures.p50_ms} ms, p99 ${figures.p99_ms} ms, max ${figures.max_ms} ms`,
        `  not 2xx      ${figures.non_2xx} responses, ${figures.errors} errors, ${figures.timeouts} timeouts`,
        '',
      ].join('\n'),
    );
  }
  process.stdout.write(`load ${loadBefore} → ${loadAfter}\n`);
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ connections: CONNECTIONS, batch: BATCH, seconds: DURATION_S, rounds: ROUNDS, load: [loadBefore, loadAfter], protocols: all })}\n`,
    );
  }
}

await main();
