import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonSummary, runCli, startCli } from '../support/cli.js';
import { readLanded } from '../support/landed.js';
import { readLog, textOf } from '../support/stream-records.js';
import { useTempDir } from '../support/temp.js';
import { waitFor } from '../support/wait.js';

const tempDir = useTempDir();
const FORGOTTEN = 'user_3';

describe('activity forget beside a running consumer', () => {
  it('erases a user while events keep landing; a second run finds what was in hand; nothing else is lost or doubled', async () => {
    // Prepare: a consumer that keeps running, and a producer adding events of 20 users meanwhile.
    const cwd = await tempDir();
    const stream = path.join(cwd, 'stream');
    const sink = path.join(cwd, 'data');
    const cli = async (...args: string[]) => {
      const result = await runCli(args, { cwd });
      expect(result.code, result.stderr).toBe(0);
      return result;
    };
    await cli('stream', 'create', '--stream', stream, '--shards', '2');
    const consumer = startCli(
      ['consume', '--stream', stream, '--sink', sink, '--batch-window', '100', '--json'],
      {
        cwd,
      },
    );
    const producer = startCli(
      [
        'produce',
        '--stream',
        stream,
        '--events',
        '8000',
        '--users',
        '20',
        '--rate',
        '2000',
        '--seed',
        'beside',
      ],
      { cwd },
    );
    const landedIds = async (keep: (user: unknown) => boolean) =>
      (await readLanded(sink)).events.filter((e) => keep(e.user_id)).map((e) => e.event_id as string);
    await waitFor(
      `some events of ${FORGOTTEN} to land`,
      async () => (await landedIds((u) => u === FORGOTTEN)).length > 0,
    );

    // Act: forget the user while the producer and the consumer go on; once everything is in, once more.
    const first = jsonSummary(await cli('forget', '--user', FORGOTTEN, '--sink', sink, '--json'));
    const produced = await producer.done;
    expect(produced.code, produced.stderr).toBe(0);
    const inStream = (await readLog(stream)).map(
      (r) => JSON.parse(textOf(r)) as { event_id: string; user_id: string },
    );
    const others = inStream.filter((e) => e.user_id !== FORGOTTEN).map((e) => e.event_id);
    await waitFor(
      `all ${others.length} events of the other users to land`,
      async () => (await landedIds((u) => u !== FORGOTTEN)).length >= others.length,
    );
    await cli('forget', '--user', FORGOTTEN, '--sink', sink, '--json');
    consumer.child.kill('SIGTERM');
    const stopped = await consumer.done;

    // Assess: nothing of the user anywhere; every other event landed exactly once.
    expect(stopped.code, stopped.stderr).toBe(0);
    expect((first.removed as { events: number }).events).toBeGreaterThan(0);
    const landed = await readLanded(sink);
    expect(landed.events.filter((e) => e.user_id === FORGOTTEN)).toEqual([]);
    expect(landed.errors.filter((e) => e.partition_key === FORGOTTEN)).toEqual([]);
    expect(landed.events.map((e) => e.event_id as string).sort()).toEqual([...others].sort());
  });
});
