import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import { ConfigError } from '../../core/errors.js';
import type { SinkLocation } from '../../core/locations.js';
import { QueryError } from '../../query/errors.js';
import { options } from '../options.js';
import { formatCount } from '../progress.js';

interface ReportFlags {
  sink: SinkLocation;
  out: string;
  json?: boolean;
}

export const DEFAULT_REPORT_FILE = 'activity-report.html';

function parseOut(raw: string): string {
  if (raw.trim() === '' || raw.includes('\0'))
    throw new ConfigError(`--out must be a file path (given "${raw}")`);
  return raw;
}

export function reportCommand(): Command {
  return new Command('report')
    .description(
      'write a self-contained HTML page of charts from the landed data: activity by event type, sessions, funnel, revenue, errors',
    )
    .addOption(options.sink())
    .addOption(
      new Option('--out <file>', 'the HTML file to write (replaced if it exists)')
        .argParser(parseOut)
        .default(DEFAULT_REPORT_FILE),
    )
    .addOption(options.json())
    .addHelpText(
      'after',
      '\nThe page has everything inline (CSS and SVG, no script, nothing fetched): open it in any browser,\nattach it to a mail. Figures come from the events view (deduplicated by event_id) and errors.',
    )
    .action((flags: ReportFlags) => report(flags));
}

async function report(flags: ReportFlags): Promise<void> {
  const { collectReport, renderReport } = await import('../../report/index.js');
  const data = await collectReport(flags.sink);
  const file = path.resolve(flags.out);
  await writeFile(file, renderReport(data)).catch((error: NodeJS.ErrnoException) => {
    throw new QueryError(
      'report_not_written',
      `could not write the report to ${file} (${error.code ?? error.message}): check --out`,
      { cause: error },
    );
  });
  if (flags.json) {
    process.stdout.write(
      `${JSON.stringify({ file, events: data.events, users: data.users, sessions: data.sessions, errors: data.errors, sink: data.sink })}\n`,
    );
  } else {
    process.stdout.write(
      `activity report: wrote ${file} (${formatCount(data.events)} events, ${formatCount(data.sessions)} sessions, ${formatCount(data.errors)} errors from ${data.sink}); open it in a browser\n`,
    );
  }
}
