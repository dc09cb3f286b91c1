import { Command } from 'commander';
import type { StreamLocation } from '../../core/locations.js';
import type { Lease, StreamDescription } from '../../core/ports.js';
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
    .description(
      'show shards, hash-key ranges, retention, record count, and which consumer holds which shard',
    )
    .addOption(options.stream())
    .addOption(options.json())
    .action(async (flags: StreamFlags) => {
      const connection = await openStream(flags.stream, { createIfMissing: false });
      try {
        const description = await connection.stream.describe();
        print(description, flags.json, await connection.leases.list());
      } finally {
        await connection.close();
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

function print(description: StreamDescription, json?: boolean, leases?: Lease[]): void {
  if (json) {
    process.stdout.write(
      `${JSON.stringify(leases === undefined ? description : { ...description, leases })}\n`,
    );
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
    ...(leases === undefined ? [] : leaseLines(leases, Date.now())),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Who holds which shard, per consumer name: an owner and when its lease runs out, or free. */
function leaseLines(leases: readonly Lease[], now: number): string[] {
  if (leases.length === 0) return ['leases    none (no consumer has read it yet)'];
  const lines = ['leases'];
  let consumer: string | undefined;
  for (const lease of leases) {
    if (lease.consumer !== consumer) {
      consumer = lease.consumer;
      lines.push(`  consumer ${consumer}`);
    }
    const left = lease.expiresAt - now;
    const state =
      lease.owner === undefined
        ? 'free'
        : left > 0
          ? `held by ${lease.owner} (counter ${lease.counter}; runs out in ${(left / 1000).toFixed(1)} s)`
          : `was held by ${lease.owner}; ran out ${(-left / 1000).toFixed(1)} s ago (free to take)`;
    const claim = lease.claimant === undefined ? '' : `, asked for by ${lease.claimant}`;
    lines.push(`    ${lease.shardId}  ${state}${claim}`);
  }
  return lines;
}
