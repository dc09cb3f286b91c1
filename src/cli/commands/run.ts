import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import { describeError } from '../../core/errors.js';
import type { SinkLocation, StreamLocation } from '../../core/locations.js';
import { PARQUET } from '../../layout/index.js';
import { TrackingPlan } from '../../plan/index.js';
import { BatchingProducer } from '../../producer/index.js';
import type { LandingFormat } from '../../sink/formats/index.js';
import { ConsumerThreads } from '../consumer-thread.js';
import { options } from '../options.js';
import { connectStore, connectStream, simulate } from '../pipeline.js';
import { formatCount, startProgress } from '../progress.js';
import { onShutdown } from '../signals.js';

/** Consumer threads of `run`; each reads its share of the shards. */
const CONSUMER_THREADS = Math.max(1, availableParallelism());

interface RunFlags {
  events?: number;
  rate?: number;
  users: number;
  shards?: number;
  stream: StreamLocation;
  sink: SinkLocation;
  seed?: string;
  span?: number;
  violations: number;
  json?: boolean;
  batchSize: number;
  batchWindow: number;
  consumer: string;
  timeout: number;
  leaseDuration: number;
  format: LandingFormat;
  trackingPlan?: string;
  summary?: boolean;
}

export function runCommand(): Command {
  return new Command('run')
    .description('simulate users and run producer → stream → consumer → sink in one process')
    .addOption(options.events())
    .addOption(options.rate())
    .addOption(options.users())
    .addOption(options.shards())
    .addOption(options.stream())
    .addOption(options.sink())
    .addOption(options.seed())
    .addOption(options.span())
    .addOption(options.violations())
    .addOption(options.json())
    .addOption(options.batchSize())
    .addOption(options.batchWindow())
    .addOption(options.consumer())
    .addOption(options.timeout())
    .addOption(options.leaseDuration())
    .addOption(options.format())
    .addOption(options.trackingPlan())
    .addOption(
      new Option(
        '--summary',
        'end with a short table of what landed (events by type, top users, revenue) from the sink',
      ),
    )
    .addHelpText(
      'after',
      '\nWithout --events it runs until Ctrl-C (SIGINT) or SIGTERM, then stops producing, lands everything\nalready accepted and prints its summary. With --events N it exits once all N have landed.',
    )
    .action((flags: RunFlags) => run(flags));
}

async function run(flags: RunFlags): Promise<void> {
  // A bad plan fails at once, before any event is produced; each consumer thread compiles its own.
  if (flags.trackingPlan !== undefined) await TrackingPlan.fromFile(flags.trackingPlan);
  const { stream } = await connectStream(flags.stream, flags.shards);
  // Checks the sink before any event is produced, so a bad sink fails at once.
  const store = await connectStore(flags.sink);
  await store.close();
  const producer = new BatchingProducer(stream);
  const openShards = (await stream.listShards()).filter(
    (s) => s.sequenceNumberRange.endingSequenceNumber === undefined,
  ).length;
  const consumer = new ConsumerThreads(
    {
      stream: flags.stream,
      sink: flags.sink,
      batchSize: flags.batchSize,
      batchWindowMs: flags.batchWindow,
      consumerName: flags.consumer,
      invocationTimeoutMs: flags.timeout * 1000,
      leaseDurationMs: flags.leaseDuration,
      format: flags.format,
      ...(flags.trackingPlan === undefined ? {} : { trackingPlan: path.resolve(flags.trackingPlan) }),
    },
    openShards,
    CONSUMER_THREADS,
    (message) => process.stderr.write(`\nactivity: ${message}\n`),
  );
  const stop = new AbortController();
  const removeHandlers = onShutdown(() => stop.abort());
  const started = performance.now();
  const startedAt = new Date();
  const rejected: string[] = [];

  const progress = flags.json
    ? undefined
    : startProgress(() => {
        const seconds = (performance.now() - started) / 1000;
        const { landed } = consumer;
        const lag = Math.max(0, producer.stats.accepted - consumer.stats.records);
        return `produced ${formatCount(producer.stats.accepted)} · landed ${formatCount(landed.events)} · errors ${formatCount(landed.errors)} · objects ${formatCount(landed.objects)} · ${formatCount(landed.events / Math.max(seconds, 0.001))} events/s · lag ${formatCount(lag)}`;
      });

  // A failing consumer stops production at once instead of letting the stream fill up.
  const consuming = consumer.done.catch((error) => {
    stop.abort();
    throw error;
  });
  consuming.catch(() => undefined); // awaited below; this only marks it handled meanwhile
  try {
    // Events made while the consumer threads start would wait for them: at 10,000 events/s that
    // backlog of a second or more was most of the latency's tail (BENCHMARKS.md). The wait counts
    // in the run's time.
    await Promise.race([consumer.ready, once(stop.signal, 'abort')]);
    await simulate(producer, {
      ...flags,
      signal: stop.signal,
      onRejected: (error) => {
        if (rejected.length < 5) rejected.push(describeError(error));
      },
    });
    await producer.flush();
    consumer.drain();
    await consuming;
  } finally {
    progress?.stop();
    removeHandlers();
    await producer.close().catch(() => undefined);
  }
  const { landed } = consumer;

  const seconds = (performance.now() - started) / 1000;
  const summary = {
    produced: producer.stats.accepted,
    landed: landed.events,
    errors: landed.errors,
    objects: landed.objects,
    bytes: landed.bytes,
    seconds: Number(seconds.toFixed(3)),
    events_per_s: Math.round(landed.events / Math.max(seconds, 0.001)),
    rejected: producer.stats.failed,
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    stream: flags.stream.kind === 'local' ? flags.stream.path : `kinesis://${flags.stream.name}`,
    sink: store.url,
  };
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } else {
    const out = [
      `activity run: landed ${formatCount(summary.landed)} events in ${summary.seconds.toFixed(2)} s (${formatCount(summary.events_per_s)} events/s)`,
      `  produced  ${formatCount(summary.produced)}`,
      `  landed    ${formatCount(summary.landed)} events in ${formatCount(summary.objects)} objects (${formatCount(summary.bytes / 1024)} KiB gzip)`,
      `  errors    ${formatCount(summary.errors)}${summary.errors > 0 ? ' (see errors/ in the sink)' : ''}`,
      `  stream    ${summary.stream}`,
      `  sink      ${summary.sink}  (events/dt=YYYY-MM-DD/hour=HH/*${flags.format === 'parquet' ? PARQUET.extension : '.ndjson.gz'})`,
    ];
    process.stdout.write(`${out.join('\n')}\n`);
    if (flags.summary) {
      const { landedSummary } = await import('../../report/index.js');
      // With --span, the simulated events reach back that far before the start.
      const since = new Date(startedAt.getTime() - (flags.span ?? 0));
      process.stdout.write(await landedSummary(flags.sink, { since }));
    }
  }
  for (const message of rejected) process.stderr.write(`activity: not accepted: ${message}\n`);
  if (producer.stats.failed > 0) process.exitCode = 1;
}
