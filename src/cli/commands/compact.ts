import { Command, Option } from 'commander';
import { defaultCompactBefore, parseCompactBefore } from '../../compact/before.js';
import type { CompactResult } from '../../compact/index.js';
import type { SinkLocation } from '../../core/locations.js';
import { options } from '../options.js';
import { formatCount } from '../progress.js';
import { onShutdown } from '../signals.js';

interface CompactFlags {
  sink: SinkLocation;
  before?: Date;
  dryRun?: boolean;
  json?: boolean;
}

const HELP = `
Each hour of events/ that ends at or before --before becomes one Parquet object,
events/dt=…/hour=…/compacted-<hash of its inputs>.parquet, one row per event_id, sorted by time;
then its inputs are deleted. Error objects (errors/) stay as they are: redrive reads them.

Queries running meanwhile see every event once: the compacted object is in place before any input
is deleted, the events view removes the copies while both are there, and a query that listed an
input deleted under it starts again. Late events for a compacted hour land beside the compacted
object; the next run merges them in. Safe to run again at any time (e.g. hourly from cron).
Rows of users erased by activity forget are left out of every compacted object.`;

export function compactCommand(): Command {
  return new Command('compact')
    .description('merge the objects of each closed hour of events into one Parquet object')
    .addOption(options.sink())
    .addOption(
      new Option(
        '--before <time>',
        'compact hours that end at or before this time: ISO 8601 (UTC unless it has an offset), epoch seconds or milliseconds, or a duration ago (2h, 7d) (default: the start of the previous hour)',
      ).argParser((raw: string) => parseCompactBefore(raw)),
    )
    .addOption(new Option('--dry-run', 'list the hours that would be compacted, and change nothing'))
    .addOption(options.json())
    .addHelpText('after', HELP)
    .action((flags: CompactFlags) => compactAction(flags));
}

async function compactAction(flags: CompactFlags): Promise<void> {
  const before = flags.before ?? defaultCompactBefore();
  const stop = new AbortController();
  const removeHandlers = onShutdown(() => stop.abort());
  let result: CompactResult;
  try {
    const { compact } = await import('../../compact/index.js');
    result = await compact(flags.sink, {
      before,
      dryRun: flags.dryRun ?? false,
      signal: stop.signal,
      onHour: (hour) => {
        if (!flags.json) {
          process.stderr.write(
            `  ${hour.partition}: ${formatCount(hour.inputs)} objects (${kib(hour.inputBytes)}) → ${formatCount(hour.events)} events (${kib(hour.bytes)})${hour.kept > 0 ? `, ${hour.kept} changed input(s) kept` : ''}\n`,
          );
        }
      },
    });
  } finally {
    removeHandlers();
  }
  const inputs = result.hours.reduce((n, h) => n + h.inputs, 0);
  const inputBytes = result.hours.reduce((n, h) => n + h.inputBytes, 0);
  const bytes = result.hours.reduce((n, h) => n + h.bytes, 0);
  const events = result.hours.reduce((n, h) => n + h.events, 0);
  if (flags.json) {
    process.stdout.write(
      `${JSON.stringify({
        dry_run: result.dryRun,
        before: result.before.toISOString(),
        hours: result.hours.length,
        objects_in: inputs,
        bytes_in: inputBytes,
        objects_out: result.dryRun ? 0 : result.hours.length,
        bytes_out: bytes,
        events,
        forgotten: result.hours.reduce((n, h) => n + h.forgotten, 0),
        already_compacted: result.alreadyCompacted,
        open_hours: result.open,
        partitions: result.hours.map((h) => h.partition),
      })}\n`,
    );
    return;
  }
  const tail = `${formatCount(result.alreadyCompacted)} already compacted, ${formatCount(result.open)} not closed before ${result.before.toISOString()}`;
  if (result.dryRun) {
    for (const h of result.hours)
      process.stdout.write(`  ${h.partition}: ${formatCount(h.inputs)} objects (${kib(h.inputBytes)})\n`);
    process.stdout.write(
      `activity compact: would compact ${plural(result.hours.length, 'hour')} (${plural(inputs, 'object')}, ${kib(inputBytes)}); ${tail} (dry run: nothing changed)\n`,
    );
    return;
  }
  process.stdout.write(
    `activity compact: compacted ${plural(result.hours.length, 'hour')}: ${plural(inputs, 'object')} (${kib(inputBytes)}) → ${plural(result.hours.length, 'Parquet object')} (${kib(bytes)}), ${plural(events, 'event')}; ${tail}\n`,
  );
}

function plural(n: number, noun: string): string {
  return `${formatCount(n)} ${noun}${n === 1 ? '' : 's'}`;
}

function kib(bytes: number): string {
  return bytes >= 10 * 1024 * 1024
    ? `${formatCount(bytes / 1024 / 1024)} MiB`
    : `${formatCount(bytes / 1024)} KiB`;
}
