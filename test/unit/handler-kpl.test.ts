import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type BatchStats, createHandler } from '../../src/consumer/index.js';
import { positionEventId } from '../../src/event/index.js';
import { DirectoryStore } from '../../src/sink/index.js';
import { activityJson, eventOf, kinesisRecord, STREAM_ARN } from '../support/kinesis-events.js';
import { kplAggregate } from '../support/kpl.js';
import { readLanded } from '../support/landed.js';
import { useTempDir } from '../support/temp.js';

/** One KPL aggregated record's data holding these user records, made by the reference aggregator. */
function aggregate(records: [partitionKey: string, data: string | Uint8Array][]): Buffer {
  return kplAggregate(records.map(([partitionKey, data]) => ({ partitionKey, data: Buffer.from(data) })))
    .data;
}

const SHARD = 'shardId-000000000000';
const tempDir = useTempDir();

async function newHandler() {
  const sink = path.join(await tempDir(), 'sink');
  const store = new DirectoryStore(sink);
  await store.connect();
  const batches: BatchStats[] = [];
  const handler = createHandler({ store, warn: () => undefined, onBatch: (stats) => batches.push(stats) });
  return { sink, handler, batches };
}

const withoutId = (fields: Record<string, unknown> = {}) =>
  JSON.stringify({ user_id: 'u', event: 'click', timestamp: 1764099072, ...fields });

describe('the consumer handler with KPL aggregated records', () => {
  it('lands each user record as if it had been put alone: valid ones as events, bad ones in errors/ with their own key and bytes', async () => {
    // Prepare: a plain bad record, then an aggregate of valid and invalid user records.
    const { sink, handler, batches } = await newHandler();
    const notUtf8 = Uint8Array.of(0xc3, 0x28);
    const records = [
      kinesisRecord('{plain', '99', { partitionKey: 'plain-key' }),
      kinesisRecord(
        aggregate([
          ['user_1', activityJson({ event_id: 'a', user_id: 'user_1' })],
          ['user_2', '{broken'],
          [
            'user_3',
            activityJson({ event_id: 'b', user_id: 'user_3', timestamp: '2026-11-25T18:00:00.000Z' }),
          ],
          ['user_4', notUtf8],
        ]),
        '100',
        { partitionKey: 'user_1' },
      ),
    ];
    // Act
    const response = await handler(eventOf(records));
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const landed = await readLanded(sink);
    expect(landed.events.map((e) => [e.event_id, e.user_id])).toEqual([
      ['b', 'user_3'],
      ['a', 'user_1'],
    ]);
    expect(landed.errors).toEqual([
      {
        reason: 'invalid_json',
        message: expect.stringContaining('record is not valid JSON'),
        shard_id: SHARD,
        sequence_number: '99',
        partition_key: 'plain-key',
        approximate_arrival_timestamp: '2026-11-25T19:31:12.041Z',
        event_source_arn: STREAM_ARN,
        data: Buffer.from('{plain').toString('base64'),
      },
      {
        reason: 'invalid_json',
        message: expect.stringContaining('record is not valid JSON'),
        shard_id: SHARD,
        sequence_number: '100',
        sub_sequence_number: 1,
        partition_key: 'user_2',
        approximate_arrival_timestamp: '2026-11-25T19:31:12.041Z',
        event_source_arn: STREAM_ARN,
        data: Buffer.from('{broken').toString('base64'),
      },
      {
        reason: 'invalid_utf8',
        message: 'record is not valid UTF-8',
        shard_id: SHARD,
        sequence_number: '100',
        sub_sequence_number: 3,
        partition_key: 'user_4',
        approximate_arrival_timestamp: '2026-11-25T19:31:12.041Z',
        event_source_arn: STREAM_ARN,
        data: Buffer.from(notUtf8).toString('base64'),
      },
    ]);
    // A plain record's line keeps its fields, in order, with no sub-sequence number.
    expect(Object.keys(landed.errors[0] ?? {})).toEqual([
      'reason',
      'message',
      'shard_id',
      'sequence_number',
      'partition_key',
      'approximate_arrival_timestamp',
      'event_source_arn',
      'data',
    ]);
    // Objects are named after the Kinesis sequence number of their first record, as for plain records.
    expect(landed.objects.sort()).toEqual(
      [
        `errors/dt=2026-11-25/hour=19/${SHARD}-99.ndjson.gz`,
        `events/dt=2026-11-25/hour=18/${SHARD}-100.ndjson.gz`,
        `events/dt=2026-11-25/hour=19/${SHARD}-100.ndjson.gz`,
      ].map((k) => k.split('/').join(path.sep)),
    );
    expect(batches).toEqual([
      {
        records: 2,
        events: 2,
        errors: 3,
        errorsByReason: { invalid_json: 2, invalid_utf8: 1 },
        objects: 3,
        bytes: expect.any(Number),
        forgotten: 0,
      },
    ]);
  });

  it('gives user records without an event_id distinct ids from their position, the same on every retry', async () => {
    // Prepare: three identical events without ids in one aggregate, and a plain one at the same position.
    const aggregated = kinesisRecord(
      aggregate([
        ['u', withoutId()],
        ['u', withoutId()],
        ['u', withoutId()],
      ]),
      '42',
    );
    const plain = kinesisRecord(withoutId(), '42');
    const ids = async (record: typeof plain) => {
      const { sink, handler } = await newHandler();
      await handler(eventOf([record]));
      return (await readLanded(sink)).events.map((e) => e.event_id);
    };
    // Act
    const first = await ids(aggregated);
    const retried = await ids(aggregated);
    const plainIds = await ids(plain);
    // Assess
    expect(first).toEqual([0, 1, 2].map((sub) => positionEventId(STREAM_ARN, SHARD, '42', sub)));
    expect(new Set(first).size).toBe(3);
    expect(retried).toEqual(first);
    // A plain record's id is a function of its position alone, unchanged by de-aggregation.
    expect(plainIds).toEqual(['a4b96571-b297-88e9-83f5-bb71c3984ec2']);
    expect(first).not.toContain(plainIds[0]);
  });

  it('lands no duplicates when a batch of aggregates is invoked twice, or retried in pieces', async () => {
    const { sink, handler } = await newHandler();
    const records = [1, 2, 3].map((n) =>
      kinesisRecord(
        aggregate(
          Array.from({ length: 5 }, (_, i) => {
            const hour = i % 2 === 0 ? '19' : '20';
            const fields = { timestamp: `2026-11-25T${hour}:00:00.000Z` };
            return [
              `user_${i}`,
              i === 4 ? withoutId(fields) : activityJson({ ...fields, event_id: `e${n}-${i}` }),
            ];
          }),
        ),
        String(n),
      ),
    );
    await handler(eventOf(records));
    const once = await readLanded(sink);
    await handler(eventOf(records));
    const twice = await readLanded(sink);
    // A bisected retry: the first piece overwrites the objects that start at its first record.
    await handler(eventOf(records.slice(0, 1)));
    await handler(eventOf(records.slice(1)));
    const pieces = await readLanded(sink);
    expect(once.events).toHaveLength(15);
    expect(twice.objects).toEqual(once.objects);
    expect(twice.events).toEqual(once.events);
    const ids = (events: Record<string, unknown>[]) => events.map((e) => String(e.event_id)).sort();
    expect(ids(pieces.events)).toEqual(ids(once.events));
    expect(new Set(ids(pieces.events)).size).toBe(15);
  });

  it('lands a damaged aggregate whole in errors/ as invalid_aggregate, and the batch goes on', async () => {
    // Prepare: an aggregate with a wrong checksum and one cut short, between good records.
    const { sink, handler } = await newHandler();
    const good = aggregate([
      ['k', activityJson({ event_id: 'k1' })],
      ['k', activityJson({ event_id: 'k2' })],
    ]);
    const badChecksum = Buffer.from(good);
    badChecksum[badChecksum.length - 1] = (badChecksum.at(-1) ?? 0) ^ 0xff;
    const cut = good.subarray(0, 18);
    const records = [
      kinesisRecord(activityJson({ event_id: 'p1' }), '1'),
      kinesisRecord(badChecksum, '2', { partitionKey: 'outer-2' }),
      kinesisRecord(cut, '3', { partitionKey: 'outer-3' }),
      kinesisRecord(good, '4'),
    ];
    // Act
    const response = await handler(eventOf(records));
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const landed = await readLanded(sink);
    expect(landed.events.map((e) => e.event_id)).toEqual(['p1', 'k1', 'k2']);
    expect(landed.errors).toEqual([
      expect.objectContaining({
        reason: 'invalid_aggregate',
        message: expect.stringMatching(/^KPL aggregated record: MD5 checksum mismatch \(stored /),
        sequence_number: '2',
        partition_key: 'outer-2',
        data: badChecksum.toString('base64'),
      }),
      expect.objectContaining({
        reason: 'invalid_aggregate',
        message: expect.stringMatching(/^KPL aggregated record: the record is 18 bytes, too short/),
        sequence_number: '3',
        partition_key: 'outer-3',
        data: cut.toString('base64'),
      }),
    ]);
    for (const line of landed.errors) expect(line).not.toHaveProperty('sub_sequence_number');
  });

  it('lands nothing for an empty aggregate and reports no failure', async () => {
    const { createHash } = await import('node:crypto');
    const empty = Buffer.concat([Uint8Array.of(0xf3, 0x89, 0x9a, 0xc2), createHash('md5').digest()]);
    const { sink, handler, batches } = await newHandler();
    const response = await handler(eventOf([kinesisRecord(empty, '5')]));
    expect(response.batchItemFailures).toEqual([]);
    expect((await readLanded(sink)).files).toEqual([]);
    expect(batches).toEqual([
      { records: 1, events: 0, errors: 0, errorsByReason: {}, objects: 0, bytes: 0, forgotten: 0 },
    ]);
  });
});
