import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parquetMetadata } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { createHandler } from '../../src/consumer/index.js';
import type { ActivityEvent } from '../../src/event/index.js';
import { type ColumnTable, EVENT_COLUMNS } from '../../src/layout/index.js';
import { parseLandingFormat } from '../../src/sink/formats/index.js';
import { encodeEventsParquet } from '../../src/sink/formats/parquet.js';
import { DirectoryStore } from '../../src/sink/index.js';
import { activityJson, eventOf, kinesisRecord } from '../support/kinesis-events.js';
import { readParquetRows } from '../support/parquet.js';
import { useTempDir } from '../support/temp.js';
import { visibleFiles } from './helpers.js';

const tempDir = useTempDir();

const toArrayBuffer = (bytes: Uint8Array) =>
  bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;

describe('events as Parquet', () => {
  const full: ActivityEvent = {
    event_id: 'e1',
    user_id: 'user_1',
    event: 'purchase',
    timestamp: '2026-11-25T19:31:12.345Z',
    received_at: '2026-11-25T19:31:12.400Z',
    session_id: 's1',
    sent_at: '2026-11-25T19:31:12.300Z',
    original_timestamp: '2026-11-25T19:30:00.000Z',
    properties: { amount: 12.5, currency: 'EUR', items: [1, 'two', null], nested: { ok: true } },
    context: { locale: 'de-DE' },
    anonymous_id: 'anon_1',
    traits: { plan: 'pro' },
    group_id: 'g1',
    previous_id: 'old_1',
    integrations: { All: false },
    event_schema: 'iglu:com.acme/purchase/jsonschema/1-0-0',
    contexts: { schema: 'iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0', data: [] },
  };
  const bare: ActivityEvent = {
    event_id: 'e2',
    user_id: 'user_2',
    event: 'click',
    timestamp: '1999-12-31T23:59:59.999Z',
    received_at: '2026-11-25T19:31:12.400Z',
  };

  /** The protocols' sent columns, null in events that did not send them. */
  const SENT = (EVENT_COLUMNS as ColumnTable).slice(10, 17).map((c) => c.name);
  const unsent = Object.fromEntries(SENT.map((name) => [name, null]));
  /** The enrichment columns, null in events that were not enriched. */
  const ENRICHMENT = (EVENT_COLUMNS as ColumnTable).filter((c) => c.derived === true).map((c) => c.name);
  const unenriched = Object.fromEntries(ENRICHMENT.map((name) => [name, null]));

  it('writes the landed fields with timestamps as UTC instants and JSON columns, read back as written', async () => {
    const bytes = encodeEventsParquet([full, bare]);
    const metadata = parquetMetadata(toArrayBuffer(bytes));
    const columns = Object.fromEntries(metadata.schema.slice(1).map((c) => [c.name, c]));
    expect(Object.keys(columns)).toEqual([
      'event_id',
      'user_id',
      'event',
      'timestamp',
      'received_at',
      'session_id',
      'sent_at',
      'original_timestamp',
      'properties',
      'context',
      'anonymous_id',
      'traits',
      'group_id',
      'previous_id',
      'integrations',
      'event_schema',
      'contexts',
      ...ENRICHMENT,
    ]);
    expect(columns.timestamp).toMatchObject({
      type: 'INT64',
      logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' },
    });
    expect(columns.properties).toMatchObject({
      type: 'BYTE_ARRAY',
      converted_type: 'JSON',
      logical_type: { type: 'JSON' },
    });
    expect(columns.event_id).toMatchObject({ converted_type: 'UTF8', repetition_type: 'OPTIONAL' });
    // Pages gzip-compressed, but those of a column of nulls, which hold no values; times
    // delta-encoded milliseconds.
    const chunks = (metadata.row_groups[0]?.columns ?? []).map((c) => c.meta_data);
    const rowsRead = await readParquetRows(bytes);
    for (const chunk of chunks) {
      const name = chunk?.path_in_schema.join('.') ?? '';
      const empty = rowsRead.every((r) => r[name] === null || r[name] === undefined);
      expect(chunk?.codec, name).toBe(empty ? 'UNCOMPRESSED' : 'GZIP');
    }
    expect(chunks.filter((c) => c?.codec === 'GZIP').length).toBeGreaterThan(10);
    const times = chunks.find((c) => c?.path_in_schema.join('.') === 'timestamp');
    expect(times?.encodings).toEqual(['DELTA_BINARY_PACKED']);

    const rows = await readParquetRows(bytes);
    const iso = (value: unknown) => (value instanceof Date ? value.toISOString() : value);
    expect(
      rows.map((r) => ({
        ...r,
        timestamp: iso(r.timestamp),
        received_at: iso(r.received_at),
        sent_at: iso(r.sent_at),
        original_timestamp: iso(r.original_timestamp),
      })),
    ).toEqual([
      { ...full, ...unenriched },
      {
        ...bare,
        session_id: null,
        sent_at: null,
        original_timestamp: null,
        properties: null,
        context: null,
        ...unsent,
        ...unenriched,
      },
    ]);
  });

  it('lands events under the NDJSON names with .parquet, overwrites them on a retry, and keeps errors NDJSON gzip', async () => {
    const sink = await tempDir();
    const store = new DirectoryStore(sink);
    const handler = createHandler({ store, format: 'parquet' });
    const batch = eventOf([
      kinesisRecord(activityJson({ event_id: 'a' }), '101'),
      kinesisRecord('{broken', '102'),
      kinesisRecord(activityJson({ event_id: 'b', timestamp: '2026-11-25T20:00:00.000Z' }), '103'),
    ]);
    expect(await handler(batch)).toEqual({ batchItemFailures: [] });
    const first = await visibleFiles(sink);
    expect(await handler(batch)).toEqual({ batchItemFailures: [] });
    expect(await visibleFiles(sink)).toEqual(first);
    expect(first.map((f) => f.split(path.sep).join('/'))).toEqual([
      'errors/dt=2026-11-25/hour=19/shardId-000000000000-102.ndjson.gz',
      'events/dt=2026-11-25/hour=19/shardId-000000000000-101.parquet',
      'events/dt=2026-11-25/hour=20/shardId-000000000000-103.parquet',
    ]);
    const rows = await readParquetRows(
      await readFile(path.join(sink, 'events/dt=2026-11-25/hour=20/shardId-000000000000-103.parquet')),
    );
    expect(rows.map((r) => r.event_id)).toEqual(['b']);
  });

  it('takes the format as ndjson or parquet in any case, and names a bad one', () => {
    expect(parseLandingFormat('Parquet')).toBe('parquet');
    expect(parseLandingFormat(' ndjson ')).toBe('ndjson');
    expect(() => parseLandingFormat('csv', 'FORMAT')).toThrow(
      'FORMAT must be ndjson or parquet (given "csv")',
    );
  });
});
