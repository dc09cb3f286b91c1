import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PipelineError } from '../../src/core/errors.js';
import type { CheckpointStore } from '../../src/core/ports.js';

/** A checkpoint store that may hold resources until closed (the embedded log holds its database). */
export type OpenedCheckpointStore = CheckpointStore & { close?(): Promise<void> };

/** One place where checkpoints are kept, and the means to open it again and again. */
export interface CheckpointStoreUnderTest {
  /** A new instance on the same place each call: a second process, or the same one after a restart. */
  open(): Promise<OpenedCheckpointStore>;
  /** The directory the store keeps its checkpoints in. */
  root: string;
  /** A directory around {@link root}, empty but for it: nothing the store writes may land outside root. */
  sandbox: string;
  /** Two shard ids the store takes. */
  shardIds: readonly [string, string];
  /** The `n`th sequence number, as the stream the store serves gives them out (n ≥ 1, increasing). */
  sequenceNumber(n: number): string;
  /**
   * How a worker thread opens an instance on the same place, from the built module (`npm test` builds
   * first): `new module[exportName](where)` for a class, `module[exportName](where)` for a function;
   * the instance is connected if it can be, and closed at the end.
   */
  inThread: { module: URL; exportName: string; where: string };
  /** Closes every instance `open()` gave. */
  cleanup(): Promise<void>;
}

/** Names that must never steer where a checkpoint is kept: paths, separators, control bytes, SQL, length. */
const HOSTILE_NAMES = [
  '../escape',
  '../../../../tmp/escape',
  '/etc/passwd',
  'a/b',
  'a\\b',
  '.',
  '..',
  '',
  ' ',
  'nul\u0000byte',
  'new\nline',
  "'; DELETE FROM checkpoints; --",
  'ünïcødé/名前',
  'x'.repeat(300),
];

/** Every file and directory under `dir`, as absolute paths. */
async function entriesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.map((e) => path.join(e.parentPath, e.name));
}

/**
 * Saves under a hostile name: either the store refuses it with a PipelineError (nothing saved), or
 * it keeps it; returns whether it was kept. Any other outcome fails the test.
 */
async function saveOrRefuse(save: () => Promise<void>): Promise<boolean> {
  try {
    await save();
    return true;
  } catch (error) {
    expect(error, String(error)).toBeInstanceOf(PipelineError);
    return false;
  }
}

/** Runs `saves` in a worker thread: the saves of another thread of `activity run`, or another process. */
function saveInThread(
  spec: CheckpointStoreUnderTest['inThread'],
  consumer: string,
  shardId: string,
  sequenceNumbers: string[],
): Promise<void> {
  const script = `
    const { workerData, parentPort } = require('node:worker_threads');
    (async () => {
      const made = (await import(workerData.module))[workerData.exportName];
      const isClass = /^class\\b/.test(Function.prototype.toString.call(made));
      const store = isClass ? new made(workerData.where) : made(workerData.where);
      if (typeof store.connect === 'function') await store.connect();
      for (const seq of workerData.sequenceNumbers) await store.save(workerData.consumer, workerData.shardId, seq);
      if (typeof store.close === 'function') await store.close();
    })().then(() => parentPort.postMessage('done'), (error) => { throw error; });`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(script, {
      eval: true,
      workerData: {
        module: spec.module.href,
        exportName: spec.exportName,
        where: spec.where,
        consumer,
        shardId,
        sequenceNumbers,
      },
    });
    worker.once('message', () => resolve());
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`the saving thread exited with code ${code}`));
    });
  });
}

/**
 * The contract every `CheckpointStore` passes (the embedded log's own checkpoints, the file store used
 * beside Kinesis), through the port only: a checkpoint is per consumer and shard, survives its
 * instance, and no name given to it decides where it is written.
 */
export function runCheckpointStoreContract(
  name: string,
  factory: () => Promise<CheckpointStoreUnderTest>,
): void {
  describe(`checkpoint store contract: ${name}`, () => {
    let place: CheckpointStoreUnderTest;
    let store: OpenedCheckpointStore;
    let seq: (n: number) => string;
    let shard0: string;
    let shard1: string;

    beforeEach(async () => {
      place = await factory();
      store = await place.open();
      seq = (n) => place.sequenceNumber(n);
      [shard0, shard1] = place.shardIds;
    });

    afterEach(async () => {
      await place.cleanup();
    });

    it('loads nothing where nothing was saved', async () => {
      expect(await store.load('consumer', shard0)).toBeUndefined();
      await store.save('consumer', shard0, seq(1));
      expect(await store.load('consumer', shard1)).toBeUndefined();
      expect(await store.load('another', shard0)).toBeUndefined();
    });

    it('loads what was saved', async () => {
      await store.save('consumer', shard0, seq(7));

      expect(await store.load('consumer', shard0)).toBe(seq(7));
    });

    it('keeps the last of several saves', async () => {
      for (const n of [1, 2, 30, 31]) await store.save('consumer', shard0, seq(n));

      expect(await store.load('consumer', shard0)).toBe(seq(31));
    });

    it('keeps each consumer and each shard apart', async () => {
      await store.save('a', shard0, seq(1));
      await store.save('a', shard1, seq(2));
      await store.save('b', shard0, seq(3));
      await store.save('a', shard0, seq(4));

      expect(await store.load('a', shard0)).toBe(seq(4));
      expect(await store.load('a', shard1)).toBe(seq(2));
      expect(await store.load('b', shard0)).toBe(seq(3));
      expect(await store.load('b', shard1)).toBeUndefined();
    });

    it('keeps checkpoints across a reopen: a new instance on the same place loads them', async () => {
      await store.save('consumer', shard0, seq(5));
      await store.save('consumer', shard1, seq(6));
      await store.close?.();

      const reopened = await place.open();

      expect(await reopened.load('consumer', shard0)).toBe(seq(5));
      expect(await reopened.load('consumer', shard1)).toBe(seq(6));
    });

    it('never lets a consumer name or shard id steer where a checkpoint is written', async () => {
      await store.save('plain', shard0, seq(1));
      const kept: { consumer: string; shardId: string; n: number }[] = [];
      let n = 100;
      for (const hostile of HOSTILE_NAMES) {
        for (const [consumer, shardId] of [
          [hostile, shard0],
          ['plain', hostile],
        ] as const) {
          n++;
          if (await saveOrRefuse(() => store.save(consumer, shardId, seq(n))))
            kept.push({ consumer, shardId, n });
        }
      }
      // Every name the store kept is a checkpoint of its own, unchanged; the plain one is untouched.
      const reopened = await place.open();
      for (const { consumer, shardId, n } of kept)
        expect(await reopened.load(consumer, shardId), JSON.stringify({ consumer, shardId })).toBe(seq(n));
      expect(await reopened.load('plain', shard0)).toBe(seq(1));
      // Nothing was written outside the store's own directory.
      const outside = (await entriesUnder(place.sandbox)).filter(
        (entry) => entry !== place.root && !entry.startsWith(`${place.root}${path.sep}`),
      );
      expect(outside).toEqual([]);
      // Hostile consumer names are names like any other: a store keeps them.
      expect(kept.filter((k) => k.shardId === shard0).length).toBeGreaterThan(0);
    });

    it('loses no save when two instances save different shards at once', async () => {
      const other = await place.open();
      const numbers = Array.from({ length: 100 }, (_, i) => seq(i + 1));

      await Promise.all([
        (async () => {
          for (const s of numbers) await store.save('same-process', shard0, s);
        })(),
        (async () => {
          for (const s of numbers) await other.save('same-process', shard1, s);
        })(),
      ]);

      const reopened = await place.open();
      expect(await reopened.load('same-process', shard0)).toBe(seq(100));
      expect(await reopened.load('same-process', shard1)).toBe(seq(100));
    });

    it('loses no save when two threads save different shards at once', async () => {
      const numbers = Array.from({ length: 200 }, (_, i) => seq(i + 1));

      await Promise.all([
        saveInThread(place.inThread, 'threads', shard0, numbers),
        saveInThread(place.inThread, 'threads', shard1, numbers),
      ]);

      const reopened = await place.open();
      expect(await reopened.load('threads', shard0)).toBe(seq(200));
      expect(await reopened.load('threads', shard1)).toBe(seq(200));
    });
  });
}
