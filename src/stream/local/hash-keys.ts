import { hash } from 'node:crypto';

/** Hash keys are 128-bit numbers: MD5 digests. */
const HASH_KEY_SPACE = 2n ** 128n;

export interface HashKeyRange {
  /** Decimal strings, as Kinesis gives them. */
  startingHashKey: string;
  endingHashKey: string;
}

/** The first hash key of each of `shards` even ranges: floor(i * 2^128 / shards), as Kinesis `CreateStream` splits. */
function startingHashKeys(shards: number): bigint[] {
  return Array.from({ length: shards }, (_, i) => (BigInt(i) * HASH_KEY_SPACE) / BigInt(shards));
}

/** Splits the hash-key space 0..2^128-1 into `shards` contiguous, even ranges. */
export function evenHashKeyRanges(shards: number): HashKeyRange[] {
  const starts = startingHashKeys(shards);
  return starts.map((start, i) => ({
    startingHashKey: start.toString(),
    endingHashKey: ((starts[i + 1] ?? HASH_KEY_SPACE) - 1n).toString(),
  }));
}

/**
 * Routes partition keys to shards as Kinesis does: the MD5 digest of the key's UTF-8 bytes, read as
 * a 128-bit number, falls in exactly one shard's hash-key range.
 */
export class HashKeyRouter {
  /**
   * Each shard's starting hash key as 32 lowercase hex digits: at a fixed width, string order is
   * numeric order, so routing compares the hex digest directly, with no BigInt per record.
   */
  private readonly starts: string[];

  constructor(shards: number) {
    this.starts = startingHashKeys(shards).map((start) => start.toString(16).padStart(32, '0'));
  }

  /** The index of the shard whose range holds the key's hash key. */
  shardOf(partitionKey: string): number {
    const digest = hash('md5', partitionKey, 'hex');
    // The last shard whose starting key is <= the digest; shard 0 starts at 0.
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if ((this.starts[middle] as string) <= digest) low = middle;
      else high = middle - 1;
    }
    return low;
  }
}
