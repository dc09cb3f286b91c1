import { Command, CommanderError } from 'commander';
import { describeError, PipelineError } from '../core/errors.js';
import { collectCommand } from './commands/collect.js';
import { compactCommand } from './commands/compact.js';
import { consumeCommand } from './commands/consume.js';
import { forgetCommand } from './commands/forget.js';
import { planCommand } from './commands/plan.js';
import { produceCommand } from './commands/produce.js';
import { queryCommand } from './commands/query.js';
import { redriveCommand } from './commands/redrive.js';
import { reportCommand } from './commands/report.js';
import { runCommand } from './commands/run.js';
import { streamCommand } from './commands/stream.js';

export function buildProgram(): Command {
  return new Command('activity')
    .description(
      'Real-time user-activity pipeline: producers → stream (embedded log or Amazon Kinesis) → Lambda-compatible consumer → partitioned NDJSON gzip files.',
    )
    .version(process.env.npm_package_version ?? '0.1.0')
    .addCommand(runCommand())
    .addCommand(produceCommand())
    .addCommand(consumeCommand())
    .addCommand(collectCommand())
    .addCommand(streamCommand())
    .addCommand(redriveCommand())
    .addCommand(queryCommand())
    .addCommand(compactCommand())
    .addCommand(reportCommand())
    .addCommand(planCommand())
    .addCommand(forgetCommand());
}

/** Runs the CLI; every error ends in one line on stderr and a non-zero exit code. */
export async function main(argv: string[] = process.argv): Promise<void> {
  const program = buildProgram();
  const strict = (command: Command): void => {
    command.exitOverride().showHelpAfterError('(run with --help for usage)');
    for (const sub of command.commands) strict(sub);
  };
  strict(program);
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed its message (unknown flag, missing argument, --help).
      process.exitCode = error.exitCode;
      return;
    }
    process.stderr.write(`activity: ${describeError(error)}\n`);
    if (process.env.ACTIVITY_DEBUG && error instanceof Error) {
      // Where it came from and whether it may pass, then the stack.
      if (error instanceof PipelineError)
        process.stderr.write(`stage ${error.stage}, code ${error.code}, retriable ${error.retriable}\n`);
      process.stderr.write(`${error.stack}\n`);
    }
    process.exitCode = error instanceof PipelineError && error.code === 'invalid_config' ? 2 : 1;
  }
}
