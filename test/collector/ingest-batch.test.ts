import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { batchStatus, decodeBody, ingestBatch } from '../../src/collector/index.js';
import { BatchingProducer } from '../../src/producer/index.js';
import { type LocalStream, openLocalStream } from '../../src/stream/local/index.js';
import { useTempDir } from '../support/temp.js';

const tempDir = useTempDir();

const facts = () => ({ receivedAt: Date.now() });
const event = (user: string) => ({ user_id: user, event: 'click', timestamp: new Date().toISOString() });

/** A batch as the collector's own protocol decodes it: NDJSON lines, bad ones rejected by index. */
const ndjson = (...lines: string[]) => decodeBody('ndjson', Buffer.from(`${lines.join('\n')}\n`)).items;

async function openStream(): Promise<LocalStream> {
  const stream = openLocalStream(path.join(await tempDir(), 'stream'), { shards: 2 });
  await stream.connect();
  return stream;
}

async function eventIdsOn(stream: LocalStream): Promise<string[]> {
  const ids: string[] = [];
  for (const { shardId } of await stream.listShards()) {
    const iterator = await stream.getShardIterator(shardId, { type: 'TRIM_HORIZON' });
    for (const record of (await stream.getRecords(iterator, 1_000)).records) {
      ids.push(JSON.parse(Buffer.from(record.data).toString('utf8')).event_id);
    }
  }
  return ids.sort();
}

describe('ingestBatch', () => {
  it('puts the valid events on the stream and names every other one by index, in batch order', async () => {
    const stream = await openStream();
    const producer = new BatchingProducer(stream, { lingerMs: 2 });
    const items = ndjson(
      JSON.stringify(event('user_1')),
      '{not json',
      JSON.stringify({ user_id: 'user_2', event: 'click' }),
      JSON.stringify(event('user_3')),
    );

    const outcome = await ingestBatch(items, facts(), (record) => producer.put(record));

    expect(outcome.status).toBe(200);
    expect(outcome.accepted.map((a) => [a.index, a.event.user_id])).toEqual([
      [0, 'user_1'],
      [3, 'user_3'],
    ]);
    expect(outcome.rejected.map((r) => [r.index, r.code])).toEqual([
      [1, 'invalid_json'],
      [2, 'missing_field'],
    ]);
    expect(outcome.putSeconds).toBeGreaterThanOrEqual(0);
    expect(await eventIdsOn(stream)).toEqual(outcome.accepted.map((a) => a.event.event_id).sort());
    await producer.close();
    await stream.close();
  });

  it('answers 400 when no event is valid, and puts nothing', async () => {
    const stream = await openStream();
    const producer = new BatchingProducer(stream);
    const outcome = await ingestBatch(ndjson('[]', '{"event":"x"}'), facts(), (r) => producer.put(r));
    expect(outcome).toMatchObject({ status: 400, accepted: [] });
    expect(outcome.rejected).toHaveLength(2);
    expect(outcome.putSeconds).toBeUndefined();
    expect(await eventIdsOn(stream)).toEqual([]);
    await producer.close();
    await stream.close();
  });

  it('answers 503 when the producer is closing, naming each event the stream did not take', async () => {
    // Closing the producer closes the stream under it too.
    const producer = new BatchingProducer(await openStream());
    await producer.close();
    const items = ndjson(JSON.stringify(event('user_1')), '{broken', JSON.stringify(event('user_2')));

    const outcome = await ingestBatch(items, facts(), (record) => producer.put(record));

    expect(outcome.status).toBe(503);
    expect(outcome.rejected.map((r) => [r.index, r.code])).toEqual([
      [0, 'producer_closed'],
      [1, 'invalid_json'],
      [2, 'producer_closed'],
    ]);
    expect(outcome.accepted).toEqual([]);
  });
});

describe('batchStatus', () => {
  it('is 503 while closing, then 429 when worth retrying, then 400 with nothing accepted, else 200', () => {
    expect(batchStatus({ accepted: 5, closing: true, retriable: true })).toBe(503);
    expect(batchStatus({ accepted: 0, closing: true, retriable: false })).toBe(503);
    expect(batchStatus({ accepted: 5, closing: false, retriable: true })).toBe(429);
    expect(batchStatus({ accepted: 0, closing: false, retriable: true })).toBe(429);
    expect(batchStatus({ accepted: 0, closing: false, retriable: false })).toBe(400);
    expect(batchStatus({ accepted: 1, closing: false, retriable: false })).toBe(200);
  });
});
