import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileCheckpointStore } from '../../src/stream/checkpoints/file-checkpoint-store.js';
import { useTempDir } from '../support/temp.js';

const tempDir = useTempDir();

describe('FileCheckpointStore', () => {
  it('keeps checkpoints per consumer and shard across instances', async () => {
    const file = path.join(await tempDir(), 'deep', 'checkpoints.json');
    const store = new FileCheckpointStore(file);
    expect(await store.load('a', 'shardId-000000000000')).toBeUndefined();
    await Promise.all([
      store.save('a', 'shardId-000000000000', '10'),
      store.save('a', 'shardId-000000000001', '20'),
    ]);
    await store.save('b', 'shardId-000000000000', '5');
    await store.save('a', 'shardId-000000000000', '11');
    const again = new FileCheckpointStore(file);
    expect(await again.load('a', 'shardId-000000000000')).toBe('11');
    expect(await again.load('a', 'shardId-000000000001')).toBe('20');
    expect(await again.load('b', 'shardId-000000000000')).toBe('5');
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({
      a: { 'shardId-000000000000': '11', 'shardId-000000000001': '20' },
      b: { 'shardId-000000000000': '5' },
    });
  });

  it('refuses a damaged file with a clear error instead of starting over', async () => {
    const file = path.join(await tempDir(), 'checkpoints.json');
    await writeFile(file, '{"a": ');
    await expect(new FileCheckpointStore(file).load('a', 's')).rejects.toMatchObject({
      code: 'checkpoints_unreadable',
    });
  });
});
