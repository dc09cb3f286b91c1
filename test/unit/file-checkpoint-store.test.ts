import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { FileCheckpointStore } from '../../src/stream/checkpoints/file-checkpoint-store.js';
import { useTempDir } from '../support/temp.js';

const tempDir = useTempDir();

describe('FileCheckpointStore', () => {
  it('keeps checkpoints per consumer and shard across instances', async () => {
    const dir = path.join(await tempDir(), 'deep', 'checkpoints');
    const store = new FileCheckpointStore(dir);
    expect(await store.load('a', 'shardId-000000000000')).toBeUndefined();
    await Promise.all([
      store.save('a', 'shardId-000000000000', '10'),
      store.save('a', 'shardId-000000000001', '20'),
    ]);
    await store.save('b', 'shardId-000000000000', '5');
    await store.save('a', 'shardId-000000000000', '11');
    const again = new FileCheckpointStore(dir);
    expect(await again.load('a', 'shardId-000000000000')).toBe('11');
    expect(await again.load('a', 'shardId-000000000001')).toBe('20');
    expect(await again.load('b', 'shardId-000000000000')).toBe('5');
    expect(await readFile(path.join(dir, 'a', 'shardId-000000000000'), 'utf8')).toBe('11\n');
  });

  it('loses no checkpoint when two threads save different shards at the same moment', async () => {
    // Prepare: two threads, each with its own store on the same directory, as `activity run` has
    // (the built module: worker threads do not load TypeScript; `npm test` builds first).
    const dir = path.join(await tempDir(), 'checkpoints');
    const source = new URL('../../dist/stream/checkpoints/file-checkpoint-store.js', import.meta.url).href;
    const script = `
      const { workerData, parentPort } = require('node:worker_threads');
      import(workerData.source).then(async ({ FileCheckpointStore }) => {
        const store = new FileCheckpointStore(workerData.dir);
        for (let i = 1; i <= 200; i++) await store.save('c', workerData.shard, String(i));
        parentPort.postMessage('done');
      });`;
    // Act
    await Promise.all(
      ['shardId-000000000000', 'shardId-000000000001'].map(
        (shard) =>
          new Promise((resolve, reject) => {
            const worker = new Worker(script, {
              eval: true,
              workerData: { dir, shard, source },
            });
            worker.once('message', resolve);
            worker.once('error', reject);
          }),
      ),
    );
    // Assess: each shard's last save is what a fresh store reads.
    const store = new FileCheckpointStore(dir);
    expect(await store.load('c', 'shardId-000000000000')).toBe('200');
    expect(await store.load('c', 'shardId-000000000001')).toBe('200');
  });

  it('keeps odd consumer names and shard ids inside its directory', async () => {
    const dir = path.join(await tempDir(), 'checkpoints');
    const store = new FileCheckpointStore(dir);
    await store.save('../../escape', '../x', '7');
    expect(await store.load('../../escape', '../x')).toBe('7');
    expect(await new FileCheckpointStore(path.join(dir, '..')).load('escape', 'x')).toBeUndefined();
  });

  it('refuses a damaged checkpoint with a clear error instead of starting over', async () => {
    const dir = path.join(await tempDir(), 'checkpoints');
    const store = new FileCheckpointStore(dir);
    await store.save('a', 's', '1');
    await writeFile(path.join(dir, 'a', 's'), '12 34');
    await expect(store.load('a', 's')).rejects.toMatchObject({ code: 'checkpoints_unreadable' });
  });
});
