import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  MAX_PARTITION_KEY_LENGTH,
  MAX_PUT_BYTES,
  MAX_PUT_RECORDS,
  MAX_RECORD_BYTES,
} from '../../src/core/limits.js';
import type {
  RecordToPut,
  StartPosition,
  StreamAdmin,
  StreamReader,
  StreamRecord,
  StreamWriter,
} from '../../src/core/ports.js';
import { rejection } from '../support/rejection.js';

/** A fresh, empty stream of `shardCount` shards, with `writer` and `reader` connected. */
export interface StreamUnderTest {
  writer: StreamWriter;
  reader: StreamReader;
  admin: StreamAdmin;
  shardCount: number;
  /** Closes everything and removes the stream; a test may have deleted it already. */
  cleanup(): Promise<void>;
}

/**
 * What an adapter can do beyond the contract's common ground, declared where it is registered, so a
 * test it cannot pass is skipped by name instead of passing with nothing checked.
 */
export interface StreamCapabilities {
  /** `describe()` counts the records the stream holds (the embedded log can; Kinesis cannot). */
  recordCount: boolean;
}

type PutEntry = { shardId: string; sequenceNumber: string };

const HASH_KEY_SPACE = 2n ** 128n;

function record(partitionKey: string, text: string): RecordToPut {
  return { partitionKey, data: Buffer.from(text) };
}

function text(data: Uint8Array): string {
  return Buffer.from(data).toString();
}

/** The 128-bit hash key Kinesis routes a partition key by. */
function hashKeyOf(partitionKey: string): bigint {
  return BigInt(`0x${createHash('md5').update(partitionKey, 'utf8').digest('hex')}`);
}

/**
 * The contract every stream adapter passes (the embedded log, Kinesis), through the ports only.
 * Rejected calls throw `StreamError`s with these codes: `too_many_records`, `put_too_large`,
 * `record_too_large`, `invalid_partition_key` (the whole put is rejected and nothing written, as
 * Kinesis' validation does), `invalid_iterator`, `shard_not_found`, `stream_exists`,
 * `stream_not_found`. A put of zero records returns an empty result.
 */
export function runStreamContract(
  name: string,
  capabilities: StreamCapabilities,
  factory: () => Promise<StreamUnderTest>,
): void {
  describe(`stream contract: ${name}`, () => {
    let stream: StreamUnderTest;

    beforeEach(async () => {
      stream = await factory();
    });

    afterEach(async () => {
      await stream.cleanup();
    });

    async function put(records: RecordToPut[]): Promise<PutEntry[]> {
      const result = await stream.writer.putRecords(records);
      expect(result.failedRecordCount).toBe(0);
      expect(result.records).toHaveLength(records.length);
      return result.records.map((entry) => {
        if (!entry.ok) throw new Error(`record refused: ${entry.errorCode} ${entry.errorMessage}`);
        return { shardId: entry.shardId, sequenceNumber: entry.sequenceNumber };
      });
    }

    async function shardIds(): Promise<string[]> {
      return (await stream.reader.listShards()).map((shard) => shard.shardId);
    }

    /** Reads from `iterator` page by page until a page is empty and caught up (millisBehindLatest 0). */
    async function drain(iterator: string, limit: number): Promise<StreamRecord[]> {
      const records: StreamRecord[] = [];
      for (let page = 0; page < 10_000; page++) {
        const result = await stream.reader.getRecords(iterator, limit);
        expect(result.records.length).toBeLessThanOrEqual(limit);
        records.push(...result.records);
        if (result.records.length === 0 && result.millisBehindLatest === 0) return records;
        expect(result.nextShardIterator).toBeDefined();
        iterator = result.nextShardIterator as string;
      }
      throw new Error('the shard never caught up');
    }

    async function readShard(
      shardId: string,
      position: StartPosition,
      limit = 10_000,
    ): Promise<StreamRecord[]> {
      return drain(await stream.reader.getShardIterator(shardId, position), limit);
    }

    async function readAll(): Promise<Map<string, StreamRecord[]>> {
      const byShard = new Map<string, StreamRecord[]>();
      for (const shardId of await shardIds())
        byShard.set(shardId, await readShard(shardId, { type: 'TRIM_HORIZON' }));
      return byShard;
    }

    async function countAll(): Promise<number> {
      return [...(await readAll()).values()].reduce((sum, records) => sum + records.length, 0);
    }

    describe('putRecords', () => {
      it('returns a shard and sequence number per record, in input order', async () => {
        const entries = await put(
          Array.from({ length: 20 }, (_, i) => record(`user-${i % 7}`, `event ${i}`)),
        );

        const ids = await shardIds();
        const all = await readAll();
        entries.forEach((entry, i) => {
          expect(ids).toContain(entry.shardId);
          const stored = all.get(entry.shardId)?.find((r) => r.sequenceNumber === entry.sequenceNumber);
          expect(stored && text(stored.data)).toBe(`event ${i}`);
          expect(stored?.partitionKey).toBe(`user-${i % 7}`);
        });
      });

      it('gives strictly increasing sequence numbers along each shard, across puts', async () => {
        const perShard = new Map<string, bigint[]>();
        for (let batch = 0; batch < 3; batch++) {
          const entries = await put(
            Array.from({ length: 30 }, (_, i) => record(`user-${i}`, `${batch}/${i}`)),
          );
          for (const entry of entries) {
            perShard.set(entry.shardId, [
              ...(perShard.get(entry.shardId) ?? []),
              BigInt(entry.sequenceNumber),
            ]);
          }
        }

        for (const seqs of perShard.values()) {
          expect(seqs[0]).toBeGreaterThan(0n);
          for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1] as bigint);
        }
      });

      it("routes a partition key to one shard: the one whose hash-key range holds the key's MD5", async () => {
        const keys = ['user_1', 'user_2', 'ü-ser', '😀', 'a'.repeat(MAX_PARTITION_KEY_LENGTH), '0'];
        const shards = await stream.reader.listShards();
        const seen = new Map<string, string>();
        for (let round = 0; round < 3; round++) {
          const entries = await put(keys.map((key) => record(key, `round ${round}`)));
          entries.forEach((entry, i) => {
            const key = keys[i] as string;
            expect(seen.get(key) ?? entry.shardId).toBe(entry.shardId);
            seen.set(key, entry.shardId);
            const range = shards.find((s) => s.shardId === entry.shardId)?.hashKeyRange;
            expect(BigInt(range?.startingHashKey ?? -1)).toBeLessThanOrEqual(hashKeyOf(key));
            expect(BigInt(range?.endingHashKey ?? -1)).toBeGreaterThanOrEqual(hashKeyOf(key));
          });
        }
      });

      it('spreads many partition keys over all shards', async () => {
        const entries = await put(Array.from({ length: 500 }, (_, i) => record(`user-${i}`, 'x')));

        expect(new Set(entries.map((e) => e.shardId))).toEqual(new Set(await shardIds()));
      });

      it('returns an empty result for an empty put', async () => {
        expect(await stream.writer.putRecords([])).toEqual({ failedRecordCount: 0, records: [] });
      });

      it(`rejects a put of more than ${MAX_PUT_RECORDS} records, writing nothing`, async () => {
        const records = Array.from({ length: MAX_PUT_RECORDS + 1 }, (_, i) => record(`user-${i}`, 'x'));

        const error = await rejection(stream.writer.putRecords(records));

        expect(error).toMatchObject({ code: 'too_many_records', retriable: false });
        expect(error.message).toContain(String(MAX_PUT_RECORDS + 1));
        expect(await countAll()).toBe(0);
      });

      it('rejects a record over MAX_RECORD_BYTES counting its partition key, writing nothing', async () => {
        const key = 'user-1';
        const fits = { partitionKey: key, data: new Uint8Array(MAX_RECORD_BYTES - key.length) };
        const tooLarge = { partitionKey: key, data: new Uint8Array(MAX_RECORD_BYTES - key.length + 1) };

        const error = await rejection(stream.writer.putRecords([record(key, 'small'), tooLarge]));

        expect(error).toMatchObject({ code: 'record_too_large', retriable: false });
        expect(error.message).toContain('record 1');
        expect(error.message).toContain(String(MAX_RECORD_BYTES + 1));
        expect(await countAll()).toBe(0);
        expect(await put([fits])).toHaveLength(1);
      });

      it('rejects a put over MAX_PUT_BYTES, and takes one of exactly that size', async () => {
        const largest = (i: number) => ({
          partitionKey: `k${i}`,
          data: new Uint8Array(MAX_RECORD_BYTES - 2),
        });
        const count = MAX_PUT_BYTES / MAX_RECORD_BYTES;

        const error = await rejection(
          stream.writer.putRecords([
            ...Array.from({ length: count }, (_, i) => largest(i)),
            record('k', 'x'),
          ]),
        );

        expect(error).toMatchObject({ code: 'put_too_large', retriable: false });
        expect(await countAll()).toBe(0);
        expect(await put(Array.from({ length: count }, (_, i) => largest(i)))).toHaveLength(count);
      });

      it(`rejects an empty partition key or one over ${MAX_PARTITION_KEY_LENGTH} characters`, async () => {
        for (const key of ['', 'k'.repeat(MAX_PARTITION_KEY_LENGTH + 1)]) {
          const error = await rejection(stream.writer.putRecords([record('fine', 'x'), record(key, 'x')]));
          expect(error).toMatchObject({ code: 'invalid_partition_key', retriable: false });
          expect(error.message).toContain('record 1');
        }
        expect(await countAll()).toBe(0);
      });
    });

    describe('reading', () => {
      it('reads everything put, in put order per shard, from TRIM_HORIZON', async () => {
        const entries = await put(
          Array.from({ length: 40 }, (_, i) => record(`user-${i % 9}`, `event ${i}`)),
        );

        const all = await readAll();
        for (const [shardId, records] of all) {
          const expected = entries.filter((e) => e.shardId === shardId).map((e) => e.sequenceNumber);
          expect(records.map((r) => r.sequenceNumber)).toEqual(expected);
        }
        expect([...all.values()].flat()).toHaveLength(40);
      });

      it('reads only records put later from LATEST', async () => {
        await put([record('same', 'before 1'), record('same', 'before 2')]);
        const [first] = await put([record('same', 'probe')]);
        const shardId = first?.shardId as string;
        const latest = await stream.reader.getShardIterator(shardId, { type: 'LATEST' });

        await put([record('same', 'after 1'), record('same', 'after 2')]);

        const result = await stream.reader.getRecords(latest, 100);
        expect(result.records.map((r) => text(r.data))).toEqual(['after 1', 'after 2']);
      });

      it('reads from AT_SEQUENCE_NUMBER and AFTER_SEQUENCE_NUMBER', async () => {
        const entries = await put(Array.from({ length: 10 }, (_, i) => record('same', `event ${i}`)));
        const { shardId, sequenceNumber } = entries[3] as PutEntry;

        const at = await readShard(shardId, { type: 'AT_SEQUENCE_NUMBER', sequenceNumber });
        const after = await readShard(shardId, { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber });

        expect(at.map((r) => text(r.data))).toEqual([3, 4, 5, 6, 7, 8, 9].map((i) => `event ${i}`));
        expect(after.map((r) => text(r.data))).toEqual([4, 5, 6, 7, 8, 9].map((i) => `event ${i}`));
      });

      it('reads from AT_TIMESTAMP the records that arrived at or after it', async () => {
        const [first] = await put([record('same', 'early 1'), record('same', 'early 2')]);
        const shardId = first?.shardId as string;
        const early = await readShard(shardId, { type: 'TRIM_HORIZON' });
        const earlyMax = Math.max(...early.map((r) => r.approximateArrivalTimestamp.getTime()));
        while (Date.now() <= earlyMax) await sleep(2);
        await put([record('same', 'late 1'), record('same', 'late 2')]);
        const all = await readShard(shardId, { type: 'TRIM_HORIZON' });
        const lateStart = all[2]?.approximateArrivalTimestamp as Date;

        const late = await readShard(shardId, { type: 'AT_TIMESTAMP', timestamp: lateStart });
        const fromPast = await readShard(shardId, {
          type: 'AT_TIMESTAMP',
          timestamp: new Date(earlyMax - 60_000),
        });
        const fromFuture = await readShard(shardId, {
          type: 'AT_TIMESTAMP',
          timestamp: new Date(Date.now() + 3_600_000),
        });

        expect(late.map((r) => text(r.data))).toEqual(['late 1', 'late 2']);
        expect(fromPast).toHaveLength(4);
        expect(fromFuture).toHaveLength(0);
      });

      it('honours limit, and paging by nextShardIterator reads each record once, in order', async () => {
        await put(Array.from({ length: 60 }, (_, i) => record(`user-${i % 11}`, `event ${i}`)));

        let total = 0;
        for (const shardId of await shardIds()) {
          const whole = await readShard(shardId, { type: 'TRIM_HORIZON' });
          const paged = await readShard(shardId, { type: 'TRIM_HORIZON' }, 4);
          expect(paged.map((r) => r.sequenceNumber)).toEqual(whole.map((r) => r.sequenceNumber));
          total += new Set(paged.map((r) => r.sequenceNumber)).size;
        }
        expect(total).toBe(60);
      });

      it('round-trips data bytes exactly, including bytes that are not UTF-8', async () => {
        const backing = Uint8Array.from({ length: 64 }, (_, i) => (i * 37) % 256);
        const payloads = [
          Uint8Array.from([0xff, 0xfe, 0x00, 0xc3, 0x28, 0x80, 0xed, 0xa0, 0x80]),
          new Uint8Array(0),
          backing.subarray(10, 30),
          Uint8Array.from({ length: 1000 }, (_, i) => (i * 131 + 7) % 256),
          Buffer.from('{"user_id":"ü-😀","event":"click"}'),
        ];
        const entries = await put(payloads.map((data) => ({ partitionKey: 'ü-😀', data })));

        const records = await readShard(entries[0]?.shardId as string, { type: 'TRIM_HORIZON' });
        expect(records.map((r) => Buffer.from(r.data))).toEqual(payloads.map((p) => Buffer.from(p)));
        expect(records.map((r) => r.partitionKey)).toEqual(payloads.map(() => 'ü-😀'));
      });

      it('reports millisBehindLatest 0 when caught up, and keeps the position when nothing is new', async () => {
        const next = new Map<string, string>();
        for (const shardId of await shardIds()) {
          const iterator = await stream.reader.getShardIterator(shardId, { type: 'TRIM_HORIZON' });
          const empty = await stream.reader.getRecords(iterator, 10);
          expect(empty).toMatchObject({ records: [], millisBehindLatest: 0 });
          next.set(shardId, empty.nextShardIterator as string);
        }

        const entries = await put(Array.from({ length: 200 }, (_, i) => record(`user-${i}`, `event ${i}`)));

        for (const [shardId, iterator] of next) {
          const records = await drain(iterator, 7);
          const expected = entries.filter((e) => e.shardId === shardId).map((e) => e.sequenceNumber);
          expect(records.map((r) => r.sequenceNumber)).toEqual(expected);
        }
      });

      it('refuses an iterator it did not give out', async () => {
        for (const iterator of ['', 'not an iterator', 'eyJ4IjoxfQ']) {
          expect(await rejection(stream.reader.getRecords(iterator, 10))).toMatchObject({
            code: 'invalid_iterator',
            retriable: false,
          });
        }
      });

      it('refuses an iterator for a shard the stream does not have', async () => {
        const error = await rejection(
          stream.reader.getShardIterator('shardId-999999999999', { type: 'LATEST' }),
        );

        expect(error).toMatchObject({ code: 'shard_not_found', retriable: false });
        expect(error.message).toContain('shardId-999999999999');
      });
    });

    describe('admin', () => {
      it('lists the shards, whose hash-key ranges cover 0..2^128-1 without gaps or overlaps', async () => {
        const shards = await stream.reader.listShards();

        expect(shards).toHaveLength(stream.shardCount);
        expect(new Set(shards.map((s) => s.shardId)).size).toBe(stream.shardCount);
        const ranges = shards
          .map((s) => [BigInt(s.hashKeyRange.startingHashKey), BigInt(s.hashKeyRange.endingHashKey)] as const)
          .sort((a, b) => (a[0] < b[0] ? -1 : 1));
        expect(ranges[0]?.[0]).toBe(0n);
        expect(ranges.slice(1).map(([start]) => start)).toEqual(
          ranges.slice(0, -1).map(([, end]) => end + 1n),
        );
        expect(ranges.at(-1)?.[1]).toBe(HASH_KEY_SPACE - 1n);
      });

      it('describes the stream', async () => {
        await put(Array.from({ length: 10 }, (_, i) => record(`user-${i}`, 'x')));

        const description = await stream.admin.describe();

        expect(description).toMatchObject({ arn: stream.reader.streamArn, status: 'ACTIVE' });
        expect(description.name).not.toBe('');
        expect(description.shards.map((s) => s.shardId)).toEqual(await shardIds());
        expect(description.retentionHours).toBeGreaterThanOrEqual(24);
        // An adapter that says it cannot count says nothing rather than a wrong number.
        if (!capabilities.recordCount) expect(description.recordCount).toBeUndefined();
      });

      if (capabilities.recordCount) {
        it('counts the records it holds in describe()', async () => {
          expect((await stream.admin.describe()).recordCount).toBe(0);
          await put(Array.from({ length: 10 }, (_, i) => record(`user-${i}`, 'x')));

          expect((await stream.admin.describe()).recordCount).toBe(10);
        });
      } else {
        it.skip(`counts the records it holds in describe() (not a capability of ${name})`, () => undefined);
      }

      it('creates idempotently with the same shard count and refuses another', async () => {
        const created = await stream.admin.create({ shards: stream.shardCount });
        expect(created.shards).toHaveLength(stream.shardCount);

        const error = await rejection(stream.admin.create({ shards: stream.shardCount + 1 }));
        expect(error).toMatchObject({ code: 'stream_exists', retriable: false });
        expect(error.message).toContain(`${stream.shardCount} shards`);
      });

      it('deletes the stream', async () => {
        await stream.admin.delete();

        expect(await rejection(stream.admin.describe())).toMatchObject({ code: 'stream_not_found' });
      });
    });
  });
}
