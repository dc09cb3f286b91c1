/**
 * `parquet_bytes_vs_duckdb` of `npm run bench`: the bytes of the consumer's Parquet against DuckDB's
 * zstd Parquet of the same events. The bench's events (seed and users) are landed as the consumer lands
 * them, a batch at a time and one object per partition of a batch, once with the consumer's encoder and
 * once by DuckDB (`COPY … (FORMAT parquet, COMPRESSION zstd)`) from the same objects' NDJSON, typed as
 * the `events` view types them. Sizes: BENCH_PARQUET_EVENTS (default 200,000), in batches of 5,000.
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { EVENT_COLUMNS } from '../src/layout/index.js';
import { Simulator } from '../src/producer/index.js';
import { rawSource, sqlIdentifier, sqlString } from '../src/query/index.js';
import { encodeEventsParquet } from '../src/sink/formats/parquet.js';
import { landedByPartition } from './support.js';

const BATCH = 5_000;

export interface ParquetSize {
  events: number;
  objects: number;
  consumer_bytes: number;
  duckdb_bytes: number;
  /** Consumer bytes ÷ DuckDB bytes. */
  ratio: number;
}

export async function parquetAgainstDuckDb(
  dir: string,
  options: { events: number; users: number; seed: string },
): Promise<ParquetSize> {
  const simulator = new Simulator({ users: options.users, seed: options.seed });
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  await connection.run(`SET TimeZone = 'UTC'`);
  const columns = EVENT_COLUMNS.map(({ name }) => sqlIdentifier(name)).join(', ');
  const out = { events: options.events, objects: 0, consumer_bytes: 0, duckdb_bytes: 0, ratio: 0 };
  try {
    for (let done = 0; done < options.events; done += BATCH) {
      const batch = landedByPartition(simulator, Math.min(BATCH, options.events - done));
      for (const [partition, events] of batch) {
        const n = out.objects++;
        out.consumer_bytes += encodeEventsParquet(events).byteLength;
        const lines = path.join(dir, partition, `${n}.ndjson.gz`);
        await mkdir(path.dirname(lines), { recursive: true });
        await writeFile(lines, gzipSync(`${events.map((e) => JSON.stringify(e)).join('\n')}\n`));
        const parquet = path.join(dir, `${n}.parquet`);
        await connection.run(
          `COPY (SELECT ${columns} FROM (${rawSource(EVENT_COLUMNS, { ndjson: [lines], parquet: [] })}))
           TO ${sqlString(parquet)} (FORMAT parquet, COMPRESSION zstd)`,
        );
        out.duckdb_bytes += (await stat(parquet)).size;
      }
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  out.ratio = Number((out.consumer_bytes / out.duckdb_bytes).toFixed(2));
  return out;
}
