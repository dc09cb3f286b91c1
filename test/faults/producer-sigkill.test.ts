import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, startCli } from '../support/cli.js';
import { readLanded } from '../support/landed.js';
import { useTempDir } from '../support/temp.js';
import {
  duplicates,
  idsInStream,
  recordsInStream,
  seededRandom,
  sleep,
  useChildren,
  waitFor,
} from './support.js';

const tempDir = useTempDir();
const own = useChildren();
const random = seededRandom();

const KILLS = 3;
const MAX_KILL_DELAY_MS = 1_500;
/** `[5s] accepted 12,345 · …`: what `activity produce` reports, every 5 s, when stderr is not a terminal. */
const PROGRESS = /accepted ([0-9,]+)/g;

describe(`the producer killed with SIGKILL (FAULT_SEED=${random.seed})`, () => {
  it('keeps every record it reported accepted, and everything the stream holds lands once', async () => {
    // Prepare: a consumer running beside the producers, as in production.
    const dir = await tempDir();
    const stream = path.join(dir, 'stream');
    const sink = path.join(dir, 'sink');
    const created = await runCli(['stream', 'create', '--stream', stream, '--shards', '3']);
    expect(created.code, created.stderr).toBe(0);
    const consumer = own(startCli(['consume', '--stream', stream, '--sink', sink, '--batch-window', '100']));

    // Act: start a producer, wait for its first progress report, then kill it at a random moment.
    const rounds: { reported: number; added: number; signal: string | null }[] = [];
    for (let round = 0; round < KILLS; round++) {
      const before = await recordsInStream(stream);
      const producer = own(startCli(['produce', '--stream', stream, '--rate', '20000']));
      let reported = 0;
      producer.child.stderr?.on('data', (chunk: Buffer) => {
        for (const match of chunk.toString().matchAll(PROGRESS))
          reported = Number(match[1]?.replaceAll(',', ''));
      });
      await waitFor('a progress report', () => reported > 0);
      await sleep(Math.floor(random.next() * MAX_KILL_DELAY_MS));
      producer.child.kill('SIGKILL');
      const result = await producer.done;
      rounds.push({ reported, added: (await recordsInStream(stream)) - before, signal: result.signal });
    }
    consumer.child.kill('SIGTERM');
    const stopped = await consumer.done;
    expect(stopped.code, stopped.stderr).toBe(0);
    const recovered = await runCli(['consume', '--stream', stream, '--sink', sink, '--until-idle']);
    expect(recovered.code, recovered.stderr).toBe(0);

    // Assess: every kill was a kill and lost nothing reported accepted; the stream, readable to its end
    // after the kills, landed exactly once, and nothing landed that the stream does not hold.
    for (const round of rounds) {
      expect(round.signal, JSON.stringify(rounds)).toBe('SIGKILL');
      expect(round.added, JSON.stringify(rounds)).toBeGreaterThanOrEqual(round.reported);
    }
    const inStream = await idsInStream(stream);
    expect(inStream).toHaveLength(rounds.reduce((n, r) => n + r.added, 0));
    const landed = await readLanded(sink);
    const landedIds = landed.events.map((e) => e.event_id as string);
    expect(duplicates(landedIds)).toEqual(new Map());
    expect(landedIds.sort()).toEqual(inStream.sort());
    expect(landed.errors).toEqual([]);
  });
});
