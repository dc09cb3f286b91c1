import { createReadStream } from 'node:fs';
import { Command, Option } from 'commander';
import { ConfigError, describeError } from '../../core/errors.js';
import type { StreamLocation } from '../../core/locations.js';
import type { RecordToPut } from '../../core/ports.js';
import { parseEventRecord } from '../../event/index.js';
import { describeViolations, TrackingPlan } from '../../plan/index.js';
import { BatchingProducer, uuidv7 } from '../../producer/index.js';
import { byteLines } from '../lines.js';
import { options } from '../options.js';
import { connectStream, simulate } from '../pipeline.js';
import { formatCount, startProgress } from '../progress.js';
import { onShutdown } from '../signals.js';

interface ProduceFlags {
  stream: StreamLocation;
  shards?: number;
  events?: number;
  rate?: number;
  users: number;
  seed?: string;
  span?: number;
  violations: number;
  input?: string;
  raw?: boolean;
  json?: boolean;
  trackingPlan?: string;
}

export function produceCommand(): Command {
  return new Command('produce')
    .description('send simulated activity, or NDJSON events from a file or stdin, to the stream')
    .addOption(options.stream())
    .addOption(options.shards())
    .addOption(options.events())
    .addOption(options.rate())
    .addOption(options.users())
    .addOption(options.seed())
    .addOption(options.span())
    .addOption(options.violations())
    .addOption(
      new Option('--input <file>', 'send NDJSON events from FILE ("-" for stdin) instead of simulating'),
    )
    .addOption(
      new Option('--raw', "with --input: send each line's bytes untouched, unvalidated (for replays)"),
    )
    .addOption(options.trackingPlan())
    .addOption(options.json())
    .addHelpText(
      'after',
      '\nInput lines are validated like every event ({"user_id","event","timestamp"} at least; epoch seconds,\nmilliseconds or ISO 8601): bad lines are reported with their line numbers and the exit code is 1.\nWith --tracking-plan, lines the plan refuses are reported (with its reason) and not sent, and the exit\ncode is 1. Events without an event_id get a UUIDv7.',
    )
    .action((flags: ProduceFlags) => produce(flags));
}

async function produce(flags: ProduceFlags): Promise<void> {
  if (flags.raw && flags.input === undefined) throw new ConfigError('--raw needs --input FILE or --input -');
  if (flags.trackingPlan !== undefined && (flags.input === undefined || flags.raw)) {
    throw new ConfigError('--tracking-plan checks the lines of --input FILE (without --raw)');
  }
  const plan = flags.trackingPlan === undefined ? undefined : await TrackingPlan.fromFile(flags.trackingPlan);
  const { stream } = await connectStream(flags.stream, flags.shards);
  const producer = new BatchingProducer(stream);
  const stop = new AbortController();
  const removeHandlers = onShutdown(() => stop.abort());
  const started = performance.now();
  let invalid = 0;
  let unplanned = 0;
  const notAccepted: string[] = [];
  const onRejected = (error: unknown) => {
    if (notAccepted.length < 10) notAccepted.push(describeError(error));
  };
  const progress = flags.json
    ? undefined
    : startProgress(
        () =>
          `accepted ${formatCount(producer.stats.accepted)} · ${formatCount(producer.stats.accepted / Math.max((performance.now() - started) / 1000, 0.001))} events/s`,
      );
  try {
    if (flags.input === undefined) {
      await simulate(producer, { ...flags, signal: stop.signal, onRejected });
    } else {
      const input = flags.input === '-' ? process.stdin : createReadStream(flags.input);
      for await (const { line, number } of byteLines(input)) {
        if (stop.signal.aborted) break;
        const record = flags.raw ? rawRecord(line, number) : validRecord(line, plan);
        if ('error' in record) {
          if (record.byPlan) unplanned++;
          else invalid++;
          process.stderr.write(`activity: line ${number}: ${record.error}\n`);
          continue;
        }
        producer.put(record).catch(onRejected);
        await producer.ready();
      }
    }
    await producer.flush();
  } finally {
    progress?.stop();
    removeHandlers();
    await producer.close().catch(() => undefined);
    await stream.close();
  }
  const summary = {
    accepted: producer.stats.accepted,
    invalid,
    ...(plan === undefined ? {} : { refused_by_plan: unplanned }),
    rejected: producer.stats.failed,
    seconds: Number(((performance.now() - started) / 1000).toFixed(3)),
  };
  for (const message of notAccepted) process.stderr.write(`activity: not accepted: ${message}\n`);
  if (flags.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    process.stdout.write(
      `activity produce: ${formatCount(summary.accepted)} accepted, ${formatCount(invalid)} invalid lines, ${plan === undefined ? '' : `${formatCount(unplanned)} refused by the tracking plan, `}${formatCount(summary.rejected)} refused by the stream, in ${summary.seconds.toFixed(2)} s\n`,
    );
  }
  if (invalid > 0 || unplanned > 0 || summary.rejected > 0) process.exitCode = 1;
}

/**
 * A validated input line, with an event_id added when it has none, as the tracking plan (if any) lands
 * it: without dropped properties, or flagged; or why it is not sent.
 */
function validRecord(
  line: Buffer,
  plan: TrackingPlan | undefined,
): RecordToPut | { error: string; byPlan: boolean } {
  const result = parseEventRecord(line, { receivedAt: Date.now(), fallbackId: () => uuidv7(Date.now()) });
  if (!result.ok) return { error: `${result.reason}: ${result.message}`, byPlan: false };
  const verdict = plan?.check(result.event) ?? { ok: true, event: result.event };
  if (!verdict.ok) {
    const { reason, message } = describeViolations(verdict.violations);
    return { error: `${reason}: ${message}`, byPlan: true };
  }
  const { received_at: _receivedAt, ...event } = verdict.event;
  return { partitionKey: event.user_id, data: Buffer.from(JSON.stringify(event)) };
}

/** A raw line, sent as it is; partitioned by its user_id when it has one. */
function rawRecord(line: Buffer, number: number): RecordToPut {
  let partitionKey = `line-${number}`;
  try {
    const userId = (JSON.parse(line.toString('utf8')) as { user_id?: unknown }).user_id;
    if (typeof userId === 'string' && userId.length > 0 && userId.length <= 256) partitionKey = userId;
  } catch {
    // Not JSON: the consumer will land it in errors/ with its bytes.
  }
  return { partitionKey, data: line };
}
