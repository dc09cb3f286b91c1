/**
 * `npm run bench:forget`: the time of `activity forget` for one user over N landed events
 * (BENCH_FORGET_EVENTS, default 10,000,000) of 100,000 users, landed with the consumer's own encoder
 * as NDJSON gzip in objects of 10,000 events (the consumer's default batch) over 24 hours of
 * partitions, and, with BENCH_FORGET_PARQUET=1, as Parquet too. Each sink is erased once (every object
 * read, those holding the user rewritten) and then again (a second run finds nothing: the cost of a
 * run that only reads). Prints a table; with --json, ends with one JSON line.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encodeLines } from '../src/consumer/landing.js';
import { type ForgetResult, forget } from '../src/forget/index.js';
import { objectKey, PARQUET } from '../src/layout/index.js';
import { Simulator } from '../src/producer/index.js';
import { encodeEventsParquet } from '../src/sink/formats/parquet.js';
import { DirectoryStore } from '../src/sink/index.js';
import { load as loadAverage } from './machine.js';
import { landedByPartition } from './support.js';

const EVENTS = Number(process.env.BENCH_FORGET_EVENTS ?? 10_000_000);
const PARQUET_TOO = process.env.BENCH_FORGET_PARQUET === '1';
const OBJECT_EVENTS = 10_000;
/** A user of middling activity: the simulator's users follow Zipf's law, user_1 the most active. */
const USER = process.env.BENCH_FORGET_USER ?? 'user_100';
const json = process.argv.includes('--json');
const log = (line: string) => {
  if (!json) process.stderr.write(`${line}\n`);
};

async function landSinks(ndjson: DirectoryStore, parquet: DirectoryStore | undefined) {
  const start = Date.parse('2026-11-24T00:00:00.000Z');
  let clock = start;
  const step = 86_400_000 / EVENTS;
  const simulator = new Simulator({ users: 100_000, seed: 'bench-forget', now: () => (clock += step) });
  let objects = 0;
  let bytes = 0;
  let seq = 1;
  for (let done = 0; done < EVENTS; done += OBJECT_EVENTS) {
    const groups = landedByPartition(simulator, Math.min(OBJECT_EVENTS, EVENTS - done));
    for (const [partition, events] of groups) {
      const shard = 'shardId-000000000000';
      const body = await encodeLines(events.map((e) => JSON.stringify(e)));
      await ndjson.put(objectKey('events', partition, shard, String(seq)), body, {
        contentType: 'application/x-ndjson',
        contentEncoding: 'gzip',
      });
      if (parquet !== undefined) {
        const columns = encodeEventsParquet(events);
        await parquet.put(
          objectKey('events', partition, shard, String(seq), '', PARQUET.extension),
          columns,
          {
            contentType: PARQUET.contentType,
          },
        );
      }
      seq += events.length;
      objects++;
      bytes += body.byteLength;
    }
    if ((done / OBJECT_EVENTS) % 100 === 0)
      log(`landed ${(done + OBJECT_EVENTS).toLocaleString('en-US')} of ${EVENTS.toLocaleString('en-US')}`);
  }
  return { objects, bytes };
}

interface Timed {
  format: string;
  first: ForgetResult;
  second: ForgetResult;
  load: [number, number];
}

async function erase(format: string, sink: string): Promise<Timed> {
  const load0 = loadAverage();
  const location = { kind: 'directory' as const, path: sink };
  const first = await forget(location, [USER], { keySource: { key: 'bench-forget-key-0123456789' } });
  const second = await forget(location, [USER], { keySource: { key: 'bench-forget-key-0123456789' } });
  log(
    `${format}: removed ${first.removed.events} events of ${USER} from ${first.rewritten} of ${first.scanned.events} objects in ${(first.durationMs / 1000).toFixed(1)} s; second run ${(second.durationMs / 1000).toFixed(1)} s`,
  );
  return { format, first, second, load: [load0, loadAverage()] };
}

const dir = await mkdtemp(path.join(tmpdir(), 'activity-bench-forget-'));
try {
  const sinks = { ndjson: path.join(dir, 'ndjson'), parquet: path.join(dir, 'parquet') };
  const t0 = performance.now();
  const landed = await landSinks(
    new DirectoryStore(sinks.ndjson),
    PARQUET_TOO ? new DirectoryStore(sinks.parquet) : undefined,
  );
  log(`landed ${EVENTS.toLocaleString('en-US')} events in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  const runs = [await erase('ndjson', sinks.ndjson)];
  if (PARQUET_TOO) runs.push(await erase('parquet', sinks.parquet));
  const summary = {
    events: EVENTS,
    objects: landed.objects,
    ndjson_mib: Math.round(landed.bytes / 1024 / 1024),
    user: USER,
    runs: runs.map((r) => ({
      format: r.format,
      removed: r.first.removed.events,
      rewritten: r.first.rewritten,
      scanned: r.first.scanned.events,
      first_s: r.first.durationMs / 1000,
      second_s: r.second.durationMs / 1000,
      events_per_s: Math.round(EVENTS / (r.first.durationMs / 1000)),
      load: r.load,
    })),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
  if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else console.table(summary.runs);
} finally {
  await rm(dir, { recursive: true, force: true });
}
