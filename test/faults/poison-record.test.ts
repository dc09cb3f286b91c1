import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonSummary, runCli, startCli } from '../support/cli.js';
import { readLanded } from '../support/landed.js';
import { useTempDir } from '../support/temp.js';
import { useChildren } from './support.js';

const tempDir = useTempDir();
const own = useChildren();

/** Records that are valid JSON with the required fields, but whose values are out of every range. */
const POISON = [
  { user_id: 'u-huge-seconds', event: 'click', timestamp: 1e300 },
  { user_id: 'u-huge-ms', event: 'click', timestamp: 8_640_000_000_000_001 },
  { user_id: 'u-huge-received', event: 'click', timestamp: 1_764_099_072, received_at: 1e20 },
  { user_id: 'u-huge-sent', event: 'click', timestamp: 1_764_099_072, sent_at: 1e17 },
  { user_id: 'u-year-10000', event: 'click', timestamp: 1_764_099_072, received_at: 253_402_300_800_000 },
];

describe('a poison record', () => {
  it('lands in errors/ and never blocks its shard', async () => {
    // Prepare: valid events around records whose values no date can hold, sent raw.
    const dir = await tempDir();
    const stream = path.join(dir, 'stream');
    const sink = path.join(dir, 'sink');
    const valid = Array.from({ length: 20 }, (_, i) => ({
      event_id: `valid-${i}`,
      user_id: `user_${i % 3}`,
      event: 'click',
      timestamp: 1_764_099_072 + i,
    }));
    const lines = [...valid.slice(0, 10), ...POISON, ...valid.slice(10)].map((e) => JSON.stringify(e));
    const input = path.join(dir, 'input.ndjson');
    await writeFile(input, `${lines.join('\n')}\n`);
    const produced = await runCli([
      'produce',
      '--stream',
      stream,
      '--shards',
      '1',
      '--input',
      input,
      '--raw',
    ]);
    expect(produced.code, produced.stderr).toBe(0);

    // Act: consume until idle. A batch that fails on bad data is retried for ever and never lands: stop
    // at the first such failure rather than wait.
    const consumer = own(startCli(['consume', '--stream', stream, '--sink', sink, '--until-idle', '--json']));
    let blocked: string | undefined;
    consumer.child.stderr?.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      if (blocked === undefined && /batch failed/.test(text)) {
        blocked = text.trim();
        consumer.child.kill('SIGKILL');
      }
    });
    const result = await consumer.done;

    // Assess
    expect(blocked, 'the consumer retried a batch of bad data instead of landing it').toBeUndefined();
    expect(result.code, result.stderr).toBe(0);
    expect(jsonSummary(result)).toMatchObject({ landed: valid.length, errors: POISON.length });
    const landed = await readLanded(sink);
    expect(landed.events.map((e) => e.event_id).sort()).toEqual(valid.map((e) => e.event_id).sort());
    expect(landed.errors.map((e) => e.partition_key).sort()).toEqual(POISON.map((e) => e.user_id).sort());
  });
});
