import { Command } from 'commander';
import type { StreamLocation } from '../../core/locations.js';
import type { StreamDescription } from '../../core/ports.js';
import { DEFAULT_LOCAL_SHARDS } from '../../stream/local/index.js';
import { openStream } from '../../stream/open-stream.js';
import { options } from '../options.js';

interface StreamFlags {
  stream: StreamLocation;
  shards?: number;
  json?: boolean;
}

export function streamCommand(): Command {
  const command = new Command('stream').description('create, describe or delete a stream');
  command
    .command('create')
    .description(`create the stream (the embedded log with ${DEFAULT_LOCAL_SHARDS} shards unless --shards)`)
    .addOption(options.stream())
    .addOption(options.shards())
    .addOption(options.json())
    .action(async (flags: StreamFlags) => {
      const { stream } = await openStream(flags.stream, { createIfMissing: false });
      try {
        print(await stream.create({ shards: flags.shards ?? DEFAULT_LOCAL_SHARDS }), flags.json);
      } finally {
        await stream.close();
      }
    });
  command
    .command('describe')
    .description('show shards, hash-key ranges, retention and record count')
    .addOption(options.stream())
    .addOption(options.json())
    .action(async (flags: StreamFlags) => {
      const { stream } = await openStream(flags.stream, { createIfMissing: false });
      try {
        print(await stream.describe(), flags.json);
      } finally {
        await stream.close();
      }
    });
  command
    .command('delete')
    .description('delete the stream and every record in it')
    .addOption(options.stream())
    .action(async (flags: StreamFlags) => {
      const { stream } = await openStream(flags.stream, { createIfMissing: false });
      try {
        await stream.delete();
        process.stdout.write('deleted\n');
      } finally {
        await stream.close();
      }
    });
  return command;
}

function print(description: StreamDescription, json?: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(description)}\n`);
    return;
  }
  const lines = [
    `stream    ${description.name} (${description.status})`,
    `arn       ${description.arn}`,
    `retention ${description.retentionHours} h`,
    ...(description.recordCount === undefined ? [] : [`records   ${description.recordCount}`]),
    `shards    ${description.shards.length}`,
    ...description.shards.map(
      (s) => `  ${s.shardId}  hash keys ${s.hashKeyRange.startingHashKey}..${s.hashKeyRange.endingHashKey}`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
