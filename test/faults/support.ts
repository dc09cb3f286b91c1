import type { ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach } from 'vitest';
import { openLocalStream } from '../../src/stream/index.js';

/** Helpers of the fault suite. */

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Processes a test started that must not outlive it: any still running after the test (an assertion
 * failed midway) are killed. Call it after `useTempDir`: hooks after a test run last-registered first, so
 * the processes are gone before their directories are removed.
 */
export function useChildren(): <T extends { child: ChildProcess }>(started: T) => T {
  const running: ChildProcess[] = [];
  afterEach(() => {
    for (const child of running.splice(0))
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return (started) => {
    running.push(started.child);
    return started;
  };
}

export { waitFor } from '../support/wait.js';

/**
 * A small seeded generator (mulberry32), so that a failing run of a randomised fault test can be
 * repeated: the seed is in the test's name and FAULT_SEED sets it.
 */
export function seededRandom(): { seed: number; next: () => number } {
  const seed = Number(process.env.FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31));
  let state = seed >>> 0;
  return {
    seed,
    next() {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}

/** Finished objects under a directory sink (hidden names are work in progress). */
export async function countObjects(sink: string): Promise<number> {
  try {
    const entries = await readdir(sink, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile() && e.name.endsWith('.gz') && !e.name.startsWith('.')).length;
  } catch {
    return 0;
  }
}

/** Hidden files left under a sink: temporary files of writes a kill cut short. */
export async function countHidden(sink: string): Promise<number> {
  try {
    const entries = await readdir(sink, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile() && (e.name.startsWith('.') || e.name.endsWith('.tmp'))).length;
  } catch {
    return 0;
  }
}

/** The event id of every record in an embedded log, read through the stream's own reader. */
export async function idsInStream(streamPath: string): Promise<string[]> {
  const stream = openLocalStream(streamPath, { createIfMissing: false });
  await stream.connect();
  const ids: string[] = [];
  try {
    for (const shard of await stream.listShards()) {
      let iterator = await stream.getShardIterator(shard.shardId, { type: 'TRIM_HORIZON' });
      for (;;) {
        const result = await stream.getRecords(iterator, 10_000);
        for (const r of result.records) ids.push(JSON.parse(Buffer.from(r.data).toString()).event_id);
        if (result.records.length === 0 || result.nextShardIterator === undefined) break;
        iterator = result.nextShardIterator;
      }
    }
  } finally {
    await stream.close();
  }
  return ids;
}

/** Records an embedded log holds. */
export async function recordsInStream(streamPath: string): Promise<number> {
  const stream = openLocalStream(streamPath, { createIfMissing: false });
  try {
    return (await stream.describe()).recordCount ?? 0;
  } finally {
    await stream.close();
  }
}

/** Each element's count, for the elements counted more than once. */
export function duplicates(values: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return new Map([...counts].filter(([, n]) => n > 1));
}

/** Resident memory of a process in MiB, from /proc; undefined where there is no /proc or it has exited. */
export async function residentMb(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(path.join('/proc', String(pid), 'status'), 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}
