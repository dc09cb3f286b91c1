import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CheckpointStore, Lease, LeaseStore } from '../../src/core/ports.js';

/** What a lease-store adapter gives the suite: two handles on one store (as two processes), and a clock. */
export interface LeaseStoreUnderTest {
  /** Two independent handles on the same leases (two connections, as two processes would have). */
  a: LeaseStore;
  b: LeaseStore;
  /** Reads checkpoints as the runner does. */
  checkpoints: CheckpointStore;
  /** A shard id the store accepts. */
  shardId: string;
  /** Moves both handles' clock on. */
  advance(ms: number): void;
  cleanup(): Promise<void>;
}

const DURATION = 1_000;
const CONSUMER = 'app';

/**
 * The contract every lease store keeps: one owner per consumer name and shard, taken over only
 * once the lease ran out, never by a renewal of a lease that changed hands; checkpoints only while
 * held; hand-over to a claimant.
 */
export function runLeaseStoreContract(name: string, create: () => Promise<LeaseStoreUnderTest>): void {
  describe(`lease store contract: ${name}`, () => {
    let store: LeaseStoreUnderTest;
    beforeEach(async () => {
      store = await create();
    });
    afterEach(async () => {
      await store.cleanup();
    });

    const acquire = (on: LeaseStore, owner: string) => on.acquire(CONSUMER, store.shardId, owner, DURATION);

    it('gives a free shard to the first owner and refuses a second while it is held', async () => {
      const first = await acquire(store.a, 'one');
      expect(first).toMatchObject({ consumer: CONSUMER, shardId: store.shardId, owner: 'one' });

      expect(await acquire(store.b, 'two')).toBeUndefined();
      expect(await acquire(store.a, 'one')).toMatchObject({ owner: 'one' });
    });

    it('lets another owner take a lease that ran out, and the old owner can then neither renew nor checkpoint', async () => {
      const old = (await acquire(store.a, 'one')) as Lease;
      store.advance(DURATION + 1);

      const taken = await acquire(store.b, 'two');

      expect(taken).toMatchObject({ owner: 'two' });
      expect((taken as Lease).counter).toBeGreaterThan(old.counter);
      expect(await store.a.renew(old, DURATION)).toBeUndefined();
      expect(await store.a.checkpoint(old, '5', DURATION)).toBeUndefined();
      expect(await store.checkpoints.load(CONSUMER, store.shardId)).toBeUndefined();
    });

    it('renews a held lease, which then outlives its first expiry', async () => {
      const lease = (await acquire(store.a, 'one')) as Lease;
      store.advance(DURATION - 10);
      const renewed = (await store.a.renew(lease, DURATION)) as Lease;
      store.advance(DURATION - 10);

      expect(renewed.counter).toBeGreaterThan(lease.counter);
      expect(await acquire(store.b, 'two')).toBeUndefined();
    });

    it('saves a checkpoint while held and renews the lease with it', async () => {
      const lease = (await acquire(store.a, 'one')) as Lease;

      const after = await store.a.checkpoint(lease, '42', DURATION);

      expect(after?.counter).toBeGreaterThan(lease.counter);
      expect(await store.checkpoints.load(CONSUMER, store.shardId)).toMatch(/^0*42$/);
      // The lease given back is the one to use next: the old one's counter is stale.
      expect(await store.a.renew(lease, DURATION)).toBeUndefined();
      expect(await store.a.renew(after as Lease, DURATION)).toMatchObject({ owner: 'one' });
    });

    it('frees a released lease at once, and a stale release does nothing', async () => {
      const lease = (await acquire(store.a, 'one')) as Lease;
      const renewed = (await store.a.renew(lease, DURATION)) as Lease;
      await store.a.release(lease, DURATION);
      expect(await acquire(store.b, 'two')).toBeUndefined();

      await store.a.release(renewed, DURATION);

      expect(await acquire(store.b, 'two')).toMatchObject({ owner: 'two' });
    });

    it('hands a claimed lease over to its claimant on release, and to no one else', async () => {
      const lease = (await acquire(store.a, 'one')) as Lease;
      expect(await store.b.claim(CONSUMER, store.shardId, 'two')).toBe(true);
      expect(await store.b.claim(CONSUMER, store.shardId, 'three')).toBe(false);
      const seen = (await store.a.renew(lease, DURATION)) as Lease;
      expect(seen.claimant).toBe('two');

      await store.a.release(seen, DURATION);

      expect(await acquire(store.b, 'three')).toBeUndefined();
      const handed = await acquire(store.b, 'two');
      expect(handed).toMatchObject({ owner: 'two' });
      expect(handed?.claimant).toBeUndefined();
    });

    it('lists every lease with its owner, and keeps consumer names apart', async () => {
      await acquire(store.a, 'one');
      await store.b.acquire('other-app', store.shardId, 'two', DURATION);

      const all = await store.b.list();
      const mine = await store.b.list(CONSUMER);

      expect(all.map((l) => [l.consumer, l.owner])).toEqual([
        [CONSUMER, 'one'],
        ['other-app', 'two'],
      ]);
      expect(mine.map((l) => l.owner)).toEqual(['one']);
    });

    it('lets exactly one of many owners racing for a free shard win', async () => {
      const tries = await Promise.all(
        Array.from({ length: 8 }, (_, i) => acquire(i % 2 === 0 ? store.a : store.b, `owner-${i}`)),
      );

      const winners = tries.filter((l) => l !== undefined);
      expect(winners).toHaveLength(1);
      expect((await store.a.list(CONSUMER))[0]?.owner).toBe(winners[0]?.owner);
    });
  });
}
