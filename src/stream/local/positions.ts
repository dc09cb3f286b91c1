import { StreamError } from '../../core/errors.js';

/**
 * Sequence numbers are per-shard counters starting at 1, shown as 20-digit decimal strings: at a
 * fixed width, string order is numeric order (and 20 digits hold any unsigned 64-bit number).
 */
const SEQUENCE_NUMBER_DIGITS = 20;
const SEQUENCE_NUMBER = /^[0-9]{1,20}$/;

export function formatSequenceNumber(seq: number): string {
  return String(seq).padStart(SEQUENCE_NUMBER_DIGITS, '0');
}

/** Reads a sequence number given back to us (padded or not). */
export function parseSequenceNumber(text: string): number {
  const seq = SEQUENCE_NUMBER.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(seq)) {
    throw new StreamError(
      'invalid_sequence_number',
      `sequence number must be a decimal number of at most ${SEQUENCE_NUMBER_DIGITS} digits, below 2^53 (given "${text}")`,
    );
  }
  return seq;
}

/** Shard ids look like Kinesis': `shardId-000000000000`. */
export function formatShardId(index: number): string {
  return `shardId-${String(index).padStart(12, '0')}`;
}

/** The index of a shard id of a stream with `shardCount` shards. */
export function parseShardId(shardId: string, shardCount: number): number {
  const match = /^shardId-([0-9]{12})$/.exec(shardId);
  const index = match ? Number(match[1]) : -1;
  if (index < 0 || index >= shardCount) {
    throw new StreamError(
      'shard_not_found',
      `no shard "${shardId}" in this stream: its shards are ${formatShardId(0)} to ${formatShardId(shardCount - 1)}`,
    );
  }
  return index;
}

/** Where a shard iterator points: the next read returns records with sequence numbers above `after`. */
export interface IteratorPosition {
  shard: number;
  after: number;
}

/** Iterators carry their whole position (base64url JSON), so they need no state kept anywhere. */
export function encodeIterator(position: IteratorPosition): string {
  return Buffer.from(JSON.stringify({ shard: position.shard, after: position.after })).toString('base64url');
}

export function decodeIterator(iterator: string, shardCount: number): IteratorPosition {
  const { shard, after } = parsePosition(iterator);
  if (!isIndex(shard) || shard >= shardCount || !isIndex(after)) {
    const shown = iterator.length > 40 ? `${iterator.slice(0, 40)}…` : iterator;
    throw new StreamError(
      'invalid_iterator',
      `shard iterator "${shown}" is not one this stream gave out: get one with getShardIterator`,
    );
  }
  return { shard, after };
}

function parsePosition(iterator: string): Partial<IteratorPosition> {
  if (!/^[A-Za-z0-9_-]+$/.test(iterator)) return {};
  try {
    const value: unknown = JSON.parse(Buffer.from(iterator, 'base64url').toString());
    return typeof value === 'object' && value !== null ? value : {};
  } catch {
    return {};
  }
}

function isIndex(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}
