import { randomUUID } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ObjectStore } from '../../src/core/ports.js';
import { S3Store } from '../../src/sink/index.js';

const ndjson = { contentType: 'application/x-ndjson', contentEncoding: 'gzip' };

async function keysUnder(store: ObjectStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of store.list(prefix)) keys.push(object.key);
  return keys.sort();
}

/**
 * The contract every `ObjectStore` adapter passes: atomic puts that overwrite, listing that skips
 * hidden names, idempotent deletes, and refusal of unsafe keys.
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

    it('lists a prefix as a directory: siblings that merely share its first letters are not under it', async () => {
      await store.put('events/a', Buffer.from('1'), ndjson);
      await store.put('events2/b', Buffer.from('1'), ndjson);
      await store.put('eventsx', Buffer.from('1'), ndjson);
      expect(await keysUnder(store, 'events')).toEqual(['events/a']);
      expect(await keysUnder(store, 'events/')).toEqual(['events/a']);
    });

    it('lists everything with an empty prefix, skipping objects under hidden folders at any depth', async () => {
      await store.put('events/p1/a', Buffer.from('1'), ndjson);
      await store.put('events/_temporary/0/b', Buffer.from('1'), ndjson);
      await store.put('events/p1/.staging/c', Buffer.from('1'), ndjson);
      await store.put('.metadata', Buffer.from('1'), ndjson);
      await store.put('_SUCCESS', Buffer.from('1'), ndjson);
      await store.put('errors/p1/d', Buffer.from('1'), ndjson);
      expect(await keysUnder(store, '')).toEqual(['errors/p1/d', 'events/p1/a']);
    });

    it('round-trips an empty object and a large binary one', async () => {
      const large = new Uint8Array(3 * 1024 * 1024 + 7);
      for (let i = 0; i < large.length; i++) large[i] = (i * 7919) % 251;
      await store.put('events/empty', new Uint8Array(0), ndjson);
      await store.put('events/large', large, ndjson);
      expect((await store.get('events/empty')).byteLength).toBe(0);
      expect(Buffer.from(await store.get('events/large')).equals(Buffer.from(large))).toBe(true);
      const sizes: Record<string, number> = {};
      for await (const o of store.list('events')) sizes[o.key] = o.size;
      expect(sizes).toEqual({ 'events/empty': 0, 'events/large': large.length });
    });

    it('refuses unsafe keys on get and unsafe list prefixes', async () => {
      await expect(store.get('../escape')).rejects.toMatchObject({ code: 'unsafe_key' });
      await expect(keysUnder(store, '../escape')).rejects.toMatchObject({ code: 'unsafe_key' });
    });

    it.each(['../escape', 'events/../../x', '/absolute', 'a//b', 'a/./b', 'with space', 'ctrl\u0001', ''])(
      'refuses the unsafe key %j',
      async (key) => {
        await expect(store.put(key, Buffer.from('x'), ndjson)).rejects.toMatchObject({ code: 'unsafe_key' });
      },
    );

    it('deletes an object, leaving its siblings; deleting a missing one succeeds', async () => {
      await store.put('events/p1/a', Buffer.from('1'), ndjson);
      await store.put('events/p1/b', Buffer.from('2'), ndjson);
      await store.delete('events/p1/a');
      expect(await keysUnder(store, 'events')).toEqual(['events/p1/b']);
      await expect(store.get('events/p1/a')).rejects.toMatchObject({ code: 'not_found' });
      await store.delete('events/p1/a');
      await store.delete('events/never-there');
      await expect(store.delete('../escape')).rejects.toMatchObject({ code: 'unsafe_key' });
    });

    it('reports a missing object with code not_found', async () => {
      await expect(store.get('events/none')).rejects.toMatchObject({ code: 'not_found' });
    });
  });
}

/** A fresh prefix per test, so tests sharing a bucket never see each other's objects. */
export function freshS3Prefix(): string {
  return `runs/${randomUUID()}`;
}

/** The contract on `S3Store` over an S3 server the environment points at, each test under a fresh prefix. */
export function runS3StoreContract(name: string, bucket: string): void {
  runObjectStoreContract(name, async () => {
    const store = new S3Store({ bucket, prefix: freshS3Prefix() });
    return { store, cleanup: async () => undefined };
  });
}
