/**
 * `npm run bench`: the embedded pipeline end to end against the floor of its work and against one
 * object per event, its latency at a steady 10,000 events/s, its memory, and the AWS path on the
 * emulators, in one run on the same generated events. Prints a table with a pass or miss per target;
 * with --json, ends with one JSON line. The machine may be shared: the load average is reported
 * beside each figure, and the throughput targets are ratios against baselines taken in the same run.
 *
 * Sizes can be lowered for a quick look: BENCH_EVENTS, BENCH_LATENCY_EVENTS, BENCH_PER_RECORD_EVENTS,
 * BENCH_AWS_EVENTS, BENCH_PARQUET_EVENTS, BENCH_HANDLER_BATCHES. `--phases e2e,floor` runs only the
 * phases named (see PHASES); the figures of the others are null.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { DEFAULT_COMPRESSION_LEVEL } from '../src/consumer/index.js';
import { partitionOf } from '../src/layout/index.js';
import { Simulator } from '../src/producer/index.js';
import { DirectoryStore } from '../src/sink/index.js';
import { createKinesisClient, openKinesisStream } from '../src/stream/index.js';
import { measureLatency } from './latency.js';
import { describeMachine, load } from './machine.js';
import { parquetAgainstDuckDb } from './parquet-size.js';
import { checkTargets, type Figures } from './targets.js';

const gzip = promisify(gzipCallback);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'bin/activity.js');

function size(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
}

const EVENTS = size('BENCH_EVENTS', 1_000_000);
const LATENCY_RATE = 10_000;
const LATENCY_EVENTS = size('BENCH_LATENCY_EVENTS', 300_000);
/** Durable writes run at a few hundred a second here: a few thousand give a stable rate. */
const PER_RECORD_EVENTS = size('BENCH_PER_RECORD_EVENTS', 5_000);
const PER_RECORD_UNSYNCED_EVENTS = 20_000;
const AWS_EVENTS = size('BENCH_AWS_EVENTS', 100_000);
const PARQUET_EVENTS = size('BENCH_PARQUET_EVENTS', 200_000);
/** Batches of 1,000 records the Lambda bundle is timed on, per format. */
const HANDLER_BATCHES = size('BENCH_HANDLER_BATCHES', 100);
/** A phase that takes longer than this has hung: stop it rather than the whole bench. */
const PHASE_TIMEOUT_MS = 5 * 60_000;
const SEED = 'bench';
const USERS = 1000;
const json = process.argv.includes('--json');

// Node.js 20 is supported: keep the AWS SDK's notice about Node.js 22 out of the figures (as bin/activity.js does).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const note = (message: string) => process.stderr.write(`bench: ${message}\n`);

function events(count: number) {
  const simulator = new Simulator({ users: USERS, seed: SEED });
  return Array.from({ length: count }, () => simulator.next());
}

/** Runs a Node.js script of this package with ARGS and returns the JSON line it ends with. */
function lastJsonLine(
  script: string,
  args: string[],
  what: string,
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
) {
  return new Promise<Record<string, number>>((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      cwd: options.cwd ?? root,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c;
    });
    child.stderr.on('data', (c: Buffer) => {
      err += c;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), PHASE_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new Error(`${what} failed (${signal ?? `exit ${code}`}): ${err.trim().slice(-500)}`));
        return;
      }
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Record<string, number>);
      } catch {
        reject(new Error(`${what} printed no JSON summary: ${out.slice(-300)}`));
      }
    });
  });
}

/** Runs `activity ARGS…` and returns its `--json` summary line. */
function activity(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  return lastJsonLine(cli, args, `activity ${args[0]}`, options);
}

/** `activity run` of `count` bench events into DIR/stream and DIR/sink, with `extra` flags. */
function runBench(dir: string, count: number, extra: string[] = []) {
  const flags = ['--users', String(USERS), '--seed', SEED, '--json'];
  const where = ['--stream', path.join(dir, 'stream'), '--sink', path.join(dir, 'sink')];
  return activity(['run', '--events', String(count), ...extra, ...flags, ...where]);
}

/** The whole pipeline: `activity run` at unlimited rate, as a user runs it. */
function endToEnd(dir: string) {
  return runBench(dir, EVENTS);
}

/** `activity run` at a steady 10,000 events/s with default settings; then latency read from the sink. */
async function steadyRate(dir: string) {
  const run = await runBench(dir, LATENCY_EVENTS, ['--rate', String(LATENCY_RATE)]);
  const latency = await measureLatency(path.join(dir, 'sink'));
  if (latency.events !== LATENCY_EVENTS)
    throw new Error(`found ${latency.events} events in the sink, expected ${LATENCY_EVENTS}`);
  return { run, latency };
}

/**
 * The AWS path on the local emulators: `activity run --stream kinesis://… --sink s3://…` against
 * kinesalite and s3rver running in this process. Bound by the emulators, not by the pipeline.
 */
async function awsPath(dir: string): Promise<Record<string, number>> {
  const require = createRequire(import.meta.url);
  const kinesalite = require('kinesalite')({ createStreamMs: 0, shardLimit: 100 }) as Server;
  await new Promise<void>((resolve) => kinesalite.listen(0, '127.0.0.1', resolve));
  const S3rver = require('s3rver');
  const s3rver = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory: path.join(dir, 's3'),
    silent: true,
    configureBuckets: [{ name: 'bench' }],
  });
  const { port: s3Port } = (await s3rver.run()) as AddressInfo;
  const env = {
    ...process.env,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_KINESIS: `http://127.0.0.1:${(kinesalite.address() as AddressInfo).port}`,
    AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${s3Port}`,
  };
  try {
    const admin = openKinesisStream('bench', {
      client: createKinesisClient({
        endpoint: env.AWS_ENDPOINT_URL_KINESIS,
        region: env.AWS_REGION,
        credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY },
      }),
    });
    await admin.create({ shards: 2 });
    await admin.close();
    return await activity(
      ['run', '--events', String(AWS_EVENTS), '--users', String(USERS), '--seed', SEED, '--json'].concat([
        '--stream',
        'kinesis://bench',
        '--sink',
        's3://bench/p',
      ]),
      { cwd: dir, env },
    );
  } finally {
    kinesalite.close();
    await s3rver.close();
  }
}

/**
 * The floor: the same events encoded, gzip-compressed with the default level and written, in one loop,
 * 10,000 to a file. Events are made a file's worth at a time, outside the timed part, so the bench
 * does not hold a million of them at once.
 */
async function limit(dir: string): Promise<number> {
  const simulator = new Simulator({ users: USERS, seed: SEED });
  let timed = 0;
  for (let i = 0, n = 0; i < EVENTS; i += 10_000, n++) {
    const chunk = Array.from({ length: Math.min(10_000, EVENTS - i) }, () => simulator.next());
    const started = performance.now();
    const lines = chunk.map((e) => JSON.stringify({ ...e, received_at: e.timestamp }));
    const file = path.join(dir, partitionOf(Date.parse(chunk[0]?.timestamp ?? '')), `${n}.ndjson.gz`);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, await gzip(`${lines.join('\n')}\n`, { level: DEFAULT_COMPRESSION_LEVEL }));
    timed += performance.now() - started;
  }
  return EVENTS / (timed / 1000);
}

/**
 * The tutorial's design: one object per event, named `user_id_timestamp.json` (so a user's second
 * event in one second overwrites the first). Written through the directory store, which makes each
 * object durable (written, synced, renamed) as the pipeline's own objects are and as an S3 PUT is.
 */
async function perRecord(dir: string): Promise<{ rate: number; kept: number }> {
  const all = events(PER_RECORD_EVENTS);
  const store = new DirectoryStore(dir);
  await store.connect();
  const keys = new Set<string>();
  const started = performance.now();
  for (const e of all) {
    const key = `${e.user_id}_${Math.floor(Date.parse(e.timestamp) / 1000)}.json`;
    keys.add(key);
    await store.put(key, Buffer.from(JSON.stringify(e)), { contentType: 'application/json' });
  }
  const rate = PER_RECORD_EVENTS / ((performance.now() - started) / 1000);
  await store.close();
  return { rate, kept: keys.size };
}

/** The same with plain unsynced file writes: what it costs without durability, for reference. */
async function perRecordUnsynced(dir: string): Promise<number> {
  const all = events(PER_RECORD_UNSYNCED_EVENTS);
  const started = performance.now();
  for (const e of all)
    await writeFile(
      path.join(dir, `${e.user_id}_${Math.floor(Date.parse(e.timestamp) / 1000)}.json`),
      JSON.stringify(e),
    );
  return PER_RECORD_UNSYNCED_EVENTS / ((performance.now() - started) / 1000);
}

/**
 * The Lambda bundle alone, on one core: `bench/lambda-cpu.mjs --json` in a process of its own (the
 * bundle reads its settings from the environment once), invoked with batches of 1,000 records shaped
 * like Lambda's, landing in a directory; events per CPU-second from `process.cpuUsage()`.
 */
async function handlerCpu(format: 'ndjson' | 'parquet'): Promise<number> {
  const figures = await lastJsonLine(
    path.join(root, 'bench/lambda-cpu.mjs'),
    ['--json'],
    `bench/lambda-cpu.mjs (${format})`,
    { env: { ...process.env, FORMAT: format, BATCHES: String(HANDLER_BATCHES) } },
  );
  const rate = figures.events_per_cpu_s;
  if (rate === undefined) throw new Error(`bench/lambda-cpu.mjs (${format}) printed no events_per_cpu_s`);
  return rate;
}

interface Phase<T> {
  value?: T;
  error?: string;
  /** Set when the phase was left out by `--phases`. */
  skipped?: true;
  load_before: number;
  load_after: number;
  seconds: number;
}

/** The phases, by the names `--phases` and the JSON summary's `phases` use, in the order they run. */
const PHASES = [
  'e2e',
  'floor',
  'record',
  'unsynced',
  'steady',
  'aws',
  'parquetSize',
  'handlerNdjson',
  'handlerParquet',
] as const;
type PhaseName = (typeof PHASES)[number];

/** `--phases a,b` (or `--phases=a,b`): only those phases run; all of them without it. */
function selectedPhases(argv: readonly string[]): ReadonlySet<PhaseName> {
  const at = argv.findIndex((a) => a === '--phases' || a.startsWith('--phases='));
  if (at === -1) return new Set(PHASES);
  const arg = argv[at] as string;
  const list = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : (argv[at + 1] ?? '');
  const names = list.split(',').filter((n) => n !== '');
  const unknown = names.filter((n) => !(PHASES as readonly string[]).includes(n));
  if (names.length === 0 || unknown.length > 0)
    throw new Error(
      `--phases takes a comma-separated list of ${PHASES.join(', ')} (given ${list || 'nothing'})`,
    );
  return new Set(names as PhaseName[]);
}

const selected = selectedPhases(process.argv);

/**
 * Runs one phase, unless `--phases` leaves it out; a failure is reported with the others' figures
 * instead of ending the bench.
 */
async function phase<T>(name: PhaseName, title: string, work: () => Promise<T>): Promise<Phase<T>> {
  const loadBefore = load();
  if (!selected.has(name))
    return { skipped: true, load_before: loadBefore, load_after: loadBefore, seconds: 0 };
  note(`${title}… (load ${loadBefore})`);
  const started = performance.now();
  try {
    const value = await work();
    return { value, load_before: loadBefore, load_after: load(), seconds: seconds(started) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    note(`${title} failed: ${message}`);
    return { error: message, load_before: loadBefore, load_after: load(), seconds: seconds(started) };
  }
}

const seconds = (since: number) => Math.round((performance.now() - since) / 100) / 10;
const count = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');

const work = await mkdtemp(path.join(tmpdir(), 'activity-bench-'));
let failed = false;
try {
  const dir = (name: string) => path.join(work, name);
  await Promise.all(
    ['run', 'limit', 'per-record', 'unsynced', 'steady', 'aws', 'parquet'].map((d) => mkdir(dir(d))),
  );
  const machine = describeMachine();
  const started = performance.now();

  const e2e = await phase('e2e', `end to end, ${count(EVENTS)} events at full speed`, () =>
    endToEnd(dir('run')),
  );
  const floor = await phase('floor', 'floor: encode + gzip + write in one loop', () => limit(dir('limit')));
  const record = await phase('record', 'one durable object per event', () => perRecord(dir('per-record')));
  const unsynced = await phase('unsynced', 'one unsynced file per event', () =>
    perRecordUnsynced(dir('unsynced')),
  );
  const steady = await phase(
    'steady',
    `${count(LATENCY_EVENTS)} events at ${count(LATENCY_RATE)} events/s`,
    () => steadyRate(dir('steady')),
  );
  const aws = await phase('aws', `AWS path on kinesalite + s3rver, ${count(AWS_EVENTS)} events`, () =>
    awsPath(dir('aws')),
  );
  const parquetSize = await phase(
    'parquetSize',
    `Parquet against DuckDB's, ${count(PARQUET_EVENTS)} events`,
    () => parquetAgainstDuckDb(dir('parquet'), { events: PARQUET_EVENTS, users: USERS, seed: SEED }),
  );
  const handlerNdjson = await phase('handlerNdjson', 'the Lambda bundle alone, NDJSON', () =>
    handlerCpu('ndjson'),
  );
  const handlerParquet = await phase('handlerParquet', 'the Lambda bundle alone, Parquet', () =>
    handlerCpu('parquet'),
  );

  const nan = Number.NaN;
  const figures: Figures = {
    events_per_s: e2e.value?.events_per_s ?? nan,
    limit_events_per_s: Math.round(floor.value ?? nan),
    per_record_events_per_s: Math.round(record.value?.rate ?? nan),
    p50_latency_ms: steady.value?.latency.p50_ms ?? nan,
    p99_latency_ms: steady.value?.latency.p99_ms ?? nan,
    objects_per_million: Math.round(((steady.value?.latency.objects ?? nan) * 1_000_000) / LATENCY_EVENTS),
    peak_rss_mb: e2e.value?.peak_rss_mb ?? nan,
    handler_events_per_cpu_s: handlerNdjson.value ?? nan,
  };
  const targets = checkTargets(figures);
  const verdict = (name: string) => {
    const t = targets.find((c) => c.name === name);
    if (t === undefined) return '';
    // A phase left out (or failed) leaves its figure unmeasured: no verdict rather than a miss.
    if (!Number.isFinite(t.value) || !Number.isFinite(t.bound)) return 'not measured';
    return t.pass ? 'pass' : 'MISS';
  };
  const phases = {
    e2e,
    floor,
    record,
    unsynced,
    steady,
    aws,
    parquetSize,
    handlerNdjson,
    handlerParquet,
  } satisfies Record<PhaseName, Phase<unknown>>;
  const failures = Object.values(phases).filter((p) => p.error !== undefined);
  failed = failures.length > 0;

  const rows: [string, string, string, string][] = [
    [
      `end to end (activity run, ${count(EVENTS)} events)`,
      `${count(figures.events_per_s)} events/s`,
      `≥ 1.0 × floor = ${count(figures.limit_events_per_s)}`,
      verdict('vs_limit'),
    ],
    [
      '',
      '',
      `≥ 100 × one object per event = ${count(100 * figures.per_record_events_per_s)}`,
      verdict('vs_per_record'),
    ],
    ['floor: encode + gzip + write, one loop', `${count(figures.limit_events_per_s)} events/s`, '', ''],
    [
      'one durable object per event',
      `${count(figures.per_record_events_per_s)} events/s`,
      `(${count(record.value?.kept ?? nan)} of ${count(PER_RECORD_EVENTS)} kept)`,
      '',
    ],
    ['one unsynced file per event (reference)', `${count(unsynced.value ?? nan)} events/s`, '', ''],
    [`latency at ${count(LATENCY_RATE)} events/s: p50`, `${count(figures.p50_latency_ms)} ms`, '', ''],
    ['latency p99', `${count(figures.p99_latency_ms)} ms`, '≤ 1,000 ms', verdict('p99_latency')],
    [
      '  of which created → on the stream, p99',
      `${count(steady.value?.latency.to_stream_p99_ms ?? nan)} ms`,
      '',
      '',
    ],
    [
      '  of which on the stream → landed, p99',
      `${count(steady.value?.latency.to_landed_p99_ms ?? nan)} ms`,
      '',
      '',
    ],
    [
      'objects per million events at that rate',
      count(figures.objects_per_million),
      '≤ 300',
      verdict('objects'),
    ],
    ['peak resident memory at full speed', `${count(figures.peak_rss_mb)} MB`, '≤ 300 MB', verdict('memory')],
    [
      `AWS path, emulator-bound (${count(AWS_EVENTS)} events)`,
      `${count(aws.value?.events_per_s ?? nan)} events/s`,
      '',
      '',
    ],
    [
      "Parquet bytes against DuckDB's zstd Parquet",
      `${parquetSize.value?.ratio ?? 'n/a'} ×`,
      '≤ 1.2 ×',
      parquetSize.value === undefined ? '' : parquetSize.value.ratio <= 1.2 ? 'pass' : 'MISS',
    ],
    [
      'the Lambda bundle alone, NDJSON, one core',
      `${count(figures.handler_events_per_cpu_s)} events/CPU-s`,
      '≥ 200,000',
      verdict('handler_cpu'),
    ],
    [
      'the Lambda bundle alone, Parquet, one core',
      `${count(handlerParquet.value ?? nan)} events/CPU-s`,
      '',
      '',
    ],
  ];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]?.length ?? 0)));
  const pad = (text: string, i: number) => text.padEnd(widths[i] ?? 0);
  const lines = [
    `${machine.cpu}, ${machine.cores} cores, ${machine.memory_gb} GB, Node.js ${machine.node}`,
    `load average (1 min) ${e2e.load_before} at the start, ${load()} at the end; ${seconds(started)} s in all`,
    '',
    ...rows.map((r) => `${pad(r[0], 0)}  ${pad(r[1], 1)}  ${pad(r[2], 2)}  ${r[3]}`.trimEnd()),
    ...failures.map((p) => `failed: ${p.error}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (json) {
    const summary = {
      ...figures,
      aws_path_events_per_s: aws.value?.events_per_s ?? null,
      aws_path_events: AWS_EVENTS,
      aws_path_note: 'emulator-bound (kinesalite and s3rver in the bench process)',
      parquet_bytes_vs_duckdb: parquetSize.value?.ratio ?? null,
      parquet_size: parquetSize.value ?? null,
      events: EVENTS,
      objects_per_million_full_speed: Math.round(((e2e.value?.objects ?? nan) * 1_000_000) / EVENTS),
      per_record_unsynced_events_per_s: Math.round(unsynced.value ?? nan),
      handler_parquet_events_per_cpu_s: handlerParquet.value ?? nan,
      latency: steady.value?.latency ?? null,
      latency_rate: LATENCY_RATE,
      targets: Object.fromEntries(
        targets.map((t) => [t.name, { rule: t.rule, value: t.value, bound: t.bound, pass: t.pass }]),
      ),
      all_targets_met: targets.every((t) => t.pass),
      phases: Object.fromEntries(
        Object.entries(phases).map(([name, p]) => [
          name,
          p.skipped
            ? { skipped: true }
            : { seconds: p.seconds, load_before: p.load_before, load_after: p.load_after, error: p.error },
        ]),
      ),
      machine: { ...machine, load_at_end: load() },
    };
    // JSON has no NaN: a figure that was not measured is null.
    process.stdout.write(`${JSON.stringify(summary, (_k, v) => (Number.isNaN(v) ? null : v))}\n`);
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
if (failed) process.exitCode = 1;
