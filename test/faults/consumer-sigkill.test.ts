import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonSummary, runCli, startCli } from '../support/cli.js';
import { readLanded } from '../support/landed.js';
import { useTempDir } from '../support/temp.js';
import {
  countObjects,
  duplicates,
  idsInStream,
  seededRandom,
  sleep,
  useChildren,
  waitFor,
} from './support.js';

const tempDir = useTempDir();
const own = useChildren();
const random = seededRandom();

const KILLS = 20;
/** Every fourth kill comes at a random moment of start-up; the others while batches are landing. */
const STARTUP_KILL_EVERY = 4;
const MAX_STARTUP_DELAY_MS = 600;
const MAX_WORK_DELAY_MS = 400;
/** Short shard leases, so each round takes over the killed one's shards at once. */
const LEASE_MS = 500;

describe(`the consumer killed with SIGKILL at random points (FAULT_SEED=${random.seed})`, () => {
  it(`lands every accepted event exactly once after ${KILLS} kills while events keep arriving`, async () => {
    // Prepare: a 4-shard log with a backlog, and a producer adding more at a steady rate meanwhile.
    const dir = await tempDir();
    const stream = path.join(dir, 'stream');
    const sink = path.join(dir, 'sink');
    const backlog = await runCli([
      'produce',
      '--stream',
      stream,
      '--shards',
      '4',
      '--events',
      '20000',
      '--json',
    ]);
    expect(backlog.code, backlog.stderr).toBe(0);
    const producer = own(startCli(['produce', '--stream', stream, '--rate', '3000', '--json']));

    // Act: start a consumer with random batch settings and kill it at a random moment, again and again:
    // during start-up, or a random time after this run's first object landed (so mid-batch, mid-write
    // or mid-checkpoint).
    const rounds: { batchSize: number; delayMs: number; midWork: boolean; signal: string | null }[] = [];
    for (let round = 0; round < KILLS; round++) {
      const batchSize = 1 + Math.floor(random.next() * 2_000);
      const batchWindow = Math.floor(random.next() * 200);
      const midWork = round % STARTUP_KILL_EVERY !== 0;
      const delayMs = Math.floor(random.next() * (midWork ? MAX_WORK_DELAY_MS : MAX_STARTUP_DELAY_MS));
      const before = await countObjects(sink);
      const consumer = own(
        startCli([
          'consume',
          '--stream',
          stream,
          '--sink',
          sink,
          '--batch-size',
          String(batchSize),
          '--batch-window',
          String(batchWindow),
          // The next round takes over the shards of this one once its leases run out.
          '--lease-duration',
          String(LEASE_MS),
        ]),
      );
      if (midWork)
        await waitFor('an object landed by this run', async () => (await countObjects(sink)) > before);
      await sleep(delayMs);
      consumer.child.kill('SIGKILL');
      const result = await consumer.done;
      rounds.push({ batchSize, delayMs, midWork, signal: result.signal });
    }
    producer.child.kill('SIGTERM');
    const produced = await producer.done;
    expect(produced.code, produced.stderr).toBe(0);
    const beforeRecovery = await readLanded(sink);
    const recovered = await runCli(['consume', '--stream', stream, '--sink', sink, '--until-idle', '--json']);

    // Assess: every kill was a kill, and everything the stream accepted landed exactly once.
    expect(recovered.code, recovered.stderr).toBe(0);
    expect(
      rounds.filter((r) => r.signal === 'SIGKILL'),
      JSON.stringify(rounds),
    ).toHaveLength(KILLS);
    const inStream = await idsInStream(stream);
    expect(inStream.length).toBeGreaterThan(20_000);
    expect(beforeRecovery.events.length).toBeLessThan(inStream.length);
    const landed = await readLanded(sink);
    const landedIds = landed.events.map((e) => e.event_id as string);
    expect(duplicates(landedIds)).toEqual(new Map());
    expect(landedIds.sort()).toEqual(inStream.sort());
    expect(landed.errors).toEqual([]);
    expect(jsonSummary(recovered).errors).toBe(0);
  });
});
