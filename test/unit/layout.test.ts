import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { eventColumns, ERROR_COLUMNS as GLUE_ERROR_COLUMNS, glueColumns } from '../../infra/query-tables.js';
import { createHandler } from '../../src/consumer/index.js';
import { encodeLines } from '../../src/consumer/landing.js';
import { enrich } from '../../src/enrich/index.js';
import {
  type ActivityEventInput,
  type EventInput,
  eventInputSchema,
  parseEvent,
} from '../../src/event/index.js';
import {
  type Column,
  type ColumnTable,
  columnNames,
  ERROR_COLUMNS,
  type ErrorLine,
  EVENT_COLUMNS,
  errorLine,
  inputColumns,
  LOGICAL_TYPES,
  PARTITION_COLUMNS,
  Partitioner,
  partitionKey,
  partitionOf,
  readErrorLine,
  rowProblem,
  SENT_COLUMNS,
} from '../../src/layout/index.js';
import { errorsSelect, eventsSelect, rawSource, sqlColumns, sqlString } from '../../src/query/index.js';
import { EVENT_PARQUET_SCHEMA, parquetColumns } from '../../src/sink/formats/parquet.js';
import { DirectoryStore } from '../../src/sink/index.js';
import { eventOf, kinesisRecord } from '../support/kinesis-events.js';
import { useTempDir } from '../support/temp.js';

const ARRIVAL_MS = Date.parse('2026-11-25T19:31:12.041Z');

/** An event with every column of `EVENT_COLUMNS` set. */
const FULL_INPUT = {
  event_id: '0193a000-0000-7000-8000-000000000001',
  user_id: 'user_1',
  event: 'purchase',
  timestamp: '2026-11-25T19:31:12.000Z',
  received_at: ARRIVAL_MS,
  session_id: 'session_1',
  sent_at: '2026-11-25T19:31:12.010Z',
  original_timestamp: Math.floor(ARRIVAL_MS / 1000) - 12,
  properties: { total: 12.5, items: [{ sku: 'a' }] },
  anonymous_id: 'anon_1',
  traits: { plan: 'pro' },
  group_id: 'acme',
  previous_id: 'anon_0',
  integrations: { All: true },
  event_schema: 'iglu:com.acme/purchase/jsonschema/1-0-0',
  contexts: { schema: 'iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0', data: [] },
  // Every enrichment column's source: a browser's user agent, a page URL with a campaign, a referrer.
  context: {
    page: {
      path: '/cart',
      url: 'https://shop.example/cart?utm_source=news&utm_medium=email&utm_campaign=spring&utm_term=mug&utm_content=top',
      referrer: 'https://www.google.com/',
    },
    user_agent:
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  },
};

function parsedFull() {
  const result = parseEvent(FULL_INPUT, { receivedAt: ARRIVAL_MS, fallbackId: () => 'unused' });
  if (!result.ok) throw new Error(`the full event should be valid: ${result.message}`);
  return result.event;
}

const RAW = {
  shardId: 'shardId-000000000003',
  sequenceNumber: '49590338271490256608559692538361571095921575989136588898',
  partitionKey: 'user_kpl',
  arrivalMs: ARRIVAL_MS,
  data: Buffer.from('not json').toString('base64'),
};
const STREAM_ARN = 'arn:aws:kinesis:us-east-2:123456789012:stream/layout';

/** A line's fields as JSON kinds: what a JSON SerDe sees before it applies a column type. */
function jsonKind(value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return 'object';
  return typeof value;
}

/** The Glue type an NDJSON column must have to read the JSON kind the pipeline writes there. */
const GLUE_READS: Record<string, string> = {
  string: 'string',
  integer: 'int',
  object: 'string',
  boolean: 'boolean',
};

/** The Athena type of a Parquet column, from its physical and logical type. */
function athenaTypeOf(column: (typeof EVENT_PARQUET_SCHEMA)[number]): string {
  if (column.type === 'INT64' && column.logical_type?.type === 'TIMESTAMP') return 'timestamp';
  if (column.type === 'INT32' && column.logical_type?.type === 'DATE') return 'date';
  if (column.type === 'INT32') return 'int';
  if (column.type === 'INT64') return 'bigint';
  if (column.type === 'DOUBLE') return 'double';
  if (column.type === 'BOOLEAN') return 'boolean';
  if (column.type === 'BYTE_ARRAY') return 'string';
  return `no mapping for ${column.type}`;
}

describe('the landed layout: one column table per dataset', () => {
  it('lands events as NDJSON lines with exactly the event columns, in order, each of its type', () => {
    const event = parsedFull();

    const enriched = enrich(event);

    // Parsed, an event has the columns producers send; enriched, it has them all.
    expect(Object.keys(event)).toEqual(columnNames(inputColumns(EVENT_COLUMNS)));
    expect(Object.keys(enriched)).toEqual(columnNames(EVENT_COLUMNS));
    expect(rowProblem(EVENT_COLUMNS, enriched, new Set(columnNames(EVENT_COLUMNS)))).toBeUndefined();
  });

  it('validates input with a field for every event column and no other', () => {
    expect(Object.keys(eventInputSchema.shape).sort()).toEqual(
      columnNames(inputColumns(EVENT_COLUMNS)).sort(),
    );
    expectTypeOf<keyof EventInput>().toEqualTypeOf<keyof ActivityEventInput>();
  });

  it('writes error lines with exactly the error columns, in order, each of its type', () => {
    const plain = JSON.parse(errorLine(RAW, 'invalid_json', 'not JSON', STREAM_ARN));
    const aggregated = JSON.parse(
      errorLine({ ...RAW, subSequenceNumber: 3 }, 'invalid_json', 'not JSON', STREAM_ARN),
    );

    expect(Object.keys(aggregated)).toEqual(columnNames(ERROR_COLUMNS));
    const required = (ERROR_COLUMNS as ColumnTable).filter((c) => !c.optional);
    expect(Object.keys(plain)).toEqual(columnNames(required));
    expect(rowProblem(ERROR_COLUMNS, aggregated, new Set(columnNames(ERROR_COLUMNS)))).toBeUndefined();
    expect(aggregated.sub_sequence_number).toBe(3);
  });

  it('reads an error line back only when every column it has is of its type', () => {
    const line = JSON.parse(errorLine({ ...RAW, subSequenceNumber: 3 }, 'invalid_json', 'x', STREAM_ARN));
    const all = new Set(columnNames(ERROR_COLUMNS)) as ReadonlySet<keyof ErrorLine>;
    expect(readErrorLine(JSON.stringify(line), all)).toEqual(line);

    for (const { name, type } of ERROR_COLUMNS) {
      // A value of another kind than the column's: a number for text, text for a number.
      const wrong = { ...line, [name]: type === 'integer' ? '3' : 3 };
      expect(readErrorLine(JSON.stringify(wrong), all), name).toMatch(new RegExp(`^${name} is `));
    }
    const { sub_sequence_number: _, ...plain } = line;
    expect(readErrorLine(JSON.stringify(plain), new Set(['reason', 'data'] as const))).toEqual(plain);
  });
});

describe('partitions', () => {
  it('puts an instant in its hour, in UTC: dt=YYYY-MM-DD/hour=HH', () => {
    expect(partitionOf(Date.parse('2026-11-25T19:59:59.999Z'))).toBe('dt=2026-11-25/hour=19');
    expect(partitionOf(Date.parse('2026-11-26T00:30:00.000+02:00'))).toBe('dt=2026-11-25/hour=22');
    expect(partitionKey({ dt: '2026-11-25', hour: 7 })).toBe('dt=2026-11-25/hour=07');
  });

  it('gives, through a Partitioner, the answer partitionOf gives, whatever hour came before', () => {
    const at = (iso: string) => Date.parse(iso);
    const times = [
      at('2026-11-25T19:00:00.000Z'),
      at('2026-11-25T19:59:59.999Z'),
      at('2026-11-25T20:00:00.000Z'),
      at('2026-11-25T19:30:00.000Z'),
      at('2026-12-31T23:59:59.999Z'),
      at('2027-01-01T00:00:00.000Z'),
      at('2000-01-01T00:00:00.000Z'),
      at('2026-11-25T20:00:00.001Z'),
    ];
    const partitions = new Partitioner();

    expect(times.map((t) => partitions.of(t))).toEqual(times.map(partitionOf));
    expect(new Set(times.map(partitionOf)).size).toBe(5);
  });
});

describe('schemas derived from the column tables', () => {
  const tempDir = useTempDir();
  let instance: DuckDBInstance;

  beforeAll(async () => {
    instance = await DuckDBInstance.create(':memory:');
  });
  afterAll(() => instance.closeSync());

  /** `[name, DuckDB type]` of every column a SELECT gives. */
  async function describeSql(sql: string): Promise<[string, string][]> {
    const connection = await instance.connect();
    try {
      const reader = await connection.runAndReadAll(`DESCRIBE ${sql}`);
      return reader.getRowObjects().map((r) => [String(r.column_name), String(r.column_type)]);
    } finally {
      connection.closeSync();
    }
  }

  async function rows(sql: string): Promise<Record<string, unknown>[]> {
    const connection = await instance.connect();
    try {
      return (await connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
    } finally {
      connection.closeSync();
    }
  }

  /** The files the real handler lands for one event with every column and one bad record. */
  async function landed(format: 'ndjson' | 'parquet'): Promise<{ events: string; errors: string }> {
    const dir = await tempDir();
    const store = new DirectoryStore(dir);
    await store.connect();
    const handler = createHandler({ store, format, warn: () => undefined });
    await handler(
      eventOf([
        kinesisRecord(JSON.stringify(FULL_INPUT), '1', { arrivalMs: ARRIVAL_MS }),
        kinesisRecord('{broken', '2', { arrivalMs: ARRIVAL_MS }),
      ]),
    );
    const find = async (dataset: string) => {
      const hour = path.join(dir, dataset, 'dt=2026-11-25', 'hour=19');
      const [name] = await readdir(hour);
      if (name === undefined) throw new Error(`the handler landed nothing in ${dataset}/`);
      return path.join(hour, name);
    };
    return { events: await find('events'), errors: await find('errors') };
  }

  /** An NDJSON object of `lines` written where the layout puts one. */
  async function writeLanded(dataset: string, lines: string[]): Promise<string> {
    const hour = path.join(await tempDir(), dataset, 'dt=2026-11-25', 'hour=19');
    await mkdir(hour, { recursive: true });
    const file = path.join(hour, 'written.ndjson.gz');
    await writeFile(file, await encodeLines(lines));
    return file;
  }

  const withPartitions = (table: ColumnTable) => [...columnNames(table), ...columnNames(PARTITION_COLUMNS)];

  it('gives the events view the event columns, in order, with the same types from NDJSON, Parquet or nothing', async () => {
    const ndjson = await landed('ndjson');
    const parquet = await landed('parquet');

    const empty = await describeSql(eventsSelect({ ndjson: [], parquet: [] }));
    expect(empty.map(([name]) => name)).toEqual(withPartitions(EVENT_COLUMNS));
    expect(await describeSql(eventsSelect({ ndjson: [ndjson.events], parquet: [] }))).toEqual(empty);
    expect(await describeSql(eventsSelect({ ndjson: [], parquet: [parquet.events] }))).toEqual(empty);
    expect(empty).toEqual([...sqlColumns(EVENT_COLUMNS), ...sqlColumns(PARTITION_COLUMNS)].map(aliasTypes));
  });

  it('reads objects landed before the sent columns were added: those columns are null there', async () => {
    // Prepare: an event landed as it was before `SENT_COLUMNS`, its Segment fields under `context`.
    const { anonymous_id, traits, group_id, previous_id, integrations, event_schema, contexts, ...old } =
      parsedFull();
    const before = { ...old, context: { anonymous_id, traits } };
    const ndjson = await writeLanded('events', [JSON.stringify(before)]);
    const parquet = path.join(path.dirname(ndjson), 'before.parquet');
    await rows(
      `COPY (SELECT * EXCLUDE (${columnNames(SENT_COLUMNS).join(', ')}) FROM read_parquet(${sqlString((await landed('parquet')).events)}, hive_partitioning = false)) TO ${sqlString(parquet)} (FORMAT parquet)`,
    );

    // Act and Assess: both forms read, with every column, the new ones null, context as it was.
    const sql = (files: { ndjson: string[]; parquet: string[] }) =>
      `SELECT user_id, anonymous_id, traits, contexts, context->>'anonymous_id' AS old FROM (${rawSource(EVENT_COLUMNS, files)})`;
    expect(await rows(sql({ ndjson: [ndjson], parquet: [] }))).toEqual([
      { user_id: 'user_1', anonymous_id: null, traits: null, contexts: null, old: 'anon_1' },
    ]);
    expect(await rows(sql({ ndjson: [], parquet: [parquet] }))).toEqual([
      { user_id: 'user_1', anonymous_id: null, traits: null, contexts: null, old: null },
    ]);
  });

  it('writes Parquet whose own column types are the events view types', async () => {
    const { events } = await landed('parquet');

    const written = await describeSql(
      `SELECT * FROM read_parquet(${sqlString(events)}, hive_partitioning = false)`,
    );
    const view = await describeSql(eventsSelect({ ndjson: [], parquet: [] }));
    expect(written.map(([name]) => name)).toEqual(columnNames(EVENT_COLUMNS));
    expect(written).toEqual(view.slice(0, EVENT_COLUMNS.length));
    expect(EVENT_PARQUET_SCHEMA.slice(1).map((c) => c.name)).toEqual(columnNames(EVENT_COLUMNS));
  });

  it('maps every logical type to one type in Parquet, DuckDB and Glue', async () => {
    const table: ColumnTable = LOGICAL_TYPES.map((type) => ({ name: `a_${type}`, type, description: type }));
    const file = path.join(await tempDir(), 'types.parquet');
    const schema = parquetColumns(table);
    await writeFile(
      file,
      new Uint8Array(
        parquetWriteBuffer({
          schema: [{ name: 'types', num_children: schema.length }, ...schema],
          columnData: schema.map(({ name }) => ({ name, data: [null] })),
        }),
      ),
    );

    const written = await describeSql(`SELECT * FROM read_parquet(${sqlString(file)})`);
    expect(written).toEqual(sqlColumns(table).map(aliasTypes));
    expect(glueColumns(table, 'parquet').map((c) => [c.name, c.type])).toEqual(
      schema.map((c) => [c.name, athenaTypeOf(c)]),
    );
  });

  it('gives the errors view the error columns, in order, reading what the handler wrote', async () => {
    const file = await writeLanded('errors', [
      errorLine({ ...RAW, subSequenceNumber: 3 }, 'invalid_json', 'x', STREAM_ARN),
    ]);
    const { errors } = await landed('ndjson');

    const columns = await describeSql(errorsSelect({ ndjson: [errors, file], parquet: [] }));
    expect(columns).toEqual([...sqlColumns(ERROR_COLUMNS), ...sqlColumns(PARTITION_COLUMNS)].map(aliasTypes));
    const read = await rows(
      `SELECT sub_sequence_number, reason FROM (${errorsSelect({ ndjson: [errors, file], parquet: [] })}) ORDER BY 1 NULLS FIRST`,
    );
    expect(read).toEqual([
      { sub_sequence_number: null, reason: 'invalid_json' },
      { sub_sequence_number: 3, reason: 'invalid_json' },
    ]);
  });

  it('gives the Glue tables the columns of the tables, in order, typed as each format writes them', async () => {
    const { events, errors } = await landed('ndjson');
    const eventLine = JSON.parse(gunzipSync(await readFile(events)).toString('utf8'));
    const errorLineRead = JSON.parse(gunzipSync(await readFile(errors)).toString('utf8'));
    const aggregated = JSON.parse(
      errorLine({ ...RAW, subSequenceNumber: 3 }, 'invalid_json', 'x', STREAM_ARN),
    );

    // NDJSON tables: each column's type reads the JSON the pipeline writes in that field.
    const ndjsonTypes = (line: Record<string, unknown>) =>
      Object.entries(line).map(([name, value]) => [name, GLUE_READS[jsonKind(value)]]);
    const glue = (columns: { name: string; type?: string }[]) => columns.map((c) => [c.name, c.type]);
    expect(glue(eventColumns('ndjson'))).toEqual(ndjsonTypes(eventLine));
    expect(glue(GLUE_ERROR_COLUMNS)).toEqual(ndjsonTypes(aggregated));
    expect(Object.keys(errorLineRead)).toEqual(
      glue(GLUE_ERROR_COLUMNS)
        .map(([name]) => name)
        .filter((name) => name !== 'sub_sequence_number'),
    );
    // The Parquet table: each column's type is how Athena reads the writer's physical and logical type.
    expect(glue(eventColumns('parquet'))).toEqual(
      EVENT_PARQUET_SCHEMA.slice(1).map((c) => [c.name, athenaTypeOf(c)]),
    );
  });

  it('adds a column to every schema, in its place, from one row of the table', async () => {
    const row: Column = {
      name: 'visitor_id',
      type: 'string',
      optional: true,
      description: 'the id of a visitor not yet known',
    };
    const extended: ColumnTable = [...EVENT_COLUMNS, row];
    const names = columnNames(extended);

    expect(parquetColumns(extended).map((c) => c.name)).toEqual(names);
    // Typed everywhere as the other optional text column is.
    const like = <T extends { name: string }>(columns: T[]) => {
      const sessionId = columns.find((c) => c.name === 'session_id');
      return { ...sessionId, name: 'visitor_id' };
    };
    expect(parquetColumns(extended).at(-1)).toEqual(like(parquetColumns(EVENT_COLUMNS)));
    expect(sqlColumns(extended).map(([name]) => name)).toEqual(names);
    expect(sqlColumns(extended).at(-1)?.[1]).toBe('VARCHAR');
    for (const format of ['ndjson', 'parquet'] as const) {
      const columns = glueColumns(extended, format);
      expect(columns.map((c) => c.name)).toEqual(names);
      expect(columns.at(-1)).toMatchObject({
        ...like(glueColumns(EVENT_COLUMNS, format)),
        comment: expect.any(String),
      });
    }
    const file = await writeLanded('events', [JSON.stringify({ ...parsedFull(), visitor_id: 'anon_1' })]);
    const [read] = await rows(
      `SELECT visitor_id, user_id FROM (${rawSource(extended, { ndjson: [file], parquet: [] })})`,
    );
    expect(read).toEqual({ visitor_id: 'anon_1', user_id: 'user_1' });
  });
});

/** DuckDB's DESCRIBE spells some types out: TIMESTAMPTZ is TIMESTAMP WITH TIME ZONE. */
function aliasTypes([name, type]: readonly [string, string]): [string, string] {
  return [name, type === 'TIMESTAMPTZ' ? 'TIMESTAMP WITH TIME ZONE' : type];
}
