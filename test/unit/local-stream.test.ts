import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import type { StreamRecord } from '../../src/core/ports.js';
import { evenHashKeyRanges } from '../../src/stream/local/hash-keys.js';
import {
  DEFAULT_LOCAL_SHARDS,
  type LocalStream,
  type LocalStreamOptions,
  openLocalStream,
} from '../../src/stream/local/index.js';
import { rejection } from '../support/rejection.js';
import { useTempDir } from '../support/temp.js';

const tempDir = useTempDir();
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

async function streamPath(): Promise<string> {
  return path.join(await tempDir(), 'stream');
}

async function connected(dir: string, options: LocalStreamOptions = {}): Promise<LocalStream> {
  const stream = openLocalStream(dir, options);
  await stream.connect();
  return stream;
}

function record(partitionKey: string, text: string) {
  return { partitionKey, data: Buffer.from(text) };
}

/** Every record of a shard from TRIM_HORIZON. */
async function readShard(stream: LocalStream, shardId: string): Promise<StreamRecord[]> {
  const records: StreamRecord[] = [];
  let iterator = await stream.getShardIterator(shardId, { type: 'TRIM_HORIZON' });
  for (;;) {
    const result = await stream.getRecords(iterator, 10_000);
    if (result.records.length === 0) return records;
    records.push(...result.records);
    iterator = result.nextShardIterator as string;
  }
}

async function texts(stream: LocalStream, shardId = 'shardId-000000000000'): Promise<string[]> {
  return (await readShard(stream, shardId)).map((r) => Buffer.from(r.data).toString());
}

describe('hash-key ranges', () => {
  it.each([1, 2, 3, 7, 256])('split 0..2^128-1 evenly over %i shards, as Kinesis CreateStream does', (n) => {
    const ranges = evenHashKeyRanges(n);

    expect(ranges).toHaveLength(n);
    ranges.forEach((range, i) => {
      const start = (BigInt(i) * 2n ** 128n) / BigInt(n);
      const next = (BigInt(i + 1) * 2n ** 128n) / BigInt(n);
      expect(range).toEqual({ startingHashKey: start.toString(), endingHashKey: (next - 1n).toString() });
    });
    expect(ranges.at(-1)?.endingHashKey).toBe((2n ** 128n - 1n).toString());
  });

  it('match the ranges Kinesis gives a 3-shard stream', () => {
    expect(evenHashKeyRanges(3).map((r) => r.endingHashKey)).toEqual([
      '113427455640312821154458202477256070484',
      '226854911280625642308916404954512140969',
      '340282366920938463463374607431768211455',
    ]);
  });

  it.each([1, 5, 16])('route each key to the shard whose range holds its MD5, with %i shards', async (n) => {
    const stream = await connected(await streamPath(), { shards: n });
    const keys = Array.from({ length: 500 }, (_, i) => `user_${i}`);
    const shards = await stream.listShards();

    const result = await stream.putRecords(keys.map((key) => record(key, 'x')));

    result.records.forEach((entry, i) => {
      const hashKey = BigInt(
        `0x${createHash('md5')
          .update(keys[i] as string)
          .digest('hex')}`,
      );
      const holder = shards.find(
        (s) =>
          BigInt(s.hashKeyRange.startingHashKey) <= hashKey &&
          hashKey <= BigInt(s.hashKeyRange.endingHashKey),
      );
      expect(entry).toMatchObject({ ok: true, shardId: holder?.shardId });
    });
    await stream.close();
  });
});

describe('local stream', () => {
  it('names shards and sequence numbers like Kinesis, fixed width so string order is numeric order', async () => {
    const stream = await connected(await streamPath(), { shards: 1 });

    const result = await stream.putRecords(Array.from({ length: 12 }, (_, i) => record('k', `${i}`)));

    const seqs = result.records.map((r) => (r.ok ? r.sequenceNumber : ''));
    expect(result.records[0]).toMatchObject({
      shardId: 'shardId-000000000000',
      sequenceNumber: '00000000000000000001',
    });
    expect(seqs.every((s) => /^[0-9]{20}$/.test(s))).toBe(true);
    expect([...seqs].sort()).toEqual(seqs);
    expect(seqs.map(BigInt)).toEqual(Array.from({ length: 12 }, (_, i) => BigInt(i + 1)));
    await stream.close();
  });

  it('is created on first use with the default shard count, named after its directory', async () => {
    const dir = await streamPath();
    const stream = await connected(dir);

    const description = await stream.describe();

    expect(description).toMatchObject({
      name: 'stream',
      arn: 'arn:aws:kinesis:local:000000000000:stream/stream',
      retentionHours: 24,
      recordCount: 0,
    });
    expect(description.shards).toHaveLength(DEFAULT_LOCAL_SHARDS);
    expect(readdirSync(dir)).toContain('log.sqlite');
    await stream.close();
  });

  it('keeps the shard count it was created with', async () => {
    const dir = await streamPath();
    await (await connected(dir, { shards: 4 })).close();

    const reopened = await connected(dir, { shards: 2 });

    expect(await reopened.listShards()).toHaveLength(4);
    await reopened.close();
  });

  it('says how to create a stream that does not exist, and creates nothing', async () => {
    const dir = await streamPath();
    const stream = openLocalStream(dir, { createIfMissing: false });

    const error = await rejection(stream.connect());

    expect(error.code).toBe('stream_not_found');
    expect(error.message).toContain(dir);
    expect(error.message).toContain(`activity stream create --stream ${dir}`);
    expect((await rejection(stream.describe())).code).toBe('stream_not_found');
    expect(existsSync(dir)).toBe(false);
  });

  it('creates, describes and deletes', async () => {
    const dir = await streamPath();
    const admin = openLocalStream(dir, { createIfMissing: false });

    const created = await admin.create({ shards: 5, retentionHours: 48 });
    expect(created).toMatchObject({ retentionHours: 48, recordCount: 0 });
    expect(created.shards).toHaveLength(5);
    expect(await admin.create({ shards: 5 })).toEqual(created);
    const exists = await rejection(admin.create({ shards: 2 }));
    expect(exists).toMatchObject({ code: 'stream_exists', retriable: false });
    expect(exists.message).toContain('5 shards');
    await admin.close();

    const other = openLocalStream(dir);
    expect(await other.describe()).toEqual(created);
    await other.delete();
    expect(existsSync(dir)).toBe(false);
    expect((await rejection(other.delete())).code).toBe('stream_not_found');
    await other.close();
  });

  it('refuses bad settings, showing the value given', async () => {
    const dir = await streamPath();
    for (const [options, message] of [
      [{ shards: 0 }, 'shard count must be an integer between 1 and 256 (given 0)'],
      [{ shards: 257 }, 'shard count must be an integer between 1 and 256 (given 257)'],
      [{ shards: 1.5 }, 'shard count must be an integer between 1 and 256 (given 1.5)'],
      [{ retentionHours: 23 }, 'retention (hours) must be an integer between 24 and 8760 (given 23)'],
      [{ retentionHours: 8761 }, 'retention (hours) must be an integer between 24 and 8760 (given 8761)'],
    ] as const) {
      expect(() => openLocalStream(dir, options)).toThrow(new ConfigError(message));
    }
    await expect(openLocalStream(dir).create({ shards: 0 })).rejects.toThrow(ConfigError);
  });

  it('refuses use before connect and after close', async () => {
    const stream = openLocalStream(await streamPath());
    expect((await rejection(stream.putRecords([record('k', 'x')]))).code).toBe('stream_not_connected');

    await stream.connect();
    await stream.close();

    for (const call of [
      () => stream.putRecords([record('k', 'x')]),
      () => stream.listShards(),
      () => stream.load('c', 'shardId-000000000000'),
      () => stream.connect(),
    ]) {
      const error = await rejection(call());
      expect(error.code).toBe('stream_closed');
      expect(error.message).toContain('is closed');
    }
  });

  it('reports a path that is not a directory as a stream failure naming it', async () => {
    const file = path.join(await tempDir(), 'a-file');
    writeFileSync(file, 'not a directory');

    const error = await rejection(openLocalStream(file).connect());

    expect(error).toMatchObject({ code: 'stream_failed', retriable: false });
    expect(error.message).toContain(file);
  });

  it('keeps checkpoints durably across close and reopen', async () => {
    const dir = await streamPath();
    const first = await connected(dir, { shards: 2 });
    expect(await first.load('consumer-a', 'shardId-000000000001')).toBeUndefined();

    await first.save('consumer-a', 'shardId-000000000001', '00000000000000000007');
    await first.save('consumer-a', 'shardId-000000000001', '12');
    await first.save('consumer-b', 'shardId-000000000001', '3');
    await first.close();

    const second = await connected(dir, { createIfMissing: false });
    expect(await second.load('consumer-a', 'shardId-000000000001')).toBe('00000000000000000012');
    expect(await second.load('consumer-b', 'shardId-000000000001')).toBe('00000000000000000003');
    expect(await second.load('consumer-a', 'shardId-000000000000')).toBeUndefined();
    expect((await rejection(second.save('consumer-a', 'shardId-000000000009', '1'))).code).toBe(
      'shard_not_found',
    );
    expect((await rejection(second.save('consumer-a', 'shardId-000000000000', 'x1'))).code).toBe(
      'invalid_sequence_number',
    );
    await second.close();
  });

  it('pages exactly `limit` records, and at most 10 MiB of data per read', async () => {
    const stream = await connected(await streamPath(), { shards: 1 });
    const big = () => ({ partitionKey: 'k', data: new Uint8Array(1024 * 1024 - 10) });
    for (let put = 0; put < 3; put++) await stream.putRecords([big(), big(), big(), big()]);
    let iterator = await stream.getShardIterator('shardId-000000000000', { type: 'TRIM_HORIZON' });

    const pages: number[] = [];
    for (const limit of [100, 100, 100]) {
      const result = await stream.getRecords(iterator, limit);
      pages.push(result.records.length);
      iterator = result.nextShardIterator as string;
    }
    expect(pages).toEqual([10, 2, 0]);

    await stream.putRecords(Array.from({ length: 7 }, (_, i) => record('k', `${i}`)));
    const small = await stream.getRecords(iterator, 3);
    expect(small.records.map((r) => Buffer.from(r.data).toString())).toEqual(['0', '1', '2']);
    for (const limit of [0, 10_001, 1.5]) {
      const error = await rejection(stream.getRecords(iterator, limit));
      expect(error.code).toBe('invalid_argument');
      expect(error.message).toContain(`(given ${limit})`);
    }
    await stream.close();
  });

  it('reports how far behind a read is: positive while records remain, 0 at the end', async () => {
    let now = T0;
    const stream = await connected(await streamPath(), { shards: 1, now: () => now });
    await stream.putRecords([record('k', 'a'), record('k', 'b'), record('k', 'c')]);
    now = T0 + 4_000;
    const iterator = await stream.getShardIterator('shardId-000000000000', { type: 'TRIM_HORIZON' });

    const first = await stream.getRecords(iterator, 2);
    const second = await stream.getRecords(first.nextShardIterator as string, 2);

    expect(first.millisBehindLatest).toBe(4_000);
    expect(second).toMatchObject({ millisBehindLatest: 0 });
    expect(second.records).toHaveLength(1);
    await stream.close();
  });

  it('never lets arrival times go back along a shard, so AT_TIMESTAMP stays exact', async () => {
    let now = T0 + 10_000;
    const stream = await connected(await streamPath(), { shards: 1, now: () => now });
    await stream.putRecords([record('k', 'first')]);
    now = T0;
    await stream.putRecords([record('k', 'clock stepped back')]);
    now = T0 + 20_000;
    await stream.putRecords([record('k', 'later')]);

    const records = await readShard(stream, 'shardId-000000000000');
    const iterator = await stream.getShardIterator('shardId-000000000000', {
      type: 'AT_TIMESTAMP',
      timestamp: new Date(T0 + 10_001),
    });

    expect(records.map((r) => r.approximateArrivalTimestamp.getTime())).toEqual([
      T0 + 10_000,
      T0 + 10_000,
      T0 + 20_000,
    ]);
    expect((await stream.getRecords(iterator, 10)).records.map((r) => r.sequenceNumber)).toEqual([
      '00000000000000000003',
    ]);
    await stream.close();
  });

  it('refuses an iterator naming a shard the stream does not have', async () => {
    const stream = await connected(await streamPath(), { shards: 3 });
    const forged = Buffer.from(JSON.stringify({ shard: 3, after: 0 })).toString('base64url');

    expect((await rejection(stream.getRecords(forged, 10))).code).toBe('invalid_iterator');
    await stream.close();
  });

  it('refuses a sequence number the shard never gave out', async () => {
    const stream = await connected(await streamPath(), { shards: 1 });
    await stream.putRecords([record('k', 'a'), record('k', 'b')]);

    for (const sequenceNumber of ['0', '3', '99999999999999999999', 'abc']) {
      for (const type of ['AT_SEQUENCE_NUMBER', 'AFTER_SEQUENCE_NUMBER'] as const) {
        const error = await rejection(
          stream.getShardIterator('shardId-000000000000', { type, sequenceNumber }),
        );
        expect(error.code).toBe('invalid_sequence_number');
        expect(error.message).toContain(sequenceNumber);
      }
    }
    await stream.close();
  });

  it('trims records past retention, at most once a minute while putting, and on connect', async () => {
    const dir = await streamPath();
    let now = T0;
    const stream = await connected(dir, { shards: 1, now: () => now });
    await stream.putRecords([record('k', 'A')]);
    now = T0 + 24 * HOUR - 10_000;
    await stream.putRecords([record('k', 'B')]); // trims: nothing has expired yet

    now = T0 + 24 * HOUR + 10_000; // A has expired, but the last trim was 20 s ago
    await stream.putRecords([record('k', 'C')]);
    expect(await texts(stream)).toEqual(['A', 'B', 'C']);

    now = T0 + 24 * HOUR + 50_000; // a minute since the last trim
    await stream.putRecords([record('k', 'D')]);
    expect(await texts(stream)).toEqual(['B', 'C', 'D']);
    expect((await stream.describe()).recordCount).toBe(3);
    expect(await stream.countAfter('shardId-000000000000', undefined)).toBe(3);
    expect(await stream.countAfter('shardId-000000000000', '00000000000000000003')).toBe(1);
    await stream.close();

    now = T0 + 49 * HOUR;
    const reopened = await connected(dir, { now: () => now });
    expect(await texts(reopened)).toEqual([]);
    expect(await reopened.countAfter('shardId-000000000000', undefined)).toBe(0);
    expect(await reopened.tipOf('shardId-000000000000')).toBe('00000000000000000004');
    const [entry] = (await reopened.putRecords([record('k', 'E')])).records;
    expect(entry).toMatchObject({ sequenceNumber: '00000000000000000005' });
    await reopened.close();
  });

  it('tells the tip and the count after a position, for lag', async () => {
    const stream = await connected(await streamPath(), { shards: 2 });
    expect(await stream.tipOf('shardId-000000000000')).toBeUndefined();

    const entries = (await stream.putRecords(Array.from({ length: 50 }, (_, i) => record(`u${i}`, 'x'))))
      .records;

    for (const shardId of ['shardId-000000000000', 'shardId-000000000001']) {
      const mine = entries.filter((e) => e.ok && e.shardId === shardId);
      const records = await readShard(stream, shardId);
      expect(await stream.tipOf(shardId)).toBe(records.at(-1)?.sequenceNumber);
      expect(await stream.countAfter(shardId, undefined)).toBe(mine.length);
      expect(await stream.countAfter(shardId, records[1]?.sequenceNumber)).toBe(mine.length - 2);
      expect(await stream.countAfter(shardId, records.at(-1)?.sequenceNumber)).toBe(0);
    }
    await stream.close();
  });

  it('fails retriably when another writer holds the write lock past the busy timeout', async () => {
    const dir = await streamPath();
    const stream = await connected(dir, { shards: 1 });
    const other = new Database(path.join(dir, 'log.sqlite'));
    other.exec('BEGIN IMMEDIATE');

    const error = await rejection(stream.putRecords([record('k', 'x')]));

    other.exec('ROLLBACK');
    other.close();
    expect(error).toMatchObject({ code: 'stream_busy', retriable: true });
    expect(error.message).toContain(dir);
    expect((await stream.putRecords([record('k', 'x')])).failedRecordCount).toBe(0);
    await stream.close();
  });

  it('takes puts from two processes at once, each record once and no sequence number skipped', async () => {
    const dir = await streamPath();
    const perWriter = 5_000;
    // Both writers create the log if it is missing (so they race to create it too), say they are
    // ready, and start putting together once both are.
    const writer = `
      import { openLocalStream } from ${JSON.stringify(path.join(repoRoot, 'src/stream/local/index.ts'))};
      const [dir, name, count] = process.argv.slice(1);
      const stream = openLocalStream(dir, { shards: 3 });
      await stream.connect();
      process.stdout.write('ready\\n');
      await new Promise((resolve) => process.stdin.once('data', resolve));
      for (let i = 0; i < Number(count); i += 25) {
        const batch = Array.from({ length: 25 }, (_, j) => ({
          partitionKey: 'user-' + ((i + j) % 40),
          data: Buffer.from(JSON.stringify({ writer: name, i: i + j })),
        }));
        const result = await stream.putRecords(batch);
        if (result.failedRecordCount > 0) throw new Error('put failed');
      }
      await stream.close();
    `;
    const args = (name: string) => [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      writer,
      dir,
      name,
      `${perWriter}`,
    ];
    const children = ['p', 'q'].map((name) => spawn(process.execPath, args(name), { cwd: repoRoot }));
    const exits = children.map(
      (child) =>
        new Promise<{ code: number | null; stderr: string }>((resolve) => {
          let stderr = '';
          child.stderr.on('data', (chunk: Buffer) => {
            stderr += chunk.toString();
          });
          child.on('close', (code) => resolve({ code, stderr }));
        }),
    );
    await Promise.all(
      children.map(
        (child) => new Promise((resolve) => child.stdout.once('data', resolve).once('close', resolve)),
      ),
    );
    for (const child of children) child.stdin.end('go\n');

    const results = await Promise.all(exits);

    for (const result of results) expect(result, result.stderr).toMatchObject({ code: 0 });
    const stream = await connected(dir, { createIfMissing: false });
    const seen = new Set<string>();
    for (const shard of await stream.listShards()) {
      const records = await readShard(stream, shard.shardId);
      expect(records.map((r) => BigInt(r.sequenceNumber))).toEqual(records.map((_, i) => BigInt(i + 1)));
      const lastByWriterAndKey = new Map<string, number>();
      for (const r of records) {
        const { writer: name, i } = JSON.parse(Buffer.from(r.data).toString()) as {
          writer: string;
          i: number;
        };
        const key = `${name}/${r.partitionKey}`;
        expect(i).toBeGreaterThan(lastByWriterAndKey.get(key) ?? -1);
        lastByWriterAndKey.set(key, i);
        seen.add(`${name}/${i}`);
      }
    }
    expect(seen.size).toBe(2 * perWriter);
    expect((await stream.describe()).recordCount).toBe(2 * perWriter);
    await stream.close();
  });
});
