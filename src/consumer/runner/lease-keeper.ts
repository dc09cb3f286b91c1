import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { threadId } from 'node:worker_threads';
import type { Lease, LeaseStore } from '../../core/ports.js';

/**
 * How long a lease lasts unless renewed: the KCL's failover time. A consumer killed with SIGKILL
 * holds its shards this long; one that stops cleanly lets them go at once.
 */
export const DEFAULT_LEASE_DURATION_MS = 10_000;

/** A name for this runner as a lease owner: host, process, thread and a random tag. */
export function newLeaseOwner(): string {
  return `${hostname()}:${process.pid}:${threadId}:${randomBytes(3).toString('hex')}`;
}

interface Held {
  lease: Lease;
  /** Another owner took the shard over: stop it without writing a checkpoint. */
  lost: boolean;
}

/**
 * One runner's leases: takes free and expired leases up to its fair share, renews what it holds,
 * asks the busiest owner for a shard when it has fewer than its share, and hands shards over when
 * asked, once the batch in hand has landed. Checkpoints go through the lease, so a runner that lost a
 * shard never moves its checkpoint.
 */
export class LeaseKeeper {
  private readonly held = new Map<string, Held>();
  /** The counter first seen on each lease another owner holds: a change proves that owner alive. */
  private readonly seen = new Map<string, number>();
  private renewing: Promise<void> | undefined;

  constructor(
    private readonly store: LeaseStore,
    private readonly consumer: string,
    readonly owner: string,
    private readonly durationMs: number,
    private readonly warn: (message: string) => void,
  ) {}

  holds(shardId: string): boolean {
    const held = this.held.get(shardId);
    return held !== undefined && !held.lost;
  }

  /** True when another owner asked for the shard: hand it over after the batch in hand. */
  handOverDue(shardId: string): boolean {
    const held = this.held.get(shardId);
    return held !== undefined && held.lease.claimant !== undefined && held.lease.claimant !== this.owner;
  }

  /**
   * Takes the leases of `wanted` shards this runner may hold now. `eligible` are all the shards it
   * could read; its fair share of them counts the owners alive among them (while draining there is no
   * limit: whatever is free is taken, to be landed before the runner stops). When nothing could be
   * taken and the owner that holds most has two or more shards more, asks it for one.
   */
  async acquire(
    eligible: readonly string[],
    wanted: readonly string[],
    now: number,
    draining: boolean,
  ): Promise<void> {
    const leases = new Map((await this.store.list(this.consumer)).map((l) => [l.shardId, l]));
    const live = (l: Lease | undefined) => l?.owner !== undefined && l.expiresAt > now;
    const owners = new Map<string, string[]>();
    for (const shardId of eligible) {
      const lease = leases.get(shardId);
      if (lease?.owner !== undefined && lease.owner !== this.owner && live(lease)) {
        owners.set(lease.owner, [...(owners.get(lease.owner) ?? []), shardId]);
        if (!this.seen.has(shardId)) this.seen.set(shardId, lease.counter);
      }
    }
    const share = draining ? Number.POSITIVE_INFINITY : Math.ceil(eligible.length / (owners.size + 1));
    let taken = 0;
    for (const shardId of wanted) {
      if (this.held.size >= share) break;
      if (this.holds(shardId)) continue;
      const lease = leases.get(shardId);
      // Free, expired, or handed over to this runner.
      if (live(lease) && lease?.owner !== this.owner) continue;
      const got = await this.store.acquire(this.consumer, shardId, this.owner, this.durationMs);
      if (got === undefined) continue;
      this.held.set(shardId, { lease: got, lost: false });
      this.seen.delete(shardId);
      taken++;
    }
    if (taken === 0 && !draining) await this.claimFromBusiest(owners, leases);
  }

  /**
   * True when another owner is seen renewing the shard's lease (its counter moved since first seen),
   * so a draining runner can leave that shard to it; false for a lease that may belong to a dead owner.
   */
  async heldElsewhereAlive(shardId: string, now: number): Promise<boolean> {
    const lease = (await this.store.list(this.consumer)).find((l) => l.shardId === shardId);
    if (lease?.owner === undefined || lease.owner === this.owner || lease.expiresAt <= now) return false;
    const first = this.seen.get(shardId);
    if (first === undefined) {
      this.seen.set(shardId, lease.counter);
      return false;
    }
    return lease.counter !== first;
  }

  /** Renews every lease held (once at a time); marks those another owner took as lost. */
  renewAll(): Promise<void> {
    this.renewing ??= this.renewEach().finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  private async renewEach(): Promise<void> {
    for (const [shardId, held] of this.held) {
      if (held.lost) continue;
      try {
        const renewed = await this.store.renew(held.lease, this.durationMs);
        if (renewed === undefined) this.lose(shardId, held);
        else held.lease = renewed;
      } catch (error) {
        // A lease that cannot be renewed now may still be renewed before it runs out.
        this.warn(`${shardId}: could not renew its lease (${(error as Error).message})`);
      }
    }
  }

  /** Saves a checkpoint through the lease; false (nothing saved) once the shard was lost. */
  async checkpoint(shardId: string, sequenceNumber: string): Promise<boolean> {
    const held = this.held.get(shardId);
    if (held === undefined || held.lost) return false;
    await this.renewing;
    const renewed = await this.store.checkpoint(held.lease, sequenceNumber, this.durationMs);
    if (renewed === undefined) {
      this.lose(shardId, held);
      return false;
    }
    held.lease = renewed;
    return true;
  }

  /** Lets the shard go (to its claimant, if any); a lost lease is simply forgotten. */
  async release(shardId: string): Promise<void> {
    const held = this.held.get(shardId);
    if (held === undefined) return;
    this.held.delete(shardId);
    if (held.lost) return;
    await this.renewing;
    await this.store.release(held.lease, this.durationMs).catch((error: unknown) => {
      this.warn(
        `${shardId}: could not release its lease (${(error as Error).message}); it runs out by itself`,
      );
    });
  }

  async releaseAll(): Promise<void> {
    for (const shardId of [...this.held.keys()]) await this.release(shardId);
  }

  private lose(shardId: string, held: Held): void {
    if (held.lost) return;
    held.lost = true;
    this.warn(`${shardId}: its lease was taken over by another consumer; stopping it without a checkpoint`);
  }

  private async claimFromBusiest(
    owners: ReadonlyMap<string, string[]>,
    leases: ReadonlyMap<string, Lease>,
  ): Promise<void> {
    let busiest: string[] = [];
    for (const shards of owners.values()) if (shards.length > busiest.length) busiest = shards;
    // Only a move that evens things out: the owners end up at most one shard apart.
    if (busiest.length < this.held.size + 2) return;
    const unclaimed = busiest.find((shardId) => leases.get(shardId)?.claimant === undefined);
    if (unclaimed !== undefined) await this.store.claim(this.consumer, unclaimed, this.owner);
  }
}
