import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deaggregateKpl, isKplAggregate, KPL_MAGIC } from '../../src/consumer/index.js';
import { StreamError } from '../../src/core/errors.js';
import { type KplUserRecordInput, kplAggregate, referenceDeaggregate } from '../support/kpl.js';

type ReferenceUserRecord = KplUserRecordInput;

/** One Kinesis record's data holding `records`, made by the reference aggregator. */
function aggregate(records: ReferenceUserRecord[]): Buffer {
  return kplAggregate(records).data;
}

const referenceDecode = referenceDeaggregate;

// A protobuf writer for hand-made messages: the reference encoder never writes unknown fields.
function varint(value: number | bigint): number[] {
  let v = BigInt(value);
  const out: number[] = [];
  do {
    const low = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? low | 0x80 : low);
  } while (v > 0n);
  return out;
}
const tag = (field: number, wireType: number) => varint(field * 8 + wireType);
const uint = (field: number, value: number | bigint) => [...tag(field, 0), ...varint(value)];
const bytes = (field: number, payload: Uint8Array | string | number[]) => {
  const body = typeof payload === 'string' ? [...Buffer.from(payload)] : [...payload];
  return [...tag(field, 2), ...varint(body.length), ...body];
};
const record = (pkIndex: number, data: string, ...extra: number[][]) => [
  ...uint(1, pkIndex),
  ...bytes(3, data),
  ...extra.flat(),
];

/** Magic + protobuf + MD5 of the protobuf: a well-formed envelope around any body. */
function envelope(body: Uint8Array | number[]): Buffer {
  const protobuf = Buffer.from(body);
  return Buffer.concat([KPL_MAGIC, protobuf, createHash('md5').update(protobuf).digest()]);
}

function failureOf(data: Uint8Array): StreamError {
  try {
    deaggregateKpl(data);
  } catch (error) {
    if (error instanceof StreamError) return error;
    throw error;
  }
  throw new Error('deaggregateKpl accepted the record');
}

const text = (data: Uint8Array) => Buffer.from(data).toString();

describe('deaggregateKpl', () => {
  it('decodes an aggregate made by the reference aggregator: every user record, in order, with its keys', () => {
    // Prepare: repeated and unicode partition keys, explicit hash keys, empty and binary data.
    const input: ReferenceUserRecord[] = [
      { partitionKey: 'user_1', data: Buffer.from('{"n":0}') },
      { partitionKey: 'user_2', data: Buffer.from([0, 255, 0xf3, 0x89]), explicitHashKey: '42' },
      { partitionKey: 'user_1', data: Buffer.from('{"n":2}') },
      {
        partitionKey: 'ユーザー',
        data: Buffer.alloc(0),
        explicitHashKey: '340282366920938463463374607431768211455',
      },
      { partitionKey: 'user_3', data: Buffer.alloc(50_000, 7), explicitHashKey: '42' },
    ];
    // Act
    const records = deaggregateKpl(aggregate(input));
    // Assess
    expect(records.map((r) => r.partitionKey)).toEqual(input.map((r) => r.partitionKey));
    expect(records.map((r) => r.explicitHashKey)).toEqual(input.map((r) => r.explicitHashKey));
    expect(records.map((r) => Buffer.from(r.data))).toEqual(input.map((r) => Buffer.from(r.data)));
  });

  it('decodes any user records the reference aggregator packs back to the same keys and bytes, in order', () => {
    // The reference aggregator builds its key tables as object keys and reads them back in
    // Object.keys order, which puts integer-like keys ("7", "42") first: it then points records at
    // the wrong keys. Keep keys out of that shape (real explicit hash keys are 128-bit numbers).
    const arrayIndexLike = (key: string) => /^(0|[1-9][0-9]*)$/.test(key) && Number(key) < 2 ** 32 - 1;
    const userRecord = fc.record(
      {
        partitionKey: fc
          .string({ unit: 'grapheme', minLength: 1, maxLength: 64 })
          .filter((key) => !arrayIndexLike(key) && key !== '__proto__'),
        data: fc.uint8Array({ maxLength: 600 }),
        explicitHashKey: fc.bigInt(2n ** 32n, 2n ** 128n - 1n).map(String),
      },
      { requiredKeys: ['partitionKey', 'data'] },
    );
    fc.assert(
      fc.property(fc.array(userRecord, { minLength: 1, maxLength: 40 }), (input) => {
        const data = aggregate(input);
        const records = deaggregateKpl(data);
        expect(records.map((r) => r.partitionKey)).toEqual(input.map((r) => r.partitionKey));
        expect(records.map((r) => r.explicitHashKey)).toEqual(input.map((r) => r.explicitHashKey));
        expect(records.map((r) => Buffer.from(r.data).toString('hex'))).toEqual(
          input.map((r) => Buffer.from(r.data).toString('hex')),
        );
        // And the reference decoder reads the same bytes from it.
        expect(records.map((r) => Buffer.from(r.data).toString('base64'))).toEqual(
          referenceDecode(data).map((r) => r.data),
        );
      }),
    );
  });

  it("returns views into the aggregate's bytes rather than copies", () => {
    const data = aggregate([
      { partitionKey: 'a', data: Buffer.from('first') },
      { partitionKey: 'b', data: Buffer.from('second') },
    ]);
    const [first, second] = deaggregateKpl(data);
    expect(first?.data.buffer).toBe(data.buffer);
    expect(second?.data.buffer).toBe(data.buffer);
    expect(text(second?.data ?? new Uint8Array())).toBe('second');
  });

  it('skips unknown fields of every wire type, in the aggregate and in its records, and reads fields in any order', () => {
    // Prepare: records before the key tables they point into, tags, and unknown fields (varint,
    // fixed64, length-delimited, fixed32, a group with a nested group).
    const group = [
      ...tag(13, 3),
      ...uint(1, 5),
      ...tag(14, 3),
      ...bytes(2, 'x'),
      ...tag(14, 4),
      ...tag(13, 4),
    ];
    const body = [
      ...uint(9, 2n ** 63n),
      ...bytes(3, record(1, 'one', bytes(4, [...bytes(1, 'k'), ...bytes(2, 'v')]), uint(15, 1))),
      ...tag(10, 1),
      ...[1, 2, 3, 4, 5, 6, 7, 8],
      ...bytes(1, 'pk-0'),
      ...bytes(11, 'unknown bytes'),
      ...group,
      ...bytes(1, 'pk-1'),
      ...tag(12, 5),
      ...[1, 2, 3, 4],
      ...bytes(3, record(0, 'two', tag(6, 5), [0, 0, 0, 0], group)),
      ...bytes(2, '99'),
      ...bytes(3, [...uint(2, 0), ...record(1, 'three')]),
    ];
    const data = envelope(body);
    // Act
    const records = deaggregateKpl(data);
    // Assess
    expect(records.map((r) => [r.partitionKey, r.explicitHashKey, text(r.data)])).toEqual([
      ['pk-1', undefined, 'one'],
      ['pk-0', undefined, 'two'],
      ['pk-1', '99', 'three'],
    ]);
    // protobufjs, under the reference decoder, reads the same message the same way.
    expect(
      referenceDecode(data).map((r) => [r.partitionKey, Buffer.from(r.data, 'base64').toString()]),
    ).toEqual([
      ['pk-1', 'one'],
      ['pk-0', 'two'],
      ['pk-1', 'three'],
    ]);
  });

  it('skips a known field number that comes with another wire type, as protobuf readers do', () => {
    // protobufjs, under the reference decoder, goes by field number alone and would misread this.
    const body = [
      ...uint(1, 7),
      ...bytes(1, 'pk'),
      ...tag(3, 5),
      ...[1, 2, 3, 4],
      ...bytes(3, record(0, 'data', tag(3, 1), [1, 2, 3, 4, 5, 6, 7, 8], bytes(1, 'not an index'))),
    ];
    const records = deaggregateKpl(envelope(body));
    expect(records.map((r) => [r.partitionKey, text(r.data)])).toEqual([['pk', 'data']]);
  });

  it('decodes an empty aggregate (magic, no fields, MD5) to no records', () => {
    const data = envelope([]);
    expect(data).toHaveLength(20);
    expect(deaggregateKpl(data)).toEqual([]);
    expect(referenceDecode(data)).toEqual([]);
  });

  it('rejects a wrong MD5 checksum, whether the checksum or the message was altered', () => {
    const good = aggregate([
      { partitionKey: 'a', data: Buffer.from('{"n":1}') },
      { partitionKey: 'b', data: Buffer.from('{"n":2}') },
    ]);
    const badChecksum = Buffer.from(good);
    badChecksum[badChecksum.length - 1] = (badChecksum.at(-1) ?? 0) ^ 1;
    const badBody = Buffer.from(good);
    badBody[10] = (badBody[10] ?? 0) ^ 0x20;
    for (const data of [badChecksum, badBody]) {
      const error = failureOf(data);
      expect(error.code).toBe('invalid_aggregate');
      expect(error.message).toMatch(
        /^KPL aggregated record: MD5 checksum mismatch \(stored [0-9a-f]{32}, computed [0-9a-f]{32}\)/,
      );
    }
  });

  it('rejects every truncation of a valid aggregate', () => {
    const good = aggregate([
      { partitionKey: 'user_1', data: Buffer.from('{"n":1}') },
      { partitionKey: 'user_2', data: Buffer.from('{"n":2}') },
    ]);
    for (let length = 0; length < good.length; length++) {
      const error = failureOf(good.subarray(0, length));
      expect(error.code, `cut to ${length} bytes`).toBe('invalid_aggregate');
    }
    expect(failureOf(good.subarray(0, 19)).message).toBe(
      'KPL aggregated record: the record is 19 bytes, too short for the magic and the MD5 checksum (20); it was cut short',
    );
  });

  it.each([
    ['a field that runs past the end', bytes(3, record(0, 'abc')).slice(0, -1), /runs past the end/],
    ['a message that ends inside a varint', [...bytes(1, 'k'), 0x80], /ends inside a varint/],
    ['a varint of 11 bytes', [...tag(9, 0), ...Array(10).fill(0xff), 1], /longer than 10 bytes/],
    ['a fixed64 cut short', [...tag(9, 1), 1, 2, 3], /ends inside a field/],
    ['field number 0', [0x02, 0x00], /field number 0/],
    ['wire type 7', [...tag(9, 7), 0], /wire type 7/],
    ['an unclosed group', [...tag(9, 3), ...uint(1, 1)], /group 9 is not closed/],
    ['a group closed under another number', [...tag(9, 3), ...tag(8, 4)], /group 9 is closed as group 8/],
    ['groups nested too deep', Array(101).fill(tag(9, 3)).flat(), /nested deeper than 100/],
    [
      'a partition key index out of range',
      [...bytes(1, 'k'), ...bytes(3, record(1, 'x'))],
      /index 1, but the table has 1 keys/,
    ],
    [
      'an explicit hash key index out of range',
      [...bytes(1, 'k'), ...bytes(3, record(0, 'x', uint(2, 0)))],
      /explicit_hash_key_index 0, but the table has 0 keys/,
    ],
    ['a record without data', [...bytes(1, 'k'), ...bytes(3, uint(1, 0))], /record 0 has no data/],
    [
      'a record without a partition key index',
      [...bytes(1, 'k'), ...bytes(3, bytes(3, 'x'))],
      /record 0 has no partition_key_index/,
    ],
    [
      'a partition key that is not UTF-8',
      [...bytes(1, [0xc3, 0x28]), ...bytes(3, record(0, 'x'))],
      /partition_key_table entry at byte \d+ is not valid UTF-8/,
    ],
  ])('rejects undecodable protobuf behind a valid checksum: %s', (_name, body, message) => {
    const error = failureOf(envelope(body));
    expect(error.code).toBe('invalid_aggregate');
    expect(error.message).toMatch(/^KPL aggregated record: undecodable protobuf: /);
    expect(error.message).toMatch(message);
  });

  it('either decodes or rejects as invalid_aggregate any bytes behind the magic, and never throws anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (body) => {
        try {
          for (const r of deaggregateKpl(envelope(body))) expect(r.data).toBeInstanceOf(Uint8Array);
        } catch (error) {
          expect(error).toBeInstanceOf(StreamError);
          expect((error as StreamError).code).toBe('invalid_aggregate');
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('isKplAggregate', () => {
  it('is true exactly when the data starts with the 4 magic bytes', () => {
    expect(isKplAggregate(Uint8Array.of(0xf3, 0x89, 0x9a, 0xc2))).toBe(true);
    expect(isKplAggregate(aggregate([{ partitionKey: 'a', data: Buffer.from('x') }]))).toBe(true);
    expect(isKplAggregate(Buffer.from('{"user_id":"u"}'))).toBe(false);
    expect(isKplAggregate(Uint8Array.of(0xf3, 0x89, 0x9a))).toBe(false);
    expect(isKplAggregate(Uint8Array.of(0xf3, 0x89, 0x9a, 0xc3))).toBe(false);
    expect(isKplAggregate(new Uint8Array())).toBe(false);
  });

  it('never mistakes a JSON event for an aggregate: the magic is not valid UTF-8', () => {
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(KPL_MAGIC)).toThrow();
  });
});
