/**
 * `npm run bench:collector`: sustained accepted events/s of `activity collect` on loopback, on the
 * embedded stream, driven by autocannon with batches of 50 events over several connections, for each
 * protocol it speaks (ours, Segment's `/v1/batch`, Snowplow's tp2 with structured events and with
 * self-describing ones in `ue_px` and `cx`) on the same load, each on a collector and stream of its own. Prints the figures; with --json, ends with one JSON line. The collector runs as users run it (the built CLI, in
 * its own process); the load generator shares the machine, so the figures are a floor.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCli } from '../test/support/cli.js';
import { BATCH, batches, type LoadEvent, PROTOCOLS, type Protocol } from './collector-routes-load.js';

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
  non_2xx: number;
  errors: number;
  timeouts: number;
}

/** Loads one protocol's route on a collector of its own (a fresh embedded stream), after a warm-up. */
async function measure(protocol: Protocol, load50: LoadEvent[][]): Promise<Figures> {
  const dir = await mkdtemp(path.join(tmpdir(), 'activity-bench-'));
  const { child, done } = startCli(['collect', '--port', '0', '--stream', path.join(dir, 'stream')], {
    cwd: root,
  });
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
    const url = `${base}${protocol.path}`;
    await load(url, 3, payloads); // warm-up: JIT, SQLite pages, connections
    const before = await acceptedSoFar(base);
    const result = await load(url, DURATION_S, payloads);
    const accepted = (await acceptedSoFar(base)) - before;
    return {
      protocol: protocol.name,
      events_per_s: Math.round(accepted / DURATION_S),
      requests_per_s: Math.round(result.requests.average),
      p50_ms: result.latency.p50,
      p99_ms: result.latency.p99,
      max_ms: result.latency.max,
      non_2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
    };
  } finally {
    child.kill('SIGTERM');
    await done;
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const load50 = batches();
  process.stdout.write(
    `activity collect on the embedded stream, ${CONNECTIONS} connections, batches of ${BATCH}, ${DURATION_S} s a protocol\n`,
  );
  const all: Figures[] = [];
  for (const protocol of PROTOCOLS) {
    const figures = await measure(protocol, load50);
    all.push(figures);
    const share = all[0] === undefined ? 1 : figures.events_per_s / all[0].events_per_s;
    process.stdout.write(
      [
        `${protocol.name}`,
        `  accepted     ${figures.events_per_s.toLocaleString('en-US')} events/s (${figures.requests_per_s.toLocaleString('en-US')} requests/s; ${Math.round(share * 100)} % of the first)`,
        `  latency      p50 ${figures.p50_ms} ms, p99 ${figures.p99_ms} ms, max ${figures.max_ms} ms`,
        `  not 2xx      ${figures.non_2xx} responses, ${figures.errors} errors, ${figures.timeouts} timeouts`,
        '',
      ].join('\n'),
    );
  }
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ connections: CONNECTIONS, batch: BATCH, seconds: DURATION_S, protocols: all })}\n`,
    );
  }
}

await main();
