import { gunzipSync } from 'node:zlib';
import { parquetReadObjects } from 'hyparquet';

/**
 * Every row of a Parquet object, read with hyparquet (not DuckDB), gzip pages included: hyparquet
 * decodes only snappy itself, and the consumer's objects are gzip-compressed.
 */
export function readParquetRows(bytes: Uint8Array): Promise<Record<string, unknown>[]> {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return parquetReadObjects({ file, compressors: { GZIP: (page: Uint8Array) => gunzipSync(page) } });
}
