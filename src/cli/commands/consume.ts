import { Command, Option } from 'commander';
import type { SinkLocation, StreamLocation } from '../../core/locations.js';
import { TrackingPlan } from '../../plan/index.js';
import type { LandingFormat } from '../../sink/formats/index.js';
import { options } from '../options.js';
import { connectStore, connectStream, startConsumer } from '../pipeline.js';
import { formatCount, startProgress } from '../progress.js';
import { onShutdown } from '../signals.js';

interface ConsumeFlags {
  stream: StreamLocation;
  sink: SinkLocation;
  untilIdle?: boolean;
  batchSize: number;
  batchWindow: number;
  consumer: string;
  timeout: number;
  leaseDuration: number;
  from?: Date;
  json?: boolean;
  format: LandingFormat;
  trackingPlan?: string;
}

export function consumeCommand(): Command {
  return new Command('consume')
    .description('read the stream and land events in the sink, as the Lambda event source mapping would')
    .addOption(options.stream())
    .addOption(options.sink())
    .addOption(new Option('--until-idle', 'exit once every shard is caught up and all it read has landed'))
    .addOption(options.batchSize())
    .addOption(options.batchWindow())
    .addOption(options.consumer())
    .addOption(options.timeout())
    .addOption(options.leaseDuration())
    .addOption(options.from())
    .addOption(options.json())
    .addOption(options.format())
    .addOption(options.trackingPlan())
    .addHelpText(
      'after',
      '\nCheckpoints move only after a batch has landed: stop it at any moment (even kill -9) and start it\nagain, and every event lands exactly once. Ctrl-C finishes the batch in hand and exits.\n\n' +
        'Consumers of one --consumer name (a second terminal, or `activity run` beside this) split the\n' +
        'shards by leases kept beside the checkpoints, so none lands a record another owns; the shards of\n' +
        'one killed with kill -9 move to the others once its leases run out (--lease-duration).\n\n' +
        '--from replays the stream from a time (within its retention) and moves the checkpoints on from\n' +
        'there. Events already landed are landed again under other object names: replay into a fresh\n' +
        '--sink, or count on `event_id` to remove the duplicates when querying.',
    )
    .action((flags: ConsumeFlags) => consume(flags));
}

async function consume(flags: ConsumeFlags): Promise<void> {
  const plan = flags.trackingPlan === undefined ? undefined : await TrackingPlan.fromFile(flags.trackingPlan);
  const connection = await connectStream(flags.stream);
  const store = await connectStore(flags.sink);
  const { runner, landed } = startConsumer(connection, store, {
    batchSize: flags.batchSize,
    batchWindowMs: flags.batchWindow,
    consumerName: flags.consumer,
    invocationTimeoutMs: flags.timeout * 1000,
    leaseDurationMs: flags.leaseDuration,
    format: flags.format,
    ...(plan === undefined ? {} : { plan }),
    ...(flags.from === undefined
      ? {}
      : { startingPosition: { type: 'AT_TIMESTAMP', timestamp: flags.from }, ignoreCheckpoints: true }),
  });
  const removeHandlers = onShutdown(() => runner.stop());
  const started = performance.now();
  const progress = flags.json
    ? undefined
    : startProgress(() => {
        const behind = Math.max(0, ...runner.stats.shards.map((s) => s.millisBehindLatest));
        const retrying = runner.stats.shards.find((s) => s.retrying !== undefined)?.retrying;
        return `landed ${formatCount(landed.events)} · errors ${formatCount(landed.errors)} · objects ${formatCount(landed.objects)} · behind ${formatCount(behind)} ms${retrying ? ` · retrying: ${retrying}` : ''}`;
      });
  try {
    await runner.run({ untilIdle: flags.untilIdle ?? false });
  } finally {
    progress?.stop();
    removeHandlers();
    await connection.close();
    await store.close();
  }
  const summary = {
    landed: landed.events,
    errors: landed.errors,
    objects: landed.objects,
    seconds: Number(((performance.now() - started) / 1000).toFixed(3)),
    sink: store.url,
  };
  if (flags.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    process.stdout.write(
      `activity consume: landed ${formatCount(summary.landed)} events and ${formatCount(summary.errors)} errors in ${formatCount(summary.objects)} objects at ${summary.sink}\n`,
    );
  }
}
