/**
 * A small bounded cache that forgets the least recently used entry first. A `Map` keeps insertion
 * order, so re-inserting an entry on each hit makes its first key the least recently used.
 */
export class LruCache<K, V> {
  private readonly entries = new Map<K, V>();
  /** The most recently used key: a hit on it need not move it (most hits, as events come in runs). */
  private newest: K | undefined;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`cache capacity must be a positive integer (given ${capacity})`);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value === undefined || key === this.newest) return value;
    this.entries.delete(key);
    this.entries.set(key, value);
    this.newest = key;
    return value;
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    this.entries.set(key, value);
    this.newest = key;
  }
}
