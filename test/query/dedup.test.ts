import { afterEach, describe, expect, it } from 'vitest';
import { encodeLines } from '../../src/consumer/landing.js';
import type { ActivityEvent } from '../../src/event/index.js';
import { type LandedObject, objectKey, PARQUET, parseLandedKey } from '../../src/layout/index.js';
import { cellValue, LandedData } from '../../src/query/index.js';
import { objectsWithoutCopies } from '../../src/query/skipping.js';
import type { EventIdRange } from '../../src/sink/formats/index.js';
import { encodeEventsParquet } from '../../src/sink/formats/parquet.js';
import { DirectoryStore } from '../../src/sink/index.js';
import { useTempDir } from '../support/temp.js';

const tempDir = useTempDir();
const opened: LandedData[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((d) => d.close()));
});

const HOUR = 'dt=2026-11-25/hour=19';
const SHARD = 'shardId-000000000000';

/** An event of hour 19 with id `id`, received `receivedMs` after the hour began. */
function event(id: string, receivedMs = 0, name = 'click'): ActivityEvent {
  return {
    event_id: id,
    user_id: `user_${id}`,
    event: name,
    timestamp: '2026-11-25T19:10:00.000Z',
    received_at: new Date(Date.parse('2026-11-25T19:10:00.040Z') + receivedMs).toISOString(),
  };
}

async function landParquet(store: DirectoryStore, seq: string, events: ActivityEvent[], hour = HOUR) {
  await store.put(objectKey('events', hour, SHARD, seq, '', PARQUET.extension), encodeEventsParquet(events), {
    contentType: PARQUET.contentType,
  });
}

async function landNdjson(
  store: DirectoryStore,
  seq: string,
  events: ActivityEvent[],
  range?: EventIdRange,
  hour = HOUR,
) {
  const body = await encodeLines(
    events.map((e) => JSON.stringify(e)),
    undefined,
    range,
  );
  await store.put(objectKey('events', hour, SHARD, seq), body, {
    contentType: 'application/x-ndjson',
    contentEncoding: 'gzip',
  });
}

/** `event_id → rows` of the events view, and the received_at kept for each. */
async function viewRows(sink: string): Promise<Map<string, string[]>> {
  const data = await LandedData.open({ kind: 'directory', path: sink });
  opened.push(data);
  const result = await data.query('SELECT event_id, received_at FROM events ORDER BY event_id, received_at');
  const rows = new Map<string, string[]>();
  for (const [id, received] of result.rows.map((r) => r.map(cellValue))) {
    rows.set(String(id), [...(rows.get(String(id)) ?? []), String(received)]);
  }
  return rows;
}

const received = (ms: number) => new Date(Date.parse('2026-11-25T19:10:00.040Z') + ms).toISOString();

describe('the events view, with real duplicates', () => {
  it('keeps one row per event_id, the first received, for copies within one object and across objects', async () => {
    const sink = await tempDir();
    const store = new DirectoryStore(sink);
    await store.connect();
    // A replay landed `a` and `c` again under another name; `z` was sent twice, far apart, into
    // objects whose other ids are disjoint.
    await landParquet(store, '1', [event('a'), event('b'), event('c')]);
    await landParquet(store, '5', [event('a', 9), event('c', 9), event('d')]);
    await landParquet(store, '8', [event('m'), event('n'), event('z', 2)]);
    await landParquet(store, '11', [event('x'), event('y'), event('z')]);
    // Another hour, alone and distinct, read without the window; and one alone where a client sent `w`
    // twice in one batch.
    await landParquet(store, '20', [event('q')], 'dt=2026-11-25/hour=20');
    await landParquet(store, '30', [event('w', 4), event('w')], 'dt=2026-11-25/hour=21');

    const rows = await viewRows(sink);

    expect(Object.fromEntries(rows)).toEqual({
      a: [received(0)],
      b: [received(0)],
      c: [received(0)],
      d: [received(0)],
      m: [received(0)],
      n: [received(0)],
      q: [received(0)],
      w: [received(0)],
      x: [received(0)],
      y: [received(0)],
      z: [received(0)],
    });
  });

  it('deduplicates Parquet objects against an NDJSON object of their hour, which may hold any id', async () => {
    const sink = await tempDir();
    const store = new DirectoryStore(sink);
    await store.connect();
    await landParquet(store, '1', [event('a'), event('b')]);
    await landParquet(store, '3', [event('c'), event('d')]);
    await landNdjson(store, '9', [event('d', 7), event('e'), event('e', 3)]);

    const rows = await viewRows(sink);

    expect([...rows.keys()]).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect([...rows.values()].every((r) => r.length === 1)).toBe(true);
    expect(rows.get('d')).toEqual([received(0)]);
  });
});

describe('NDJSON objects that declare their id range', () => {
  it('skip the window when their ranges meet no other of their hour, beside Parquet', async () => {
    const sink = await tempDir();
    const store = new DirectoryStore(sink);
    await store.connect();
    await landNdjson(store, '1', [event('a'), event('b')], { min: 'a', max: 'b' });
    await landParquet(store, '3', [event('c'), event('d')]);
    // An object whose header is false (`e` twice under a declared distinct range) shows that the
    // range is what is trusted: alone in its hour it is read as it is, both rows; without the
    // header, once.
    const twice = [event('e', 5), event('e')];
    await landNdjson(store, '5', twice, { min: 'e', max: 'e' }, 'dt=2026-11-25/hour=20');
    await landNdjson(store, '5', twice, undefined, 'dt=2026-11-25/hour=21');

    const data = await LandedData.open({ kind: 'directory', path: sink });
    opened.push(data);
    const result = await data.query('SELECT hour, event_id, count(*) FROM events GROUP BY ALL ORDER BY ALL');
    expect(result.rows.map((r) => r.map(cellValue))).toEqual([
      [19, 'a', 1],
      [19, 'b', 1],
      [19, 'c', 1],
      [19, 'd', 1],
      [20, 'e', 2],
      [21, 'e', 1],
    ]);
  });

  it('are deduplicated when their ranges meet, and the first received copy is kept', async () => {
    const sink = await tempDir();
    const store = new DirectoryStore(sink);
    await store.connect();
    await landNdjson(store, '1', [event('a'), event('c')], { min: 'a', max: 'c' });
    await landNdjson(store, '5', [event('b'), event('c', 9)], { min: 'b', max: 'c' });

    const rows = await viewRows(sink);

    expect(Object.fromEntries(rows)).toEqual({ a: [received(0)], b: [received(0)], c: [received(0)] });
  });
});

describe('objects read without the deduplicating window', () => {
  const object = (name: string, hour = 19): LandedObject =>
    parseLandedKey(`events/dt=2026-11-25/hour=${hour}/${name}`) as LandedObject;
  const skipped = (objects: LandedObject[], ranges: [LandedObject, EventIdRange][]) =>
    [...objectsWithoutCopies(objects, new Map(ranges))]
      .map((o) => o.key.split('/').slice(2).join('/'))
      .sort();

  it('skips distinct objects whose id ranges meet no other range of their hour', () => {
    const [a, b, c] = [object('s-1.parquet'), object('s-5.parquet'), object('s-9.parquet')];
    expect(
      skipped(
        [a, b, c],
        [
          [a, { min: 'a', max: 'c' }],
          [b, { min: 'd', max: 'f' }],
          [c, { min: 'g', max: 'g' }],
        ],
      ),
    ).toEqual(['hour=19/s-1.parquet', 'hour=19/s-5.parquet', 'hour=19/s-9.parquet']);
  });

  it('does not skip objects whose ranges meet, even at one end, nor one inside another', () => {
    const [a, b, c, d] = [
      object('s-1.parquet'),
      object('s-5.parquet'),
      object('s-9.parquet'),
      object('s-12.parquet'),
    ];
    expect(
      skipped(
        [a, b, c, d],
        [
          [a, { min: 'a', max: 'c' }],
          [b, { min: 'c', max: 'e' }],
          [c, { min: 'k', max: 'z' }],
          [d, { min: 'm', max: 'n' }],
        ],
      ),
    ).toEqual([]);
  });

  it('skips nothing in an hour holding an object of unknown range, but other hours still skip', () => {
    const [a, b, n] = [object('s-1.parquet'), object('s-5.parquet'), object('s-9.ndjson.gz')];
    const unknownParquet = object('s-12.parquet');
    const other = object('s-1.parquet', 20);
    const ranges: [LandedObject, EventIdRange][] = [
      [a, { min: 'a', max: 'b' }],
      [b, { min: 'c', max: 'd' }],
      [other, { min: 'a', max: 'b' }],
    ];
    expect(skipped([a, b, n, other], ranges)).toEqual(['hour=20/s-1.parquet']);
    expect(skipped([a, b, unknownParquet], ranges)).toEqual([]);
  });

  it('skips a compacted object alone in its hour, and not one beside its inputs', () => {
    const compacted = object('compacted-0123456789abcdef.parquet');
    const input = object('s-1.ndjson.gz');
    expect(skipped([compacted], [])).toEqual(['hour=19/compacted-0123456789abcdef.parquet']);
    expect(skipped([compacted, input], [])).toEqual([]);
  });
});

describe('the distinct-ids metadata of the consumer Parquet', () => {
  it('declares the id range of distinct ids, and nothing when an id repeats', async () => {
    const sink = await tempDir();
    const store = new DirectoryStore(sink);
    await store.connect();
    await landParquet(store, '1', [event('b'), event('a'), event('c')]);
    await landParquet(store, '7', [event('d'), event('d', 1)]);
    const data = await LandedData.open({ kind: 'directory', path: sink });
    opened.push(data);
    const result = await data.query(
      `SELECT regexp_extract(file_name, '[^/]+$'), decode(key), decode(value)
       FROM parquet_kv_metadata('${sink}/events/*/*/*.parquet') WHERE decode(key) LIKE 'activity.%' ORDER BY 1`,
    );
    expect(result.rows.map((r) => r.map(cellValue))).toEqual([
      [`${SHARD}-1.parquet`, 'activity.distinct_event_ids', '{"min":"a","max":"c"}'],
    ]);
  });

  it('declares no range for ids that differ only before UTF-8 encoding, so their copies are one row', async () => {
    const sink = await tempDir();
    const store = new DirectoryStore(sink);
    await store.connect();
    // Two lone surrogates: distinct JavaScript strings, both U+FFFD in the file.
    await landParquet(store, '1', [event('\uD800'), event('\uDC00', 3)]);

    const rows = await viewRows(sink);

    expect(Object.fromEntries(rows)).toEqual({ '\uFFFD': [received(0)] });
  });
});
