/**
 * The records a shard has read and not yet handed to the handler, with their payload size kept as
 * they come and go (never recounted): full at `maxRecords` or `maxBytes`, and `take()` gives the
 * next batch, as many records as fit both limits (at least one).
 */
export class BatchBuffer<T> {
  private items: T[] = [];
  private sizes: number[] = [];
  private bytes = 0;

  constructor(
    private readonly maxRecords: number,
    private readonly maxBytes: number,
    private readonly sizeOf: (item: T) => number,
  ) {}

  get length(): number {
    return this.items.length;
  }

  /** The oldest record held, the next batch's first. */
  get first(): T | undefined {
    return this.items[0];
  }

  /** True when no more should be read before the next batch is taken. */
  get full(): boolean {
    return this.items.length >= this.maxRecords || this.bytes >= this.maxBytes;
  }

  push(items: readonly T[]): void {
    for (const item of items) {
      const size = this.sizeOf(item);
      this.items.push(item);
      this.sizes.push(size);
      this.bytes += size;
    }
  }

  /** The next batch: up to `maxRecords` records within `maxBytes`, and always the first record. */
  take(): T[] {
    let count = 0;
    let bytes = 0;
    while (count < this.items.length && count < this.maxRecords) {
      const size = this.sizes[count] as number;
      if (count > 0 && bytes + size > this.maxBytes) break;
      bytes += size;
      count++;
    }
    const batch = this.items.slice(0, count);
    this.items = this.items.slice(count);
    this.sizes = this.sizes.slice(count);
    this.bytes -= bytes;
    return batch;
  }
}
