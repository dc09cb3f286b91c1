import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { openLocalStream } from '../../src/stream/index.js';
import { jsonSummary, runCli, startCli } from '../support/cli.js';
import { readLanded } from '../support/landed.js';
import { useTempDir } from '../support/temp.js';
import { waitFor } from '../support/wait.js';

const tempDir = useTempDir();

/** The finished objects under a directory sink (names beginning with `.` or `_` are work in progress). */
async function finishedObjects(dir: string): Promise<Set<string>> {
  try {
    const files = await readdir(dir, { recursive: true });
    return new Set(
      files.filter(
        (f) => f.endsWith('.gz') && !f.split(path.sep).some((p) => p.startsWith('.') || p.startsWith('_')),
      ),
    );
  } catch {
    return new Set();
  }
}

/** The event ids in the stream, read through the stream's own reader. */
async function idsInStream(streamPath: string): Promise<string[]> {
  const stream = openLocalStream(streamPath, { createIfMissing: false });
  await stream.connect();
  const ids: string[] = [];
  for (const shard of await stream.listShards()) {
    let iterator: string | undefined = await stream.getShardIterator(shard.shardId, { type: 'TRIM_HORIZON' });
    while (iterator !== undefined) {
      const result = await stream.getRecords(iterator, 10_000);
      for (const r of result.records) ids.push(JSON.parse(Buffer.from(r.data).toString()).event_id);
      if (result.records.length === 0) break;
      iterator = result.nextShardIterator;
    }
  }
  await stream.close();
  return ids;
}

describe('crash recovery', () => {
  it('lands every event exactly once when the consumer is killed with SIGKILL again and again', async () => {
    // Prepare: 20,000 events in a 3-shard log.
    const dir = await tempDir();
    const stream = path.join(dir, 'stream');
    const sink = path.join(dir, 'sink');
    const produced = await runCli([
      'produce',
      '--stream',
      stream,
      '--shards',
      '3',
      '--events',
      '20000',
      '--seed',
      'kill',
      '--json',
    ]);
    expect(produced.code, produced.stderr).toBe(0);
    const ids = await idsInStream(stream);
    expect(ids).toHaveLength(20_000);

    // Act: start a consumer with small batches, kill it mid-work at a random point, several times.
    const consumeArgs = [
      'consume',
      '--stream',
      stream,
      '--sink',
      sink,
      '--batch-size',
      '300',
      '--batch-window',
      '0',
      // Each round takes over the shards of the one killed before it once its leases run out.
      '--lease-duration',
      '500',
    ];
    let kills = 0;
    // Kills that struck while events were still to land (each round lands at least one object first).
    let midWork = 0;
    const notKilled: string[] = [];
    for (let round = 0; round < 6; round++) {
      const before = await finishedObjects(sink);
      // Names are deterministic: once every event has landed, a round lands no object of a new name,
      // and the consumer (no --until-idle) never exits. Such a round is killed at a random moment.
      const landedBefore = (await readLanded(sink)).events.length;
      const { child, done } = startCli(consumeArgs);
      let exited = false;
      void done.then(() => {
        exited = true;
      });
      // Wait until this round has landed a new object (one must come while events remain), then kill
      // it at a random moment after.
      if (landedBefore < 20_000) {
        await waitFor(
          `round ${round} to land a new object (${landedBefore} of 20,000 events landed before it)`,
          async () => exited || [...(await finishedObjects(sink))].some((f) => !before.has(f)),
          { timeoutMs: 45_000, state: async () => `${(await finishedObjects(sink)).size} objects` },
        );
      }
      await sleep(Math.random() * 150);
      child.kill('SIGKILL');
      const result = await done;
      if (result.signal === 'SIGKILL') kills++;
      else notKilled.push(`round ${round} ended by itself (code ${result.code}): ${result.stderr}`);
      if ((await readLanded(sink)).events.length < 20_000) midWork++;
    }
    const final = await runCli([...consumeArgs, '--until-idle', '--json']);

    // Assess
    expect(final.code, final.stderr).toBe(0);
    expect(kills, notKilled.join('\n')).toBeGreaterThanOrEqual(3);
    expect(midWork).toBeGreaterThanOrEqual(1);
    const landed = await readLanded(sink);
    const landedIds = landed.events.map((e) => e.event_id as string);
    expect(landedIds).toHaveLength(20_000);
    expect(new Set(landedIds).size).toBe(20_000);
    expect([...landedIds].sort()).toEqual([...ids].sort());
    expect(landed.errors).toEqual([]);
  });

  it('lands everything accepted when `run` is stopped with SIGINT', async () => {
    const dir = await tempDir();
    const sink = path.join(dir, 'sink');
    const { child, done } = startCli([
      'run',
      '--stream',
      path.join(dir, 'stream'),
      '--sink',
      sink,
      '--rate',
      '20000',
      '--json',
    ]);
    let exited = false;
    void done.then(() => {
      exited = true;
    });
    // `run` without --events produces until stopped, so its first object comes unless it fails.
    await waitFor(
      '`run` to land its first object',
      async () => exited || (await finishedObjects(sink)).size > 0,
    );
    child.kill('SIGINT');
    const result = await done;
    expect(result.code, result.stderr).toBe(0);
    const summary = jsonSummary(result);
    const landed = await readLanded(sink);
    expect(summary.produced).toBeGreaterThan(0);
    expect(landed.events).toHaveLength(summary.produced as number);
    expect(summary.landed).toBe(summary.produced);
    expect(new Set(landed.events.map((e) => e.event_id)).size).toBe(summary.produced);
  });
});
