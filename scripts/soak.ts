/**
 * `npm run soak`: the embedded pipeline under steady load for a long while (30 minutes unless
 * `--minutes` says otherwise), to show that memory and consumer lag stay flat. It runs
 * `activity run --rate R`, samples the process's resident memory and the consumer's lag (records not
 * yet checkpointed, and how long ago the oldest of them arrived) every few seconds, and writes
 * `samples.csv`, `soak.svg` (both over time) and `summary.json` to a results folder. Not part of the
 * test suite.
 *
 *   npm run soak -- --minutes 3 --rate 10000 --every 2 --out test-artifacts/soak
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_CONSUMER_NAME } from '../src/consumer/index.js';
import { openLocalStream } from '../src/stream/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    rate: { type: 'string', default: '10000' },
    every: { type: 'string', default: '5' },
    out: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});

function positive(name: string, raw: string | undefined): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`--${name} must be a number above 0 (given ${raw})`);
  return value;
}

const minutes = positive('minutes', args.minutes);
const rate = positive('rate', args.rate);
const everySeconds = positive('every', args.every);
const started = new Date();
const out = path.resolve(
  args.out ?? path.join(root, 'test-artifacts', 'soak', started.toISOString().replace(/[:.]/g, '-')),
);

interface Sample {
  at: string;
  seconds: number;
  rssMb: number;
  lagRecords: number;
  lagSeconds: number;
  load: number;
}

/** Resident memory of a process (its threads included) in MiB: /proc where there is one, else ps. */
async function residentMb(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
    if (kb !== undefined) return Number(kb) / 1024;
  } catch {
    // No /proc (macOS): ask ps.
  }
  return new Promise((resolve) => {
    const ps = spawn('ps', ['-o', 'rss=', '-p', String(pid)]);
    let text = '';
    ps.stdout.on('data', (c: Buffer) => {
      text += c;
    });
    ps.on('close', () => {
      const kb = Number(text.trim());
      resolve(text.trim() === '' || !Number.isFinite(kb) ? undefined : kb / 1024);
    });
    ps.on('error', () => resolve(undefined));
  });
}

/** The consumer's lag, read from the log: records past its checkpoints, and the age of the oldest. */
async function lagOf(streamPath: string): Promise<{ records: number; seconds: number }> {
  const stream = openLocalStream(streamPath, { createIfMissing: false });
  try {
    await stream.connect();
    let records = 0;
    let oldest = Number.POSITIVE_INFINITY;
    for (const { shardId } of await stream.listShards()) {
      const checkpoint = await stream.load(DEFAULT_CONSUMER_NAME, shardId);
      const behind = await stream.countAfter(shardId, checkpoint);
      records += behind;
      if (behind === 0) continue;
      const iterator = await stream.getShardIterator(
        shardId,
        checkpoint === undefined
          ? { type: 'TRIM_HORIZON' }
          : { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: checkpoint },
      );
      const next = (await stream.getRecords(iterator, 1)).records[0];
      if (next !== undefined) oldest = Math.min(oldest, next.approximateArrivalTimestamp.getTime());
    }
    return { records, seconds: Number.isFinite(oldest) ? Math.max(0, (Date.now() - oldest) / 1000) : 0 };
  } catch {
    // The log is created by the run a moment after it starts.
    return { records: 0, seconds: 0 };
  } finally {
    await stream.close();
  }
}

// ---------------------------------------------------------------------------------------------------
// The plot: one SVG, one panel per series over the same time axis, drawn by hand (no dependencies).

/** About `count` round tick values from 0 to at least `max`. */
function ticks(max: number, count = 5): number[] {
  const top = max > 0 ? max : 1;
  const raw = top / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * magnitude >= raw) ?? 10) * magnitude;
  return Array.from({ length: Math.ceil(top / step) + 1 }, (_, i) => Number((i * step).toPrecision(12)));
}

const xml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function plot(samples: Sample[], title: string, subtitle: string): string {
  const width = 960;
  const panelHeight = 220;
  const left = 80;
  const right = 30;
  const top = 95;
  const gap = 60;
  const panels: { label: string; unit: string; color: string; value: (s: Sample) => number }[] = [
    { label: 'resident memory of activity run', unit: 'MB', color: '#1f77b4', value: (s) => s.rssMb },
    { label: 'consumer lag', unit: 'records', color: '#d62728', value: (s) => s.lagRecords },
    { label: 'consumer lag', unit: 's', color: '#ff7f0e', value: (s) => s.lagSeconds },
  ];
  const height = top + panels.length * (panelHeight + gap) + 10;
  const xMax = Math.max(1, samples.at(-1)?.seconds ?? 1);
  const xTicks = ticks(xMax / 60, 8);
  const plotWidth = width - left - right;
  const x = (seconds: number) => left + (seconds / 60 / (xTicks.at(-1) ?? 1)) * plotWidth;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${left}" y="28" font-size="16" font-weight="bold">${xml(title)}</text>`,
    `<text x="${left}" y="48" fill="#555">${xml(subtitle)}</text>`,
  ];
  panels.forEach((panel, i) => {
    const y0 = top + i * (panelHeight + gap);
    const values = samples.map(panel.value);
    const yTicks = ticks(Math.max(...values, 0));
    const yMax = yTicks.at(-1) ?? 1;
    const y = (v: number) => y0 + panelHeight - (v / yMax) * panelHeight;
    parts.push(
      `<text x="${left}" y="${y0 - 8}" font-weight="bold">${xml(`${panel.label} (${panel.unit})`)}</text>`,
    );
    for (const t of yTicks) {
      parts.push(
        `<line x1="${left}" x2="${width - right}" y1="${y(t)}" y2="${y(t)}" stroke="#e5e5e5"/>`,
        `<text x="${left - 6}" y="${y(t) + 4}" text-anchor="end">${t.toLocaleString('en-US')}</text>`,
      );
    }
    for (const t of xTicks) {
      parts.push(
        `<line x1="${x(t * 60)}" x2="${x(t * 60)}" y1="${y0}" y2="${y0 + panelHeight}" stroke="#f0f0f0"/>`,
        `<text x="${x(t * 60)}" y="${y0 + panelHeight + 16}" text-anchor="middle">${t} min</text>`,
      );
    }
    parts.push(
      `<rect x="${left}" y="${y0}" width="${plotWidth}" height="${panelHeight}" fill="none" stroke="#999"/>`,
      `<polyline fill="none" stroke="${panel.color}" stroke-width="1.5" points="${samples
        .map((s) => `${x(s.seconds).toFixed(1)},${y(panel.value(s)).toFixed(1)}`)
        .join(' ')}"/>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** Least-squares slope of memory over the second half of the run, in MB per hour: a leak shows here. */
function memorySlope(samples: Sample[]): number {
  const half = samples.slice(Math.floor(samples.length / 2));
  if (half.length < 2) return 0;
  const n = half.length;
  const mx = half.reduce((a, s) => a + s.seconds, 0) / n;
  const my = half.reduce((a, s) => a + s.rssMb, 0) / n;
  const sxy = half.reduce((a, s) => a + (s.seconds - mx) * (s.rssMb - my), 0);
  const sxx = half.reduce((a, s) => a + (s.seconds - mx) ** 2, 0);
  return sxx === 0 ? 0 : (sxy / sxx) * 3600;
}

// ---------------------------------------------------------------------------------------------------

const work = await mkdtemp(path.join(tmpdir(), 'activity-soak-'));
const streamPath = path.join(work, 'stream');
const sink = path.join(work, 'sink');
await mkdir(out, { recursive: true });
const estimatedGb = (rate * minutes * 60 * 450) / 1024 ** 3;
process.stderr.write(
  `soak: ${minutes} min at ${rate.toLocaleString('en-US')} events/s, sampling every ${everySeconds} s; ` +
    `about ${estimatedGb.toFixed(1)} GB of log in ${work}; results in ${out}\n`,
);

const run = spawn(
  process.execPath,
  [
    path.join(root, 'bin/activity.js'),
    'run',
    '--rate',
    String(rate),
    '--json',
    '--stream',
    streamPath,
    '--sink',
    sink,
  ],
  { stdio: ['ignore', 'pipe', 'pipe'] },
);
let stdout = '';
let stderr = '';
run.stdout.on('data', (c: Buffer) => {
  stdout += c;
});
run.stderr.on('data', (c: Buffer) => {
  stderr += c;
});
const exited = new Promise<number | null>((resolve) => run.on('close', (code) => resolve(code)));
let finished = false;
void exited.then(() => {
  finished = true;
});

const samples: Sample[] = [];
const csv = ['time,elapsed_s,rss_mb,lag_records,lag_s,load_1m'];
const t0 = performance.now();
const endAt = t0 + minutes * 60_000;
try {
  while (!finished && performance.now() < endAt) {
    const rss = run.pid === undefined ? undefined : await residentMb(run.pid);
    const lag = await lagOf(streamPath);
    if (rss !== undefined) {
      const sample: Sample = {
        at: new Date().toISOString(),
        seconds: (performance.now() - t0) / 1000,
        rssMb: rss,
        lagRecords: lag.records,
        lagSeconds: lag.seconds,
        load: loadavg()[0] ?? 0,
      };
      samples.push(sample);
      csv.push(
        [
          sample.at,
          sample.seconds.toFixed(1),
          sample.rssMb.toFixed(1),
          sample.lagRecords,
          sample.lagSeconds.toFixed(2),
          sample.load.toFixed(2),
        ].join(','),
      );
      process.stderr.write(
        `soak: ${(sample.seconds / 60).toFixed(1)} min · ${sample.rssMb.toFixed(0)} MB · lag ${sample.lagRecords.toLocaleString('en-US')} records, ${sample.lagSeconds.toFixed(1)} s\n`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, everySeconds * 1000));
  }
  // A clean stop: the run stops producing, lands what it accepted and prints its summary.
  if (!finished) run.kill('SIGINT');
  const code = await exited;
  const summaryLine = stdout.trim().split('\n').at(-1) ?? '';
  let runSummary: Record<string, unknown> = {};
  try {
    runSummary = JSON.parse(summaryLine) as Record<string, unknown>;
  } catch {
    // Reported below as a failed run.
  }
  const rss = samples.map((s) => s.rssMb);
  const summary = {
    minutes,
    rate,
    sample_every_s: everySeconds,
    samples: samples.length,
    exit_code: code,
    rss_mb: {
      first: rss[0] ?? null,
      max: rss.length > 0 ? Math.max(...rss) : null,
      last: rss.at(-1) ?? null,
      slope_second_half_mb_per_hour: Number(memorySlope(samples).toFixed(1)),
    },
    lag: {
      max_records: Math.max(0, ...samples.map((s) => s.lagRecords)),
      max_seconds: Number(Math.max(0, ...samples.map((s) => s.lagSeconds)).toFixed(2)),
    },
    run: runSummary,
    all_landed: runSummary.produced !== undefined && runSummary.produced === runSummary.landed,
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version },
    started: started.toISOString(),
  };
  const subtitle =
    `${rate.toLocaleString('en-US')} events/s for ${minutes} min · RSS max ${summary.rss_mb.max?.toFixed(0)} MB, ` +
    `slope ${summary.rss_mb.slope_second_half_mb_per_hour} MB/h (second half) · lag max ` +
    `${summary.lag.max_records.toLocaleString('en-US')} records, ${summary.lag.max_seconds} s · ` +
    `${summary.machine.cores} cores, Node.js ${process.version}`;
  await writeFile(path.join(out, 'samples.csv'), `${csv.join('\n')}\n`);
  await writeFile(path.join(out, 'soak.svg'), plot(samples, 'activity run under steady load', subtitle));
  await writeFile(path.join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  process.stderr.write(`soak: wrote ${path.join(out, 'soak.svg')}, samples.csv and summary.json\n`);
  if (code !== 0 || !summary.all_landed) {
    process.stderr.write(`soak: the run did not end cleanly (exit ${code}): ${stderr.trim().slice(-800)}\n`);
    process.exitCode = 1;
  }
} finally {
  if (!finished) run.kill('SIGKILL');
  if (!args.keep) await rm(work, { recursive: true, force: true });
}
