import type { StreamReader, StreamRecord } from '../../src/core/ports.js';
import { openLocalStream } from '../../src/stream/index.js';

/** A record read back from a stream, with the shard it was in. */
export interface ReadRecord {
  shardId: string;
  record: StreamRecord;
}

/**
 * Every record a stream holds, shard by shard from TRIM_HORIZON and in order within each shard,
 * paging until a read comes back empty (or a closed shard ends): the one "read the whole stream" of
 * the tests.
 */
export async function readAll(reader: StreamReader): Promise<ReadRecord[]> {
  const all: ReadRecord[] = [];
  for (const { shardId } of await reader.listShards()) {
    let iterator: string | undefined = await reader.getShardIterator(shardId, { type: 'TRIM_HORIZON' });
    while (iterator !== undefined) {
      const page = await reader.getRecords(iterator, 10_000);
      if (page.records.length === 0) break;
      for (const record of page.records) all.push({ shardId, record });
      iterator = page.nextShardIterator;
    }
  }
  return all;
}

/** `readAll` of the embedded log at a path, opened for it and closed after. */
export async function readLog(streamPath: string): Promise<ReadRecord[]> {
  const stream = openLocalStream(streamPath, { createIfMissing: false });
  await stream.connect();
  try {
    return await readAll(stream);
  } finally {
    await stream.close();
  }
}

/** A record's data as text. */
export function textOf({ record }: ReadRecord): string {
  return Buffer.from(record.data).toString('utf8');
}

/** The `event_id` in a record's JSON. */
export function eventIdOf(read: ReadRecord): string {
  return JSON.parse(textOf(read)).event_id;
}

/** The `event_id` of every record in the embedded log at a path. */
export async function idsInLog(streamPath: string): Promise<string[]> {
  return (await readLog(streamPath)).map(eventIdOf);
}
