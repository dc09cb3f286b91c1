import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { compact } from '../../src/compact/index.js';
import { createHandler } from '../../src/consumer/index.js';
import type { SinkLocation } from '../../src/core/locations.js';
import type { ObjectStore, StreamRecord } from '../../src/core/ports.js';
import { FORGOTTEN_KEY_KEY, FORGOTTEN_LIST_KEY, ForgottenList, forget } from '../../src/forget/index.js';
import { type Dataset, isCompactedKey, listLanded } from '../../src/layout/index.js';
import { redrive } from '../../src/redrive/index.js';
import type { EventIdRange } from '../../src/sink/formats/index.js';
import { readEventIdRange } from '../../src/sink/formats/ndjson.js';
import { DirectoryStore, S3Store } from '../../src/sink/index.js';
import { openLocalStream } from '../../src/stream/local/index.js';
import { freshS3Prefix } from '../contract/object-store-contract.js';
import { simulated } from '../query/helpers.js';
import { eventOf, kinesisRecord } from '../support/kinesis-events.js';
import { useStubbedS3rver } from '../support/s3rver.js';
import { useTempDir } from '../support/temp.js';

const tempDir = useTempDir();
const BUCKET = 'activity-forget';
useStubbedS3rver([BUCKET]);

const TARGET = 'user_7';
const OTHER = 'user_8';

type Row = Record<string, unknown>;

/** Every row of every landed object of a dataset, read through the store with gunzip and hyparquet. */
async function rows(store: ObjectStore, dataset: Dataset): Promise<Row[]> {
  const out: Row[] = [];
  for (const object of await listLanded(store, dataset)) {
    const bytes = await store.get(object.key);
    if (object.format === 'parquet') out.push(...(await parquetRows(bytes)));
    else {
      for (const line of gunzipSync(bytes).toString('utf8').split('\n'))
        if (line !== '') out.push(JSON.parse(line));
    }
  }
  return out;
}

/** The id range in the gzip header of each NDJSON object of `events/`, by key. */
async function ndjsonRanges(store: ObjectStore): Promise<Map<string, EventIdRange | undefined>> {
  const ranges = new Map<string, EventIdRange | undefined>();
  for (const object of await listLanded(store, 'events')) {
    if (object.format === 'ndjson') ranges.set(object.key, readEventIdRange(await store.get(object.key)));
  }
  return ranges;
}

/** Rows of a Parquet object, by DuckDB (which reads every codec: snappy, zstd). */
async function parquetRows(bytes: Uint8Array): Promise<Row[]> {
  const file = path.join(await tempDir(), 'object.parquet');
  await writeFile(file, bytes);
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(
      `SELECT event_id, user_id FROM read_parquet('${file.replaceAll("'", "''")}')`,
    );
    return reader.getRowObjectsJS() as Row[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** The user of an `errors/` row: its partition key, and the `user_id` its bytes hold when they decode. */
function errorUsers(row: Row): string[] {
  const users = [String(row.partition_key)];
  try {
    users.push(String(JSON.parse(Buffer.from(String(row.data), 'base64').toString()).user_id));
  } catch {
    // not JSON: only the partition key tells
  }
  return users;
}

function perUser(events: readonly Row[]): Record<string, number> {
  const ids = new Map<string, Set<string>>();
  for (const e of events) {
    const user = String(e.user_id);
    if (!ids.has(user)) ids.set(user, new Set());
    ids.get(user)?.add(String(e.event_id));
  }
  return Object.fromEntries([...ids].map(([u, s]) => [u, s.size]).sort());
}

/** Records as the stream holds them: events keyed by user, and three bad ones tied to users. */
function streamLines() {
  const events = simulated(1800, { stepMs: 6000, users: 12, seed: 'forget' });
  const bad = [
    // Broken JSON: only the partition key names the user.
    { data: '{broken', partitionKey: TARGET },
    // Valid JSON without `event`, under another key: its bytes name the user.
    {
      data: JSON.stringify({ user_id: TARGET, timestamp: '2026-11-24T08:30:00.000Z' }),
      partitionKey: 'pk-x',
    },
    { data: JSON.stringify({ user_id: OTHER, timestamp: '2026-11-24T08:30:00.000Z' }), partitionKey: OTHER },
  ];
  return [...events.map((data) => ({ data, partitionKey: String(JSON.parse(data).user_id) })), ...bad];
}

/** Lands the records through the real handler: half as NDJSON from one shard, half as Parquet from another. */
async function land(store: ObjectStore, options: { forgotten?: ForgottenList; seqOffset?: number } = {}) {
  const lines = streamLines();
  const half = Math.floor(lines.length / 2);
  for (const [shard, part, format] of [
    [0, lines.slice(0, half), 'ndjson'],
    [1, lines.slice(half), 'parquet'],
  ] as const) {
    const handler = createHandler({
      store,
      format,
      ...(options.forgotten === undefined ? {} : { forgotten: options.forgotten }),
    });
    for (let start = 0; start < part.length; start += 150) {
      const records = part.slice(start, start + 150).map((r, i) => {
        let arrivalMs = Date.parse('2026-11-24T08:00:00.000Z');
        try {
          const t = Date.parse(JSON.parse(r.data).timestamp);
          if (Number.isFinite(t)) arrivalMs = t + 100;
        } catch {}
        return kinesisRecord(r.data, String((options.seqOffset ?? 0) + 1 + start + i), {
          shardId: `shardId-00000000000${shard}`,
          partitionKey: r.partitionKey,
          arrivalMs,
        });
      });
      const response = await handler(eventOf(records));
      expect(response.batchItemFailures, 'the handler landed the batch').toEqual([]);
    }
  }
}

const sinks: { kind: string; open(): Promise<{ store: ObjectStore; location: SinkLocation }> }[] = [
  {
    kind: 'a directory',
    async open() {
      const dir = path.join(await tempDir(), 'sink');
      const store = new DirectoryStore(dir);
      await store.connect();
      return { store, location: { kind: 'directory', path: dir } };
    },
  },
  {
    kind: 'S3 (s3rver)',
    async open() {
      const prefix = freshS3Prefix();
      const store = new S3Store({ bucket: BUCKET, prefix });
      await store.connect();
      return { store, location: { kind: 's3', bucket: BUCKET, prefix } };
    },
  },
];

describe.each(sinks)('activity forget on $kind', ({ open }) => {
  it('removes the user from NDJSON, Parquet, compacted and errors/ objects, keeps everyone else, and finds nothing the second time', async () => {
    const { store, location } = await open();
    await land(store);
    // One hour compacted, the rest left as the consumer wrote them.
    await compact(location, { store, before: new Date('2026-11-24T09:00:00.000Z') });
    const landed = await listLanded(store, 'events');
    expect(landed.some((o) => isCompactedKey(o.key))).toBe(true);
    expect(landed.some((o) => o.format === 'ndjson')).toBe(true);
    const before = perUser(await rows(store, 'events'));
    const errorsBefore = await rows(store, 'errors');
    expect(before[TARGET]).toBeGreaterThan(50);
    expect(errorsBefore.filter((r) => errorUsers(r).includes(TARGET))).toHaveLength(2);

    const dry = await forget(location, [TARGET], { store, dryRun: true });
    expect(dry.removed).toEqual({ events: before[TARGET], errors: 2 });
    expect(perUser(await rows(store, 'events'))).toEqual(before);
    await expect(store.get(FORGOTTEN_LIST_KEY), 'a dry run writes no list').rejects.toThrow();

    const rangesBefore = await ndjsonRanges(store);
    const receipt = await forget(location, [TARGET], { store });
    expect(receipt.removed).toEqual(dry.removed);
    // A rewritten NDJSON object keeps the id range of its header: its ids are still within it.
    const rangesAfter = await ndjsonRanges(store);
    const rewritten = dry.objects
      .map((o) => o.key)
      .filter((k) => rangesAfter.has(k) && k.endsWith('.ndjson.gz'));
    expect(rewritten.length, 'forget rewrote NDJSON objects of events/').toBeGreaterThan(0);
    for (const key of rewritten) expect(rangesAfter.get(key), key).toEqual(rangesBefore.get(key));
    expect([...rangesAfter.values()].every((r) => r !== undefined)).toBe(true);
    expect(receipt.rewritten + receipt.deleted).toBe(dry.objects.length);
    expect(receipt.addedToList).toBe(1);

    const after = await rows(store, 'events');
    const { [TARGET]: gone, ...others } = before;
    expect(gone).toBeGreaterThan(0);
    expect(perUser(after)).toEqual(others);
    const errorsAfter = await rows(store, 'errors');
    expect(errorsAfter.filter((r) => errorUsers(r).includes(TARGET))).toEqual([]);
    expect(errorsAfter).toHaveLength(errorsBefore.length - 2);

    const again = await forget(location, [TARGET], { store });
    expect(again).toMatchObject({
      removed: { events: 0, errors: 0 },
      rewritten: 0,
      deleted: 0,
      addedToList: 0,
    });
  });

  it('compaction leaves out the records of a forgotten user that landed after the erasure', async () => {
    const { store, location } = await open();
    await land(store);
    await forget(location, [TARGET], { store });
    // A consumer that read the list before it changed lands the user's events again, under new names.
    await land(store, { seqOffset: 100_000 });
    expect(perUser(await rows(store, 'events'))[TARGET]).toBeGreaterThan(0);

    const result = await compact(location, { store, before: new Date('2026-11-25T00:00:00.000Z') });

    expect(result.hours.reduce((n, h) => n + h.forgotten, 0)).toBeGreaterThan(0);
    expect(perUser(await rows(store, 'events'))[TARGET]).toBeUndefined();
    expect(perUser(await rows(store, 'events'))[OTHER]).toBeGreaterThan(0);
  });

  it('a replay of the same stream positions overwrites what forget rewrote: no new object, no copy', async () => {
    const { store, location } = await open();
    await land(store);
    await forget(location, [TARGET], { store });
    const keys = async () => [
      ...(await listLanded(store, 'events')).map((o) => o.key),
      ...(await listLanded(store, 'errors')).map((o) => o.key),
    ];
    const before = { keys: await keys(), events: (await rows(store, 'events')).length };

    // The same records at the same positions, read again by a consumer that honours the list.
    await land(store, { forgotten: new ForgottenList(store) });

    expect(await keys()).toEqual(before.keys);
    expect((await rows(store, 'events')).length).toBe(before.events);
    expect(perUser(await rows(store, 'events'))[TARGET]).toBeUndefined();
  });

  it('keeps the user out of a replay of the stream and out of a redrive', async () => {
    const { store, location } = await open();
    await land(store);
    await forget(location, [TARGET], { store });
    const list = await new ForgottenList(store).load();
    expect(list.has(TARGET)).toBe(true);
    expect(list.has(OTHER)).toBe(false);
    // The list holds keyed hashes: neither the id nor its plain SHA-256 is in it.
    const stored = Buffer.from(await store.get(FORGOTTEN_LIST_KEY)).toString();
    expect(stored).not.toContain(TARGET);
    expect((await store.get(FORGOTTEN_KEY_KEY)).byteLength).toBeGreaterThan(32);

    // The stream read again from its start (another range of positions: a replay to new objects).
    await land(store, { forgotten: new ForgottenList(store), seqOffset: 100_000 });
    expect(perUser(await rows(store, 'events'))[TARGET]).toBeUndefined();
    expect((await rows(store, 'errors')).filter((r) => errorUsers(r).includes(TARGET))).toEqual([]);

    // A consumer that read the list before it changed lands the user's bad record again; redrive
    // does not send it back.
    const handler = createHandler({ store });
    await handler(eventOf([kinesisRecord('{still broken', '900000', { partitionKey: TARGET })]));
    const stream = openLocalStream(path.join(await tempDir(), 'stream'), { shards: 1 });
    await stream.connect();
    try {
      const result = await redrive(store, stream, {
        streamName: 'file:///stream',
        streamArn: stream.streamArn,
        forgotten: await new ForgottenList(store).load(),
      });
      expect(result.forgotten).toBe(1);
      // OTHER's bad record, landed once and again by the replay.
      expect(result.sent).toBe(2);
      const [shard] = await stream.listShards();
      const iterator = await stream.getShardIterator(shard?.shardId ?? '', { type: 'TRIM_HORIZON' });
      const sent: StreamRecord[] = (await stream.getRecords(iterator, 100)).records;
      expect(sent.map((r) => r.partitionKey)).toEqual([OTHER, OTHER]);
    } finally {
      await stream.close();
    }
  });
});

describe('the forgotten-users list', () => {
  it('refuses a key other than the one the list was made with, and never shows a key', async () => {
    const dir = await tempDir();
    const store = new DirectoryStore(dir);
    await store.connect();
    const key = 'a-user-supplied-key-of-some-length';
    await new ForgottenList(store, { keySource: { key } }).add([TARGET]);
    await expect(store.get(FORGOTTEN_KEY_KEY), 'a supplied key is not written to the sink').rejects.toThrow();
    expect((await new ForgottenList(store, { keySource: { key } }).load()).has(TARGET)).toBe(true);
    const wrong = new ForgottenList(store, { keySource: { key: 'another-key-of-enough-length' } }).load();
    await expect(wrong).rejects.toThrow(/not the one given/);
    await expect(wrong).rejects.not.toThrow(key);
    await expect(new ForgottenList(store, { keySource: {} }).load()).rejects.toThrow(/FORGET_KEY/);
  });
});
