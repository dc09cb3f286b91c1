/**
 * `npm run bench`: the embedded pipeline end to end against the floor of its work, in one run on the
 * same generated events. Prints a table; with --json, ends with one JSON line. Figures are ratios
 * against baselines measured in the same run, since this machine is shared and noisy.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { DEFAULT_COMPRESSION_LEVEL, partitionOf } from '../src/consumer/index.js';
import { Simulator } from '../src/producer/index.js';

const gzip = promisify(gzipCallback);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const PER_RECORD_EVENTS = 20_000;
const AWS_EVENTS = Number(process.env.BENCH_AWS_EVENTS ?? 100_000);
const json = process.argv.includes('--json');

function events(count: number) {
  const simulator = new Simulator({ users: 1000, seed: 'bench' });
  return Array.from({ length: count }, () => simulator.next());
}

/** The whole pipeline: `activity run` at unlimited rate, as a user runs it. */
function endToEnd(dir: string) {
  const result = spawnSync(
    process.execPath,
    [
      path.join(root, 'bin/activity.js'),
      'run',
      '--events',
      String(EVENTS),
      '--seed',
      'bench',
      '--json',
      '--stream',
      path.join(dir, 'stream'),
      '--sink',
      path.join(dir, 'sink'),
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  if (result.status !== 0) throw new Error(`activity run failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, number>;
}

/**
 * The AWS path on the local emulators: `activity run --stream kinesis://… --sink s3://…` against
 * kinesalite and s3rver running in this process (so the child must be awaited, not run synchronously).
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
  const cli = (args: string[]) =>
    new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(root, 'bin/activity.js'), ...args], { cwd: dir, env });
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c;
      });
      child.stderr.on('data', (c: Buffer) => {
        err += c;
      });
      child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`activity failed: ${err}`))));
    });
  try {
    await cli(['stream', 'create', '--stream', 'kinesis://bench', '--shards', '2']);
    const out = await cli([
      'run',
      '--events',
      String(AWS_EVENTS),
      '--seed',
      'bench',
      '--json',
      '--stream',
      'kinesis://bench',
      '--sink',
      's3://bench/p',
    ]);
    return JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Record<string, number>;
  } finally {
    kinesalite.close();
    await s3rver.close();
  }
}

/** The floor: the same events encoded, gzip-compressed with the default level and written, in one loop. */
async function limit(dir: string): Promise<number> {
  const all = events(EVENTS);
  const started = performance.now();
  for (let i = 0, n = 0; i < all.length; i += 10_000, n++) {
    const lines = all.slice(i, i + 10_000).map((e) => JSON.stringify({ ...e, received_at: e.timestamp }));
    const file = path.join(dir, partitionOf(Date.parse(all[i]?.timestamp ?? '')), `${n}.ndjson.gz`);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, await gzip(`${lines.join('\n')}\n`, { level: DEFAULT_COMPRESSION_LEVEL }));
  }
  return EVENTS / ((performance.now() - started) / 1000);
}

/** The original design: one object per event, named `user_id_timestamp.json`. */
async function perRecord(dir: string): Promise<number> {
  const all = events(PER_RECORD_EVENTS);
  const started = performance.now();
  for (const e of all)
    await writeFile(
      path.join(dir, `${e.user_id}_${Math.floor(Date.parse(e.timestamp) / 1000)}.json`),
      JSON.stringify(e),
    );
  return PER_RECORD_EVENTS / ((performance.now() - started) / 1000);
}

const work = await mkdtemp(path.join(tmpdir(), 'activity-bench-'));
try {
  const dirs = ['run', 'limit', 'per-record', 'aws'].map((d) => path.join(work, d));
  await Promise.all(dirs.map((d) => mkdir(d, { recursive: true })));
  const run = endToEnd(dirs[0] as string);
  const figures = {
    events: EVENTS,
    events_per_s: run.events_per_s ?? 0,
    limit_events_per_s: Math.round(await limit(dirs[1] as string)),
    per_record_events_per_s: Math.round(await perRecord(dirs[2] as string)),
    objects_per_million: Math.round(((run.objects ?? 0) * 1_000_000) / EVENTS),
    peak_rss_mb: run.peak_rss_mb ?? 0,
    aws_path_events: AWS_EVENTS,
    aws_path_events_per_s: (await awsPath(dirs[3] as string)).events_per_s ?? 0,
  };
  const rows: [string, string][] = [
    ['end to end (activity run)', `${figures.events_per_s.toLocaleString('en-US')} events/s`],
    ['floor: encode + gzip + write', `${figures.limit_events_per_s.toLocaleString('en-US')} events/s`],
    ['one object per event', `${figures.per_record_events_per_s.toLocaleString('en-US')} events/s`],
    ['end to end ÷ floor', (figures.events_per_s / figures.limit_events_per_s).toFixed(2)],
    [
      'end to end ÷ one object per event',
      (figures.events_per_s / figures.per_record_events_per_s).toFixed(1),
    ],
    ['objects per million events', String(figures.objects_per_million)],
    ['peak resident memory', `${figures.peak_rss_mb} MB`],
    [
      `AWS path on emulators (${AWS_EVENTS.toLocaleString('en-US')} events)`,
      `${figures.aws_path_events_per_s.toLocaleString('en-US')} events/s`,
    ],
    ['AWS path ÷ embedded end to end', (figures.aws_path_events_per_s / figures.events_per_s).toFixed(2)],
  ];
  for (const [name, value] of rows) process.stdout.write(`${name.padEnd(40)} ${value}\n`);
  if (json) process.stdout.write(`${JSON.stringify(figures)}\n`);
} finally {
  await rm(work, { recursive: true, force: true });
}
