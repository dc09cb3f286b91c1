import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Argument, Command, Option } from 'commander';
import type { SinkLocation } from '../../core/locations.js';
import { QueryError } from '../../query/errors.js';
import { filePath, options } from '../options.js';

interface PlanFlags {
  sink: SinkLocation;
  out?: string;
  json?: boolean;
}

const HELP = `
A tracking plan is one JSON file: for each event name a JSON Schema (draft 2020-12) of its properties
(and of context.traits for identify), and three policies: unplanned_events (allow | reject),
unplanned_properties (allow | drop | reject), violations (reject | flag). See the README.

Examples:
  activity plan infer --out plan.json      # a draft from what has landed in ./data
  activity plan check plan.json            # after editing it
  activity plan diff plan.json             # what landed that the plan would refuse, by rule`;

export function planCommand(): Command {
  const command = new Command('plan')
    .description('check a tracking plan, draft one from the landed data, or compare one with it')
    .addHelpText('after', HELP);
  command
    .command('check')
    .description(
      'check a tracking plan file: its shape, its policies, every schema in it, and that each planned event gets its typed views',
    )
    .addArgument(new Argument('<file>', 'the plan (JSON)').argParser(filePath('file')))
    .addOption(options.json())
    .action(async (file: string, flags: PlanFlags) => {
      const { TrackingPlan, typedViews } = await import('../../plan/index.js');
      const plan = await TrackingPlan.fromFile(file);
      // Enforcing a plan needs no view, but `activity query` and the CDK app make them: a plan whose
      // views cannot all be made (two events or properties on one name) is refused here as there.
      typedViews(plan, 'duckdb');
      typedViews(plan, 'athena');
      const events = plan.eventNames;
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ file, events, policies: plan.policies })}\n`);
        return;
      }
      const policies = Object.entries(plan.policies)
        .map(([name, value]) => `${name} ${value}`)
        .join(', ');
      process.stdout.write(
        `activity plan: ${file} is valid: ${events.length} event${events.length === 1 ? '' : 's'} (${events.join(', ')}); ${policies}\n`,
      );
    });
  command
    .command('infer')
    .description(
      'draft a tracking plan from the landed events: property types, required properties, examples',
    )
    .addOption(options.sink())
    .addOption(
      new Option(
        '--out <file>',
        'write the plan to this file (replaced if it exists) instead of stdout',
      ).argParser(filePath('--out')),
    )
    .action(async (flags: PlanFlags) => {
      const { inferPlan } = await import('../../plan/index.js');
      const plan = await withLanded(flags.sink, (data) =>
        inferPlan(data, `drafted by activity plan infer from ${data.url}: read it, tighten it, then use it`),
      );
      const text = `${JSON.stringify(plan, null, 2)}\n`;
      if (flags.out === undefined) {
        process.stdout.write(text);
        return;
      }
      const file = path.resolve(flags.out);
      await writeFile(file, text).catch((error: NodeJS.ErrnoException) => {
        throw new QueryError(
          'plan_not_written',
          `could not write the plan to ${file} (${error.code ?? error.message}): check --out`,
          {
            cause: error,
          },
        );
      });
      process.stderr.write(
        `activity plan: wrote a draft of ${Object.keys(plan.events).length} events to ${file}\n`,
      );
    });
  command
    .command('diff')
    .description(
      'where the landed events and a plan disagree: unplanned events and properties, violations by rule',
    )
    .addArgument(new Argument('<file>', 'the plan (JSON)').argParser(filePath('file')))
    .addOption(options.sink())
    .addOption(options.json())
    .action(async (file: string, flags: PlanFlags) => {
      const { diffWithLanded, formatDiff, TrackingPlan } = await import('../../plan/index.js');
      const plan = await TrackingPlan.fromFile(file);
      const diff = await withLanded(flags.sink, (data) => diffWithLanded(plan, data));
      process.stdout.write(flags.json ? `${JSON.stringify(diff)}\n` : formatDiff(diff));
    });
  return command;
}

async function withLanded<T>(
  sink: SinkLocation,
  use: (data: import('../../query/index.js').LandedData) => Promise<T>,
): Promise<T> {
  // DuckDB loads here, not when the CLI starts.
  const { LandedData } = await import('../../query/index.js');
  const data = await LandedData.open(sink);
  try {
    return await use(data);
  } finally {
    await data.close();
  }
}
