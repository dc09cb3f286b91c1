import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createHandler } from '../../src/consumer/index.js';
import { encodeLines } from '../../src/consumer/landing.js';
import { distinctIdRange, MAX_RANGE_ID_LENGTH } from '../../src/sink/formats/index.js';
import { GZIP_RANGE_HEAD_BYTES, readEventIdRange, withEventIdRange } from '../../src/sink/formats/ndjson.js';
import { DirectoryStore } from '../../src/sink/index.js';
import { activityJson, eventOf, kinesisRecord } from '../support/kinesis-events.js';
import { useTempDir } from '../support/temp.js';

const tempDir = useTempDir();

/** Printable ASCII without `"` and `\`: the ids a range may name. */
const rangeId = fc.stringMatching(new RegExp(`^[ !#-\\[\\]-~]{1,${MAX_RANGE_ID_LENGTH}}$`));

describe('an id range in an NDJSON object’s gzip header', () => {
  it('is read back from the first GZIP_RANGE_HEAD_BYTES, and leaves the data as it was', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(rangeId, { minLength: 1, maxLength: 20 }), async (ids) => {
        const lines = ids.map((id) => JSON.stringify({ event_id: id }));
        const range = distinctIdRange(ids);
        expect(range).toEqual({ min: [...ids].sort()[0], max: [...ids].sort().at(-1) });
        const body = await encodeLines(lines, undefined, range);
        expect(readEventIdRange(body.subarray(0, GZIP_RANGE_HEAD_BYTES))).toEqual(range);
        expect(gunzipSync(body).toString('utf8')).toBe(`${lines.join('\n')}\n`);
      }),
    );
  });

  it('fits GZIP_RANGE_HEAD_BYTES with ids of the greatest length', async () => {
    const range = { min: '!'.repeat(MAX_RANGE_ID_LENGTH), max: '~'.repeat(MAX_RANGE_ID_LENGTH) };
    const body = await encodeLines(['{}'], undefined, range);
    expect(readEventIdRange(body.subarray(0, GZIP_RANGE_HEAD_BYTES))).toEqual(range);
    expect(readEventIdRange(body.subarray(0, GZIP_RANGE_HEAD_BYTES - 1))).toBeUndefined();
  });

  it('is absent from a body without a range, from zlib’s own gzip and from what is not gzip', async () => {
    const plain = gzipSync('{}\n');
    expect(withEventIdRange(plain, undefined)).toBe(plain);
    expect(readEventIdRange(plain)).toBeUndefined();
    expect(readEventIdRange(await encodeLines(['{}']))).toBeUndefined();
    expect(readEventIdRange(Buffer.from('{"event_id":"a"}\n'))).toBeUndefined();
    expect(readEventIdRange(Buffer.alloc(0))).toBeUndefined();
  });

  it('is not read from a damaged header', async () => {
    const body = await encodeLines(['{}'], undefined, { min: 'a', max: 'b' });
    const longer = Buffer.from(body);
    longer.writeUInt16LE(60_000, 14); // the subfield claims more bytes than the extra field holds
    expect(readEventIdRange(longer)).toBeUndefined();
    const backwards = await encodeLines(['{}'], undefined, { min: 'b', max: 'a' });
    expect(readEventIdRange(backwards)).toBeUndefined();
  });
});

describe('the ids a range names', () => {
  it('are distinct printable ASCII without quotes or backslashes, of at most MAX_RANGE_ID_LENGTH', () => {
    expect(distinctIdRange(['b', 'a', 'c'])).toEqual({ min: 'a', max: 'c' });
    expect(distinctIdRange(['a', 'b', 'a'])).toBeUndefined();
    expect(distinctIdRange([])).toBeUndefined();
    expect(distinctIdRange(['a', undefined])).toBeUndefined();
    // Two lone surrogates differ as JavaScript strings and are both U+FFFD in UTF-8.
    expect(distinctIdRange(['\uD800', '\uDC00'])).toBeUndefined();
    expect(distinctIdRange(['é'])).toBeUndefined();
    expect(distinctIdRange(['a"b'])).toBeUndefined();
    expect(distinctIdRange(['a\\b'])).toBeUndefined();
    expect(distinctIdRange(['x'.repeat(MAX_RANGE_ID_LENGTH)])).toBeDefined();
    expect(distinctIdRange(['x'.repeat(MAX_RANGE_ID_LENGTH + 1)])).toBeUndefined();
  });
});

describe('the consumer’s NDJSON objects', () => {
  it('declare the range of their distinct ids, and none when an id repeats in the object', async () => {
    const sink = path.join(await tempDir(), 'sink');
    const store = new DirectoryStore(sink);
    await store.connect();
    const handler = createHandler({ store, warn: () => undefined });
    const at = (hour: number) => `2026-11-25T${hour}:10:00.000Z`;
    const records = [
      kinesisRecord(activityJson({ event_id: 'k', timestamp: at(19) }), '1'),
      kinesisRecord(activityJson({ event_id: 'c', timestamp: at(19) }), '2'),
      kinesisRecord(activityJson({ event_id: 'd', timestamp: at(20) }), '3'),
      kinesisRecord(activityJson({ event_id: 'd', timestamp: at(20) }), '4'),
    ];
    expect((await handler(eventOf(records))).batchItemFailures).toEqual([]);
    const head = async (key: string) =>
      readEventIdRange(await readFile(path.join(sink, 'events', 'dt=2026-11-25', key)));
    expect(await head('hour=19/shardId-000000000000-1.ndjson.gz')).toEqual({ min: 'c', max: 'k' });
    expect(await head('hour=20/shardId-000000000000-3.ndjson.gz')).toBeUndefined();
  });
});
