import { createHash } from 'node:crypto';
import { StreamError } from '../core/errors.js';

/**
 * De-aggregation of records written by the Kinesis Producer Library (KPL), which packs many user
 * records into one Kinesis record: 4 magic bytes, a protobuf `AggregatedRecord`, then the MD5 of the
 * protobuf bytes. Lambda hands such records over as they are, so the consumer unpacks them itself.
 *
 * ```
 * message AggregatedRecord { repeated string partition_key_table = 1;
 *   repeated string explicit_hash_key_table = 2; repeated Record records = 3; }
 * message Record { required uint64 partition_key_index = 1; optional uint64 explicit_hash_key_index = 2;
 *   required bytes data = 3; repeated Tag tags = 4; }
 * ```
 *
 * A small reader for just these messages keeps the Lambda bundle free of a protobuf runtime.
 */

/** The bytes that open a KPL aggregated record. They are not valid UTF-8, so no JSON event starts so. */
export const KPL_MAGIC: Readonly<Uint8Array> = Uint8Array.of(0xf3, 0x89, 0x9a, 0xc2);

const MD5_BYTES = 16;
const MIN_AGGREGATE_BYTES = KPL_MAGIC.length + MD5_BYTES;
/** Nesting limit for skipped groups, protobuf's own default: hostile input cannot exhaust the stack. */
const MAX_GROUP_DEPTH = 100;

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const START_GROUP = 3;
const END_GROUP = 4;
const FIXED32 = 5;

/** One user record of a KPL aggregate. */
export interface KplUserRecord {
  partitionKey: string;
  explicitHashKey: string | undefined;
  /** The user record's bytes: a view into the aggregate's buffer, not a copy. */
  data: Uint8Array;
}

/** True when `data` opens with the KPL magic: a check of 4 bytes, so plain records pay nothing more. */
export function isKplAggregate(data: Uint8Array): boolean {
  return data.length >= 4 && data[0] === 0xf3 && data[1] === 0x89 && data[2] === 0x9a && data[3] === 0xc2;
}

/**
 * The user records of a KPL aggregated record, in order (a user record's index is its sub-sequence
 * number). Checks the magic, the length and the MD5 checksum, and decodes the whole protobuf before
 * returning, so an aggregate yields all its records or none. Unknown fields are skipped, as protobuf
 * readers do. Throws a `StreamError` with code `invalid_aggregate` when the record is damaged.
 */
export function deaggregateKpl(data: Uint8Array): KplUserRecord[] {
  if (!isKplAggregate(data)) {
    throw invalid(`the record does not start with the magic bytes f3899ac2 (it starts ${hex(data, 0, 4)})`);
  }
  if (data.length < MIN_AGGREGATE_BYTES) {
    throw invalid(
      `the record is ${data.length} bytes, too short for the magic and the MD5 checksum (${MIN_AGGREGATE_BYTES}); it was cut short`,
    );
  }
  const end = data.length - MD5_BYTES;
  const computed = createHash('md5').update(data.subarray(KPL_MAGIC.length, end)).digest();
  for (let i = 0; i < MD5_BYTES; i++) {
    if (computed[i] !== data[end + i]) {
      throw invalid(
        `MD5 checksum mismatch (stored ${hex(data, end, data.length)}, computed ${computed.toString('hex')}); the record was cut short or altered after aggregation`,
      );
    }
  }
  return decodeAggregatedRecord(data, KPL_MAGIC.length, end);
}

function decodeAggregatedRecord(bytes: Uint8Array, start: number, end: number): KplUserRecord[] {
  const reader = new Reader(bytes, start, end);
  const partitionKeys: string[] = [];
  const explicitHashKeys: string[] = [];
  // Start and end of each Record: protobuf fields may come in any order, so a Record may precede the
  // table entries it points at; indexes are resolved once the whole message is read.
  const spans: number[] = [];
  while (reader.pos < end) {
    const tag = reader.varint();
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (wireType === LENGTH_DELIMITED && field === 1)
      partitionKeys.push(reader.string('partition_key_table'));
    else if (wireType === LENGTH_DELIMITED && field === 2)
      explicitHashKeys.push(reader.string('explicit_hash_key_table'));
    else if (wireType === LENGTH_DELIMITED && field === 3) {
      const length = reader.length();
      spans.push(reader.pos, reader.pos + length);
      reader.pos += length;
    } else reader.skip(field, wireType, 0);
  }
  const records: KplUserRecord[] = new Array(spans.length / 2);
  for (let i = 0; i < records.length; i++) {
    records[i] = decodeRecord(reader, i, spans[2 * i] as number, spans[2 * i + 1] as number, {
      partitionKeys,
      explicitHashKeys,
    });
  }
  return records;
}

function decodeRecord(
  reader: Reader,
  index: number,
  start: number,
  end: number,
  tables: { partitionKeys: string[]; explicitHashKeys: string[] },
): KplUserRecord {
  reader.pos = start;
  reader.end = end;
  let partitionKeyIndex = -1;
  let explicitHashKeyIndex = -1;
  let dataStart = -1;
  let dataEnd = -1;
  while (reader.pos < end) {
    const tag = reader.varint();
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (wireType === VARINT && field === 1) partitionKeyIndex = reader.varint();
    else if (wireType === VARINT && field === 2) explicitHashKeyIndex = reader.varint();
    else if (wireType === LENGTH_DELIMITED && field === 3) {
      const length = reader.length();
      dataStart = reader.pos;
      dataEnd = reader.pos + length;
      reader.pos = dataEnd;
    } else reader.skip(field, wireType, 0); // tags (field 4) too: neither the KPL nor the KCL uses them
  }
  if (partitionKeyIndex < 0) throw undecodable(`record ${index} has no partition_key_index`);
  if (dataStart < 0) throw undecodable(`record ${index} has no data`);
  const partitionKey = tables.partitionKeys[partitionKeyIndex];
  if (partitionKey === undefined) {
    throw undecodable(
      `record ${index} has partition_key_index ${partitionKeyIndex}, but the table has ${tables.partitionKeys.length} keys`,
    );
  }
  let explicitHashKey: string | undefined;
  if (explicitHashKeyIndex >= 0) {
    explicitHashKey = tables.explicitHashKeys[explicitHashKeyIndex];
    if (explicitHashKey === undefined) {
      throw undecodable(
        `record ${index} has explicit_hash_key_index ${explicitHashKeyIndex}, but the table has ${tables.explicitHashKeys.length} keys`,
      );
    }
  }
  return { partitionKey, explicitHashKey, data: reader.bytes.subarray(dataStart, dataEnd) };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A cursor over protobuf bytes between `pos` and `end`. */
class Reader {
  constructor(
    readonly bytes: Uint8Array,
    public pos: number,
    public end: number,
  ) {}

  /**
   * A base-128 varint of up to 10 bytes. Values above 2^53 lose precision, which is harmless here:
   * they are only compared with lengths and table sizes, and fail those checks either way.
   */
  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw undecodable(`the message ends inside a varint at byte ${this.pos}`);
      const byte = this.bytes[this.pos++] as number;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
    throw undecodable(`a varint at byte ${this.pos - 10} is longer than 10 bytes`);
  }

  /** The length of a length-delimited field, checked against the bytes left. */
  length(): number {
    const length = this.varint();
    if (length > this.end - this.pos) {
      throw undecodable(
        `a field of ${length} bytes at byte ${this.pos} runs past the end of its message (${this.end - this.pos} bytes left)`,
      );
    }
    return length;
  }

  string(what: string): string {
    const length = this.length();
    const start = this.pos;
    this.pos += length;
    try {
      return utf8.decode(this.bytes.subarray(start, this.pos));
    } catch {
      throw undecodable(`a ${what} entry at byte ${start} is not valid UTF-8`);
    }
  }

  /** Skips one field of an unknown number or of an unexpected wire type. */
  skip(field: number, wireType: number, depth: number): void {
    if (field === 0) throw undecodable(`field number 0 at byte ${this.pos}`);
    switch (wireType) {
      case VARINT:
        this.varint();
        return;
      case FIXED64:
        this.advance(8);
        return;
      case LENGTH_DELIMITED:
        this.advance(this.length());
        return;
      case FIXED32:
        this.advance(4);
        return;
      case START_GROUP:
        if (depth >= MAX_GROUP_DEPTH) throw undecodable(`groups nested deeper than ${MAX_GROUP_DEPTH}`);
        for (;;) {
          if (this.pos >= this.end) throw undecodable(`group ${field} is not closed`);
          const tag = this.varint();
          const inner = Math.floor(tag / 8);
          if ((tag & 7) === END_GROUP) {
            if (inner !== field) throw undecodable(`group ${field} is closed as group ${inner}`);
            return;
          }
          this.skip(inner, tag & 7, depth + 1);
        }
      default:
        throw undecodable(`field ${field} has wire type ${wireType}, which protobuf does not define here`);
    }
  }

  private advance(count: number): void {
    if (count > this.end - this.pos) {
      throw undecodable(`the message ends inside a field at byte ${this.pos}`);
    }
    this.pos += count;
  }
}

function invalid(what: string): StreamError {
  return new StreamError('invalid_aggregate', `KPL aggregated record: ${what}`);
}

function undecodable(what: string): StreamError {
  return invalid(`undecodable protobuf: ${what}`);
}

function hex(bytes: Uint8Array, start: number, end: number): string {
  return Buffer.from(
    bytes.buffer,
    bytes.byteOffset + start,
    Math.max(0, Math.min(end, bytes.length) - start),
  ).toString('hex');
}
