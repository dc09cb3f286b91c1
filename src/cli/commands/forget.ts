import { Command, Option } from 'commander';
import type { SinkLocation } from '../../core/locations.js';
import type { ForgetResult } from '../../forget/index.js';
import { options } from '../options.js';
import { formatCount } from '../progress.js';
import { onShutdown } from '../signals.js';

interface ForgetFlags {
  sink: SinkLocation;
  user: string[];
  keyFile?: string;
  dryRun?: boolean;
  json?: boolean;
}

const HELP = `
Every object of events/ (NDJSON, Parquet, compacted) and errors/ that holds a record of the users
(errors/ by the record's partition key, and by the user_id of its bytes where they decode) is
rewritten without them under its own key, or deleted when nothing else was in it (an errors/
object is left empty instead). Readers see the old object or the new one, never a remaining event
twice or not at all.

First the users are added to the sink's list of forgotten users, <sink>/_forgotten/users.json: keyed
hashes (HMAC-SHA-256), never the ids. The consumer (activity consume and run, and the Lambda
function) drops their records, reading the list at most every 30 s, so the stream, a replay
(consume --from) and redrive do not bring them back. The key is in the file --key-file names, else
FORGET_KEY (16 characters or more; 64 hex digits are 32 bytes), else in the file FORGET_KEY_FILE
names, else <sink>/_forgotten/key, made at random by the first run. Every consumer of the sink needs
the same key.

Safe to run again: a second run finds nothing. Ends with a receipt: objects rewritten and deleted,
records removed per dataset, time taken. --dry-run lists the objects that would change.`;

export function forgetCommand(): Command {
  return new Command('forget')
    .description('erase users from every landed object, and keep them out of later landings')
    .addOption(
      new Option('--user <id>', 'a user_id to forget; repeat for more').argParser(
        (raw: string, previous: string[] | undefined) => [...(previous ?? []), raw],
      ),
    )
    .addOption(options.sink())
    .addOption(
      new Option('--key-file <file>', 'a file holding the key of the hashes (default: FORGET_KEY_FILE)'),
    )
    .addOption(new Option('--dry-run', 'list the objects that would change, and change nothing'))
    .addOption(options.json())
    .addHelpText('after', HELP)
    .action((flags: ForgetFlags) => forgetAction(flags));
}

async function forgetAction(flags: ForgetFlags): Promise<void> {
  const stop = new AbortController();
  const removeHandlers = onShutdown(() => stop.abort());
  let result: ForgetResult;
  try {
    const { forget, keySourceFromEnv } = await import('../../forget/index.js');
    const keySource = flags.keyFile === undefined ? keySourceFromEnv() : { keyFile: flags.keyFile };
    result = await forget(flags.sink, flags.user ?? [], {
      dryRun: flags.dryRun ?? false,
      keySource,
      signal: stop.signal,
      onObject: (o) => {
        if (flags.json) return;
        const what = flags.dryRun
          ? `would ${o.remaining === 0 ? 'delete' : 'rewrite'}`
          : o.remaining === 0
            ? 'deleted'
            : 'rewrote';
        process.stderr.write(
          `  ${what} ${o.key}: ${formatCount(o.removed)} record(s) of the users, ${formatCount(o.remaining)} left\n`,
        );
      },
    });
  } finally {
    removeHandlers();
  }
  if (flags.json) {
    process.stdout.write(
      `${JSON.stringify({
        dry_run: result.dryRun,
        users: result.users,
        added_to_list: result.addedToList,
        objects_scanned: result.scanned.events + result.scanned.errors,
        objects_rewritten: result.rewritten,
        objects_deleted: result.deleted,
        removed: result.removed,
        rescanned: result.rescanned,
        duration_ms: result.durationMs,
        objects: result.objects,
      })}\n`,
    );
    return;
  }
  const removed = `${plural(result.removed.events, 'event')} and ${plural(result.removed.errors, 'error record')}`;
  const objects = `${plural(result.rewritten, 'object')} rewritten, ${formatCount(result.deleted)} deleted`;
  const scanned = `${plural(result.scanned.events + result.scanned.errors, 'object')} read in ${seconds(result.durationMs)}`;
  if (result.dryRun) {
    process.stdout.write(
      `activity forget: would remove ${removed} of ${plural(result.users, 'user')} (${objects.replace('rewritten', 'to rewrite').replace('deleted', 'to delete')}); ${scanned} (dry run: nothing changed)\n`,
    );
    return;
  }
  process.stdout.write(
    `activity forget: removed ${removed} of ${plural(result.users, 'user')}: ${objects}; ${scanned}; ${formatCount(result.addedToList)} added to the list of forgotten users\n`,
  );
}

function plural(n: number, noun: string): string {
  return `${formatCount(n)} ${noun}${n === 1 ? '' : 's'}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}
