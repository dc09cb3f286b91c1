import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ObjectStore } from '../../src/core/ports.js';

const ndjson = { contentType: 'application/x-ndjson', contentEncoding: 'gzip' };

async function keysUnder(store: ObjectStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of store.list(prefix)) keys.push(object.key);
  return keys.sort();
}

/**
 * The contract every `ObjectStore` adapter passes: atomic puts that overwrite, listing that skips
 * hidden names, and refusal of unsafe keys.
 */
export function runObjectStoreContract(
  name: string,
  factory: () => Promise<{ store: ObjectStore; cleanup(): Promise<void> }>,
): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let store: ObjectStore;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await factory());
      await store.connect();
    });
    afterEach(async () => {
      await store.close();
      await cleanup();
    });

    it('puts and gets bytes exactly', async () => {
      const body = gzipSync(Buffer.from('{"a":1}\n{"a":2}\n'));
      await store.put('events/dt=2026-11-25/hour=19/shardId-000000000000-1.ndjson.gz', body, ndjson);
      const back = await store.get('events/dt=2026-11-25/hour=19/shardId-000000000000-1.ndjson.gz');
      expect(gunzipSync(back).toString()).toBe('{"a":1}\n{"a":2}\n');
    });

    it('overwrites an object put twice under one key, leaving one object', async () => {
      await store.put('events/x/a.ndjson.gz', Buffer.from('first'), ndjson);
      await store.put('events/x/a.ndjson.gz', Buffer.from('second'), ndjson);
      expect(Buffer.from(await store.get('events/x/a.ndjson.gz')).toString()).toBe('second');
      expect(await keysUnder(store, 'events')).toEqual(['events/x/a.ndjson.gz']);
    });

    it('lists finished objects under a prefix with their sizes, skipping hidden names', async () => {
      await store.put('events/p1/a', Buffer.from('12345'), ndjson);
      await store.put('events/p2/b', Buffer.from('1'), ndjson);
      await store.put('events/p2/_temporary', Buffer.from('x'), ndjson);
      await store.put('errors/p1/c', Buffer.from('1'), ndjson);
      const listed: { key: string; size: number }[] = [];
      for await (const o of store.list('events')) listed.push(o);
      listed.sort((a, b) => a.key.localeCompare(b.key));
      expect(listed).toEqual([
        { key: 'events/p1/a', size: 5 },
        { key: 'events/p2/b', size: 1 },
      ]);
      expect(await keysUnder(store, 'nothing-here')).toEqual([]);
    });

    it.each(['../escape', 'events/../../x', '/absolute', 'a//b', 'a/./b', 'with space', 'ctrl\u0001', ''])(
      'refuses the unsafe key %j',
      async (key) => {
        await expect(store.put(key, Buffer.from('x'), ndjson)).rejects.toMatchObject({ code: 'unsafe_key' });
      },
    );

    it('reports a missing object with code not_found', async () => {
      await expect(store.get('events/none')).rejects.toMatchObject({ code: 'not_found' });
    });
  });
}
