import { pathToFileURL } from 'node:url';
import { Command, Option } from 'commander';
import { describeError } from '../../core/errors.js';
import type { SinkLocation, StreamLocation } from '../../core/locations.js';
import { ForgottenList } from '../../forget/forgotten-list.js';
import {
  parseReasons,
  REDRIVE_REASONS,
  type RedriveResult,
  type RedriveStats,
  redrive,
} from '../../redrive/index.js';
import { openStore } from '../../sink/open-store.js';
import { openStream } from '../../stream/open-stream.js';
import { options } from '../options.js';
import { connectStore, connectStream } from '../pipeline.js';
import { formatCount, startProgress } from '../progress.js';
import { onShutdown } from '../signals.js';

interface RedriveFlags {
  sink: SinkLocation;
  stream: StreamLocation;
  reason?: string[];
  dryRun?: boolean;
  includeRelanded?: boolean;
  json?: boolean;
}

/** Messages about single records or lines shown in full; the rest are counted. */
const SHOWN_PROBLEMS = 10;

export function redriveCommand(): Command {
  return new Command('redrive')
    .description('send records kept in errors/ back to the stream, with their original bytes and keys')
    .addOption(options.sink())
    .addOption(options.stream())
    .addOption(
      new Option(
        '--reason <code>',
        'only records that landed for this reason; repeat or separate with commas (default: every reason)',
      ).argParser((raw: string, previous: string[] | undefined) => [
        ...(previous ?? []),
        ...parseReasons([raw]),
      ]),
    )
    .addOption(new Option('--dry-run', 'count what would be sent, per reason, without sending or writing'))
    .addOption(
      new Option(
        '--include-relanded',
        'also send records that landed in errors/ again after an earlier redrive (by default they are not)',
      ),
    )
    .addOption(options.json())
    .addHelpText(
      'after',
      [
        '',
        "Each line of errors/ keeps its record's original bytes and partition key; redrive puts them back on",
        'the stream unchanged, for the consumer to land again (in errors/ again if they are still invalid).',
        ...wrap(`Reasons: ${REDRIVE_REASONS.join(', ')}.`, 100),
        '',
        'What was sent is recorded per errors/ object in a gzipped JSON manifest under a hidden name that',
        'readers skip, <sink>/_redrive/<errors object key>.json.gz: the line numbers, where each record was',
        'and where the stream put it, the stream, the time and the reasons. Later runs skip those lines, so',
        'running it again (with another --reason, say) sends only what was not sent yet. Records that come',
        'back to errors/ after a redrive are not sent again unless --include-relanded.',
        '',
        "The manifest is written once the stream has accepted an object's selected records: a crash in",
        'between sends them again on the next run. Events with an event_id are deduplicated by it downstream;',
        'records without one get a new id from their new stream position. Records the stream refuses are',
        'reported and left unrecorded (exit code 1), so the next run tries them again. Run one redrive at a',
        'time per sink; Ctrl-C finishes the object in hand and records what was sent.',
      ].join('\n'),
    )
    .action((flags: RedriveFlags) => redriveAction(flags));
}

async function redriveAction(flags: RedriveFlags): Promise<void> {
  const reasons = flags.reason === undefined ? undefined : [...new Set(flags.reason)];
  const streamName = streamUrl(flags.stream);
  // A dry run writes nothing, not even an empty sink directory or a new embedded log: the stream is
  // only asked for its ARN.
  const store = flags.dryRun ? await openStore(flags.sink) : await connectStore(flags.sink);
  if (flags.dryRun && flags.sink.kind === 's3') await store.connect();
  const { stream } = flags.dryRun ? await openStream(flags.stream) : await connectStream(flags.stream);
  const stop = new AbortController();
  const removeHandlers = onShutdown(() => stop.abort());
  const started = performance.now();
  const problems: string[] = [];
  let hidden = 0;
  const report = (message: string) => {
    if (problems.length < SHOWN_PROBLEMS) problems.push(message);
    else hidden++;
  };
  let latest: RedriveStats | undefined;
  const progress = flags.json
    ? undefined
    : startProgress(() => {
        const s = latest;
        if (s === undefined) return 'reading errors/ manifests';
        return `${flags.dryRun ? 'would send' : 'sent'} ${formatCount(s.sent)} · skipped ${formatCount(s.skipped)} · objects ${formatCount(s.objectsRead)}/${formatCount(s.objects)}${s.rejected > 0 ? ` · refused ${formatCount(s.rejected)}` : ''}`;
      });
  let result: RedriveResult;
  try {
    if (flags.dryRun && flags.stream.kind === 'kinesis') await stream.connect();
    // Records of users erased by `activity forget` are never sent back.
    const forgotten = await new ForgottenList(store).load(stop.signal);
    result = await redrive(store, flags.dryRun ? undefined : stream, {
      forgotten,
      streamName,
      streamArn: stream.streamArn,
      ...(reasons === undefined ? {} : { reasons }),
      dryRun: flags.dryRun ?? false,
      includeRelanded: flags.includeRelanded ?? false,
      signal: stop.signal,
      onRejected: (r) =>
        report(`not sent: ${r.object} line ${r.line} (${r.reason}): ${describeError(r.error)}`),
      warn: report,
      onProgress: (stats) => {
        latest = stats;
      },
    });
  } finally {
    progress?.stop();
    removeHandlers();
    await stream.close();
    await store.close();
  }
  for (const message of problems) process.stderr.write(`activity: ${message}\n`);
  if (hidden > 0) process.stderr.write(`activity: … and ${formatCount(hidden)} more\n`);
  const seconds = Number(((performance.now() - started) / 1000).toFixed(3));
  if (flags.json) {
    process.stdout.write(
      `${JSON.stringify({
        dry_run: result.dryRun,
        sent: result.sent,
        by_reason: result.byReason,
        objects: result.objectsSent,
        error_objects: result.objects,
        skipped: result.skipped,
        relanded: result.relanded,
        rejected: result.rejected,
        forgotten: result.forgotten,
        unreadable_lines: result.unreadableLines,
        unreadable_objects: result.unreadableObjects,
        manifests: result.manifests,
        reasons: result.reasons,
        stopped: result.stopped,
        stream: result.stream,
        sink: store.url,
        seconds,
      })}\n`,
    );
  } else {
    process.stdout.write(`${summaryLine(result)}\n`);
  }
  if (result.rejected > 0 || result.unreadableLines > 0 || result.unreadableObjects > 0) process.exitCode = 1;
}

/** `activity redrive: sent N records (reason: count, …) from M error objects to STREAM; skipped K already re-driven` */
function summaryLine(r: RedriveResult): string {
  const reasons = Object.entries(r.byReason)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([reason, n]) => `${reason}: ${formatCount(n)}`)
    .join(', ');
  const records = `${formatCount(r.sent)} record${r.sent === 1 ? '' : 's'}${reasons === '' ? '' : ` (${reasons})`}`;
  const objects = `${formatCount(r.objectsSent)} error object${r.objectsSent === 1 ? '' : 's'}`;
  let line = `activity redrive: ${r.dryRun ? 'would send' : 'sent'} ${records} from ${objects} to ${r.stream}; skipped ${formatCount(r.skipped)} already re-driven`;
  if (r.relanded > 0)
    line += ` (${formatCount(r.relanded)} of them back in errors/ after an earlier redrive)`;
  if (r.rejected > 0) line += `; ${formatCount(r.rejected)} refused by the stream`;
  if (r.forgotten > 0) line += `; ${formatCount(r.forgotten)} of forgotten users not sent`;
  const unreadable = r.unreadableLines + r.unreadableObjects;
  if (unreadable > 0) line += `; ${formatCount(unreadable)} unreadable lines or objects`;
  if (r.stopped) line += '; stopped before the end';
  if (r.dryRun) line += ' (dry run: nothing sent or written)';
  return line;
}

/** The stream as a URL, for the summary and the manifests. */
function streamUrl(location: StreamLocation): string {
  return location.kind === 'kinesis' ? `kinesis://${location.name}` : pathToFileURL(location.path).href;
}

/** Lines of at most `width` characters, broken at spaces. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  return [...lines, line];
}
