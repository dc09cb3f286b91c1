import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { KinesisStreamRecord } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createHandler } from '../../src/consumer/index.js';
import { DirectoryStore } from '../../src/sink/index.js';
import {
  AWS_SAMPLE_EVENT,
  activityJson,
  eventOf,
  kinesisRecord,
  STREAM_ARN,
} from '../support/kinesis-events.js';
import { readLanded } from '../support/landed.js';
import { useTempDir } from '../support/temp.js';

const tempDir = useTempDir();

async function newHandler() {
  const sink = path.join(await tempDir(), 'sink');
  const store = new DirectoryStore(sink);
  await store.connect();
  return { sink, handler: createHandler({ store, warn: () => undefined }) };
}

describe('the consumer handler', () => {
  it("lands AWS's documented sample event (not JSON) as an error record and reports no failure", async () => {
    // Prepare
    const { sink, handler } = await newHandler();
    // Act
    const response = await handler(AWS_SAMPLE_EVENT);
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const landed = await readLanded(sink);
    expect(landed.events).toEqual([]);
    expect(landed.errors).toHaveLength(1);
    expect(landed.errors[0]).toMatchObject({
      reason: 'invalid_json',
      shard_id: 'shardId-000000000006',
      sequence_number: '49590338271490256608559692538361571095921575989136588898',
      data: 'SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg==',
      approximate_arrival_timestamp: '2018-12-17T22:10:50.987Z',
    });
    expect(landed.objects).toEqual([
      path.join(
        'errors',
        'dt=2018-12-17',
        'hour=22',
        'shardId-000000000006-49590338271490256608559692538361571095921575989136588898.ndjson.gz',
      ),
    ]);
  });

  it('lands valid events by event time and bad records in errors/, and the batch goes on', async () => {
    const { sink, handler } = await newHandler();
    const records = [
      kinesisRecord(activityJson({ event_id: 'a' }), '1'),
      kinesisRecord('{broken', '2'),
      kinesisRecord(activityJson({ event_id: 'b', timestamp: '2026-11-25T18:59:59.999Z' }), '3'),
      kinesisRecord(Buffer.from([0xc3, 0x28]), '4'),
      kinesisRecord(activityJson({ event_id: 'c', timestamp: 1764099072 }), '5'),
    ];
    const response = await handler(eventOf(records));
    expect(response.batchItemFailures).toEqual([]);
    const landed = await readLanded(sink);
    expect(landed.events.map((e) => e.event_id).sort()).toEqual(['a', 'b', 'c']);
    expect(landed.errors.map((e) => e.reason).sort()).toEqual(['invalid_json', 'invalid_utf8']);
    expect(landed.objects.sort()).toEqual(
      [
        'errors/dt=2026-11-25/hour=19/shardId-000000000000-2.ndjson.gz',
        'events/dt=2025-11-25/hour=19/shardId-000000000000-5.ndjson.gz',
        'events/dt=2026-11-25/hour=18/shardId-000000000000-3.ndjson.gz',
        'events/dt=2026-11-25/hour=19/shardId-000000000000-1.ndjson.gz',
      ].map((k) => k.split('/').join(path.sep)),
    );
  });

  it('lands two events of one user in the same second (the per-event naming lost one)', async () => {
    const { sink, handler } = await newHandler();
    const same = { user_id: 'user_7', timestamp: 1764099072 };
    await handler(
      eventOf([
        kinesisRecord(activityJson({ ...same, event: 'click' }), '10'),
        kinesisRecord(activityJson({ ...same, event: 'page_view' }), '11'),
      ]),
    );
    const landed = await readLanded(sink);
    expect(landed.events.map((e) => e.event).sort()).toEqual(['click', 'page_view']);
    expect(new Set(landed.events.map((e) => e.event_id)).size).toBe(2);
  });

  it('keeps a hostile user_id as data: no path is created from it', async () => {
    const { sink, handler } = await newHandler();
    const hostile = ['../../x', '..', '/etc/passwd', 'a/b\\c', 'x'.repeat(256), '%2e%2e%2f'];
    await handler(
      eventOf(hostile.map((user_id, i) => kinesisRecord(activityJson({ user_id }), String(i + 1)))),
    );
    const landed = await readLanded(sink);
    expect(landed.events.map((e) => e.user_id).sort()).toEqual([...hostile].sort());
    for (const file of landed.files)
      expect(file).toMatch(/^(events|errors)\/dt=\d{4}-\d\d-\d\d\/hour=\d\d\/shardId-\d+-\d+\.ndjson\.gz$/);
    const outside = await readLanded(path.dirname(sink));
    expect(outside.files.every((f) => f.startsWith(`sink${path.sep}`))).toBe(true);
  });

  it('overwrites instead of duplicating when a batch is retried whole or bisected', async () => {
    const { sink, handler } = await newHandler();
    const records = Array.from({ length: 20 }, (_, i) =>
      kinesisRecord(
        activityJson({
          event_id: `e${i}`,
          timestamp: i % 2 === 0 ? '2026-11-25T19:00:00Z' : '2026-11-25T20:00:00Z',
        }),
        String(100 + i),
      ),
    );
    await handler(eventOf(records));
    await handler(eventOf(records));
    await handler(eventOf(records.slice(0, 7)));
    await handler(eventOf(records.slice(7, 13)));
    await handler(eventOf(records.slice(13)));
    const landed = await readLanded(sink);
    expect(landed.events.map((e) => e.event_id).sort()).toEqual(records.map((_, i) => `e${i}`).sort());
  });

  it('gives an event without an id a deterministic one from its stream position', async () => {
    // Prepare: records without an event_id at four positions: a base one, the next sequence number,
    // the same sequence number in another shard, and the same shard and number in another stream.
    const withoutId = (user: string) => JSON.stringify({ user_id: user, event: 'e', timestamp: 1764099072 });
    const positions = {
      base: kinesisRecord(withoutId('base'), '42'),
      nextSequence: kinesisRecord(withoutId('nextSequence'), '43'),
      otherShard: kinesisRecord(withoutId('otherShard'), '42', { shardId: 'shardId-000000000001' }),
      otherStream: {
        ...kinesisRecord(withoutId('otherStream'), '42'),
        eventSourceARN: STREAM_ARN.replace('lambda-stream', 'other-stream'),
      },
    };
    /** The id the record's event landed with, by a fresh handler into a sink of its own. */
    const landedId = async (record: KinesisStreamRecord) => {
      const { sink, handler } = await newHandler();
      await handler(eventOf([record]));
      const { events } = await readLanded(sink);
      expect(events).toHaveLength(1);
      return events[0]?.event_id as string;
    };
    const landedIds = async () => {
      const ids: Record<string, string> = {};
      for (const [name, record] of Object.entries(positions)) ids[name] = await landedId(record);
      return ids;
    };

    // Act: the same records, invoked twice, as a retry would.
    const first = await landedIds();
    const again = await landedIds();

    // Assess: the same id for the same position, another for every other position, each shaped as
    // the documented UUID (version 8, RFC 9562 variant).
    expect(again).toEqual(first);
    expect(new Set(Object.values(first)).size).toBe(4);
    for (const id of Object.values(first))
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('reports the batch failed when the store cannot take it, and lands it once the store recovers', async () => {
    // Prepare: a file where the events/ directory must go makes every write under it fail.
    const { sink, handler } = await newHandler();
    await mkdir(sink, { recursive: true });
    await writeFile(path.join(sink, 'events'), 'in the way');
    const records = [
      kinesisRecord(activityJson({ event_id: 'x' }), '7'),
      kinesisRecord(activityJson({ event_id: 'y' }), '8'),
    ];
    // Act
    const failed = await handler(eventOf(records));
    // Assess
    expect(failed.batchItemFailures).toEqual([{ itemIdentifier: '7' }]);
    const { rm } = await import('node:fs/promises');
    await rm(path.join(sink, 'events'));
    const retried = await handler(eventOf(records));
    expect(retried.batchItemFailures).toEqual([]);
    expect((await readLanded(sink)).events.map((e) => e.event_id).sort()).toEqual(['x', 'y']);
  });

  it('lands every record as an event or an error, whatever the bytes', async () => {
    const { sink, handler } = await newHandler();
    let seq = 0;
    let expected = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 64 }),
            fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
            fc
              .record({
                user_id: fc.string(),
                event: fc.string(),
                timestamp: fc.oneof(fc.integer(), fc.string()),
              })
              .map((v) => Buffer.from(JSON.stringify(v))),
          ),
          { minLength: 1, maxLength: 20 },
        ),
        async (payloads) => {
          const records = payloads.map((p) => kinesisRecord(p, String(++seq)));
          expected += records.length;
          const response = await handler(eventOf(records));
          expect(response.batchItemFailures).toEqual([]);
        },
      ),
      { numRuns: 40 },
    );
    const landed = await readLanded(sink);
    expect(landed.events.length + landed.errors.length).toBe(expected);
  });
});

describe('compareSequenceNumbers', () => {
  it('orders Kinesis and embedded-log sequence numbers numerically without parsing them', async () => {
    const { compareSequenceNumbers } = await import('../../src/core/sequence-numbers.js');
    const kinesis = ['49590338271490256608559692538361571095921575989136588898', '9', '10', '110'];
    const local = ['00000000000000000011', '00000000000000000002', '00000000000000000010'];
    expect([...kinesis].sort(compareSequenceNumbers)).toEqual(
      [...kinesis].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1)),
    );
    expect([...local].sort(compareSequenceNumbers)).toEqual(
      [...local].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1)),
    );
    expect(compareSequenceNumbers('7', '7')).toBe(0);
  });
});
