import { type EventIdRange, MAX_RANGE_ID_LENGTH, parseEventIdRange } from './index.js';

/**
 * An NDJSON object's id range, in its gzip header. RFC 1952 lets a member carry "extra fields"
 * (`FEXTRA`): subfields of two identifying bytes, a length and data, which every gzip reader skips —
 * zlib (Node.js, DuckDB, `zcat`), Java's `GZIPInputStream` (Athena, Spark). The consumer's subfield
 * `ai` holds the same JSON as Parquet's `DISTINCT_EVENT_IDS_KEY`, so a reader learns an object's range
 * from its first few hundred bytes, without inflating it. (The header's comment field, `FCOMMENT`,
 * would be simpler, but DuckDB's own gzip reader refuses a file that has one.)
 */
const SUBFIELD = [0x61, 0x69] as const;

const MAGIC = [0x1f, 0x8b] as const;
const DEFLATE = 8;
const FEXTRA = 0x04;
/** ID1 ID2 CM FLG MTIME(4) XFL OS. */
const FIXED_HEADER = 10;

/** JSON `{"min":"…","max":"…"}` of two range ids: their text needs no escaping. */
const MAX_RANGE_JSON = `{"min":"","max":""}`.length + 2 * MAX_RANGE_ID_LENGTH;

/** The bytes of an NDJSON object a reader needs to read its id range: the longest header it writes. */
export const GZIP_RANGE_HEAD_BYTES = FIXED_HEADER + 2 + 4 + MAX_RANGE_JSON;

/**
 * `body` (a gzip member as zlib writes it, without extra fields) with `range` in its header; the same
 * bytes when there is no range. The compressed data and its checksum are unchanged: gzip's CRC covers
 * the data, not the header.
 */
export function withEventIdRange(body: Buffer, range: EventIdRange | undefined): Buffer {
  if (range === undefined) return body;
  if (body[0] !== MAGIC[0] || body[1] !== MAGIC[1] || body[2] !== DEFLATE || body[3] !== 0) {
    throw new Error('an id range goes into a gzip header without optional fields');
  }
  const data = Buffer.from(JSON.stringify({ min: range.min, max: range.max }), 'latin1');
  const extra = Buffer.allocUnsafe(2 + 4 + data.length);
  extra.writeUInt16LE(4 + data.length, 0);
  extra[2] = SUBFIELD[0];
  extra[3] = SUBFIELD[1];
  extra.writeUInt16LE(data.length, 4);
  data.copy(extra, 6);
  const header = Buffer.from(body.subarray(0, FIXED_HEADER));
  header[3] = FEXTRA;
  return Buffer.concat([header, extra, body.subarray(FIXED_HEADER)]);
}

/**
 * The id range in the first bytes of an NDJSON object (`GZIP_RANGE_HEAD_BYTES` of them suffice), or
 * undefined when it has none: an object landed before ranges were written, or by another writer, or
 * one whose ids are not all distinct.
 */
export function readEventIdRange(head: Uint8Array): EventIdRange | undefined {
  if (head[0] !== MAGIC[0] || head[1] !== MAGIC[1] || head[2] !== DEFLATE) return undefined;
  if (((head[3] ?? 0) & FEXTRA) === 0 || head.length < FIXED_HEADER + 2) return undefined;
  const view = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  const end = Math.min(FIXED_HEADER + 2 + view.readUInt16LE(FIXED_HEADER), view.length);
  for (let at = FIXED_HEADER + 2; at + 4 <= end; ) {
    const length = view.readUInt16LE(at + 2);
    const data = at + 4;
    if (data + length > end) return undefined;
    if (view[at] === SUBFIELD[0] && view[at + 1] === SUBFIELD[1]) {
      return parseEventIdRange(view.toString('latin1', data, data + length));
    }
    at = data + length;
  }
  return undefined;
}
