/**
 * `npm run bench:collector`: sustained accepted events/s of `activity collect` on loopback, on the
 * embedded stream, driven by autocannon with batches of 50 events over several connections. Prints the
 * figures; with --json, ends with one JSON line. The collector runs as users run it (the built CLI, in
 * its own process); the load generator shares the machine, so the figures are a floor.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCli } from '../test/support/cli.js';

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
const BATCH = 50;
const BODIES = 64;
const USERS = 1000;
const json = process.argv.includes('--json');

/** Bodies of 50 events each, spread over 1,000 users and a few event types, like a busy site's traffic. */
function bodies(): string[] {
  const names = ['page_view', 'click', 'add_to_cart', 'purchase', 'login'];
  const now = Date.now();
  return Array.from({ length: BODIES }, (_, b) =>
    JSON.stringify({
      batch: Array.from({ length: BATCH }, (_, i) => {
        const n = b * BATCH + i;
        return {
          user_id: `user_${n % USERS}`,
          event: names[n % names.length],
          timestamp: new Date(now - (BATCH - i) * 10).toISOString(),
          session_id: `session_${n % USERS}`,
          properties: { page: `/products/${n % 97}`, price: (n % 50) + 0.99 },
        };
      }),
      sent_at: new Date(now).toISOString(),
    }),
  );
}

async function acceptedSoFar(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const match = /^activity_collector_events_accepted_total (\d+)/m.exec(text);
  return Number(match?.[1] ?? 0);
}

function load(base: string, durationS: number, payloads: string[]): Promise<LoadResult> {
  let next = 0;
  return autocannon({
    url: `${base}/v1/events`,
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

async function main(): Promise<void> {
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
    const payloads = bodies();
    await load(base, 3, payloads); // warm-up: JIT, SQLite pages, connections
    const before = await acceptedSoFar(base);
    const result = await load(base, DURATION_S, payloads);
    const accepted = (await acceptedSoFar(base)) - before;
    const figures = {
      events_per_s: Math.round(accepted / DURATION_S),
      requests_per_s: Math.round(result.requests.average),
      p50_ms: result.latency.p50,
      p99_ms: result.latency.p99,
      max_ms: result.latency.max,
      non_2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      connections: CONNECTIONS,
      batch: BATCH,
      seconds: DURATION_S,
    };
    process.stdout.write(
      [
        `activity collect on the embedded stream, ${CONNECTIONS} connections, batches of ${BATCH}, ${DURATION_S} s`,
        `  accepted     ${figures.events_per_s.toLocaleString('en-US')} events/s (${figures.requests_per_s.toLocaleString('en-US')} requests/s)`,
        `  latency      p50 ${figures.p50_ms} ms, p99 ${figures.p99_ms} ms, max ${figures.max_ms} ms`,
        `  not 2xx      ${figures.non_2xx} responses, ${figures.errors} errors, ${figures.timeouts} timeouts`,
        '',
      ].join('\n'),
    );
    if (json) process.stdout.write(`${JSON.stringify(figures)}\n`);
  } finally {
    child.kill('SIGTERM');
    await done;
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
