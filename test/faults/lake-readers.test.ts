import path from 'node:path';
import type { KinesisStreamRecord } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compact } from '../../src/compact/index.js';
import { createHandler } from '../../src/consumer/index.js';
import type { StreamRecord } from '../../src/core/ports.js';
import { MAX_EVENT_DEPTH, REJECT_REASONS } from '../../src/event/index.js';
import { LandedData } from '../../src/query/index.js';
import { REDRIVE_REASONS, redrive } from '../../src/redrive/index.js';
import { collectReport } from '../../src/report/index.js';
import type { LandingFormat } from '../../src/sink/formats/index.js';
import { DirectoryStore } from '../../src/sink/index.js';
import { type LocalStream, openLocalStream } from '../../src/stream/local/index.js';
import { eventOf, kinesisRecord } from '../support/kinesis-events.js';
import { useTempDir } from '../support/temp.js';
import { RECEIVED_AT } from './arbitraries.js';
import {
  anyText,
  customObject,
  depth,
  difference,
  faithful,
  halfPair,
  hasLoneSurrogate,
  type Json,
  nameText,
  numbers,
  read,
  strings,
  write,
} from './json-text.js';

// Whatever lands can be read by every reader we ship, and reads back as it was accepted. Arbitrary
// events the schema takes (any Unicode, lone surrogates and control characters included, numbers at
// the edges of a double and past them, odd keys, nesting to the limit and one past it) and broken
// records go through the real handler into a directory sink, as NDJSON and as Parquet; then the
// `events` and `errors` views, the report, a compaction (and the views again) and a redrive read it
// all. Every accepted event must come back value for value; every refused record must be in errors/
// with the reason the rules give, and its bytes.

const tempDir = useTempDir();
const HOUR_MS = 3_600_000;
const KEPT_DEPTH = MAX_EVENT_DEPTH - 1;
const ARRIVAL_MS = RECEIVED_AT;

interface Sent {
  /** The event as a tree, as written. */
  event: Json;
  fields: { event_id: string; user_id: string; event: string; timestamp: string; session_id?: string };
  properties?: Json;
  context?: Json;
}

const sentEvent = fc
  .record({
    id: nameText(0, 6),
    user_id: nameText(1, 24),
    event: fc.oneof(fc.constantFrom('page_view', 'add_to_cart', 'purchase', 'click'), nameText(1, 16)),
    minutesAgo: fc.integer({ min: 0, max: 180 }),
    session_id: fc.option(nameText(1, 16), { nil: undefined }),
    properties: fc.option(customObject(KEPT_DEPTH), { nil: undefined }),
    context: fc.option(customObject(KEPT_DEPTH), { nil: undefined }),
    escapeNames: fc.boolean(),
    // Half of a surrogate pair, alone, in one event of six: in a name, a key or a value.
    poison: fc.oneof(
      { weight: 5, arbitrary: fc.constant(undefined) },
      {
        weight: 1,
        arbitrary: fc.tuple(
          fc.constantFrom('user_id', 'session_id', 'event', 'key', 'value'),
          halfPair,
          fc.nat(),
        ),
      },
    ),
  })
  .map(({ id, minutesAgo, escapeNames, poison, ...chosen }) => ({
    id,
    build: (index: number): Sent => {
      const timestamp = new Date(ARRIVAL_MS - minutesAgo * 60_000 - index).toISOString();
      const { properties, context, ...rest } = poisoned(chosen, poison);
      const fields = { event_id: `${id}#${index}`, timestamp, ...rest };
      const entries: [string, Json][] = Object.entries(fields)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, { t: 'str', v: v as string, escaped: escapeNames && k !== 'timestamp' }]);
      if (properties !== undefined) entries.push(['properties', properties]);
      if (context !== undefined) entries.push(['context', context]);
      return {
        event: { t: 'obj', entries },
        fields: fields as Sent['fields'],
        ...(properties === undefined ? {} : { properties }),
        ...(context === undefined ? {} : { context }),
      };
    },
  }));

type Chosen = {
  user_id: string;
  event: string;
  session_id: string | undefined;
  properties: Json | undefined;
  context: Json | undefined;
};

/** The event's fields with a lone half of a surrogate pair put where `poison` says. */
function poisoned(chosen: Chosen, poison: [string, string, number] | undefined): Chosen {
  if (poison === undefined) return chosen;
  const [where, half, at] = poison;
  const insert = (text: string) =>
    text.slice(0, at % (text.length + 1)) + half + text.slice(at % (text.length + 1));
  if (where === 'user_id' || where === 'event' || where === 'session_id') {
    return { ...chosen, [where]: insert(chosen[where] ?? '') };
  }
  const entry: [string, Json] =
    where === 'key'
      ? [insert('k'), { t: 'lit', text: 'true' }]
      : ['poison', { t: 'str', v: insert('v'), escaped: false }];
  const base =
    chosen.properties?.t === 'obj' ? chosen.properties.entries.filter(([k]) => k !== entry[0]) : [];
  return { ...chosen, properties: { t: 'obj', entries: [...base, entry] } };
}

/**
 * Records that are not events: bytes, JSON that V8's message quotes cut short (between the halves
 * of a surrogate pair, sometimes), and an unknown field of any name, which the message quotes.
 */
const brokenRecord = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc
    .tuple(anyText(8), fc.integer({ min: 1, max: 40 }))
    .map(([text, emoji]) => Buffer.from(`x{"a":${JSON.stringify(text)}${'😀'.repeat(emoji)}`, 'utf8')),
  anyText(8).map((name) =>
    Buffer.from(`{"user_id":"u","event":"e","timestamp":1764099072,${JSON.stringify(name || 'x')}:1}`),
  ),
);

const landing = fc.record({
  events: fc.array(sentEvent, { minLength: 20, maxLength: 60 }),
  broken: fc.array(brokenRecord, { maxLength: 6 }),
  // Partition keys are the producer's: any text (Kinesis needs one character at least), lone surrogates included.
  partitionKeys: fc.array(
    anyText(6, true).filter((k) => k.length > 0),
    { minLength: 1, maxLength: 4 },
  ),
});

/** What the rules make of an event: landed, or refused with this reason. */
function expectedOutcome(sent: Sent): 'landed' | 'invalid_unicode' | 'too_deep' | 'unsafe_number' {
  for (const text of strings(sent.event)) if (hasLoneSurrogate(text)) return 'invalid_unicode';
  const custom = [sent.properties, sent.context].filter((v): v is Json => v !== undefined);
  if (custom.some((v) => depth(v) > KEPT_DEPTH)) return 'too_deep';
  for (const value of custom) for (const n of numbers(value)) if (!faithful(n)) return 'unsafe_number';
  return 'landed';
}

interface Record_ {
  sequenceNumber: string;
  data: Buffer;
  partitionKey: string;
  sent?: Sent;
}

async function landAll(sink: string, format: LandingFormat, records: Record_[]): Promise<void> {
  const store = new DirectoryStore(sink);
  await store.connect();
  const warnings: string[] = [];
  const handler = createHandler({ store, format, warn: (m) => warnings.push(m) });
  const kinesis: KinesisStreamRecord[] = records.map((r) =>
    kinesisRecord(r.data, r.sequenceNumber, { partitionKey: r.partitionKey, arrivalMs: ARRIVAL_MS }),
  );
  const response = await handler(eventOf(kinesis));
  expect(response.batchItemFailures, warnings.join('\n')).toEqual([]);
  await store.close();
}

type Row = Record<string, unknown>;

async function query(data: LandedData, sql: string): Promise<Row[]> {
  const result = await data.query(sql);
  return result.rows.map((row) =>
    Object.fromEntries(row.map((cell, i) => [result.columns[i]?.name ?? String(i), cell])),
  );
}

/** Reads both views and checks every record against what was sent. */
async function assessViews(sink: string, records: Record_[], label: string): Promise<void> {
  const data = await LandedData.open({ kind: 'directory', path: sink }, { threads: 1 });
  try {
    const events = await query(
      data,
      `SELECT event_id, user_id, event, strftime("timestamp", '%Y-%m-%dT%H:%M:%S.%gZ') AS ts, session_id,
        properties::VARCHAR AS properties, context::VARCHAR AS context FROM events`,
    );
    const errors = await query(
      data,
      'SELECT reason, message, sequence_number, partition_key, data FROM errors',
    );
    const byId = new Map(events.map((e) => [String(e.event_id), e]));
    const errorsBySeq = new Map(errors.map((e) => [String(e.sequence_number), e]));
    expect(events.length + errors.length, `${label}: every record once`).toBe(records.length);
    for (const record of records) {
      const error = errorsBySeq.get(record.sequenceNumber);
      if (record.sent === undefined) {
        expect(error, `${label}: broken record ${record.sequenceNumber} in errors/`).toBeDefined();
        expect(REJECT_REASONS).toContain(error?.reason);
        expect(error?.data).toBe(record.data.toString('base64'));
        continue;
      }
      const sent = record.sent;
      const outcome = expectedOutcome(sent);
      const what = `${label}: ${write(sent.event)}`;
      if (outcome !== 'landed') {
        expect(error?.reason, `${what} refused as ${outcome}: ${String(error?.message)}`).toBe(outcome);
        expect(error?.data).toBe(record.data.toString('base64'));
        continue;
      }
      expect(error, `${what} landed, not refused`).toBeUndefined();
      const landed = byId.get(sent.fields.event_id);
      expect(landed, `${what} landed`).toBeDefined();
      if (landed === undefined) continue;
      expect(landed.user_id).toBe(sent.fields.user_id);
      expect(landed.event).toBe(sent.fields.event);
      expect(landed.ts).toBe(sent.fields.timestamp);
      expect(landed.session_id ?? undefined).toBe(sent.fields.session_id);
      for (const field of ['properties', 'context'] as const) {
        const value = sent[field];
        const back = landed[field];
        if (value === undefined) {
          expect(back, `${what}: ${field}`).toBeNull();
          continue;
        }
        const diff = difference(value, read(String(back)));
        expect(diff, `${what}: ${field} came back as ${String(back)}`).toBeUndefined();
      }
    }
  } finally {
    await data.close();
  }
}

async function readStream(stream: LocalStream): Promise<StreamRecord[]> {
  const all: StreamRecord[] = [];
  for (const { shardId } of await stream.listShards()) {
    let iterator = await stream.getShardIterator(shardId, { type: 'TRIM_HORIZON' });
    for (;;) {
      const page = await stream.getRecords(iterator, 10_000);
      if (page.records.length === 0) break;
      all.push(...page.records);
      iterator = page.nextShardIterator as string;
    }
  }
  return all;
}

describe('every reader reads whatever lands, as it was accepted', () => {
  it('query (events, errors), report, compact and redrive, over NDJSON and Parquet', async () => {
    await fc.assert(
      fc.asyncProperty(landing, async ({ events, broken, partitionKeys }) => {
        const records: Record_[] = [];
        const key = (i: number) => partitionKeys[i % partitionKeys.length] as string;
        events.forEach((e, i) => {
          const sent = e.build(i);
          records.push({
            sequenceNumber: String(1000 + records.length),
            data: Buffer.from(write(sent.event)),
            partitionKey: key(i),
            sent,
          });
        });
        for (const [i, data] of broken.entries()) {
          records.push({
            sequenceNumber: String(1000 + records.length),
            data: Buffer.from(data),
            partitionKey: key(i),
          });
        }
        const landedCount = records.filter(
          (r) => r.sent !== undefined && expectedOutcome(r.sent) === 'landed',
        ).length;
        const dir = await tempDir();
        for (const format of ['ndjson', 'parquet'] as const) {
          const sink = path.join(dir, format);
          await landAll(sink, format, records);
          await assessViews(sink, records, format);

          const report = await collectReport({ kind: 'directory', path: sink }, { threads: 1 });
          expect(report.events, `${format}: report events`).toBe(landedCount);
          expect(report.errors, `${format}: report errors`).toBe(records.length - landedCount);

          const compacted = await compact(
            { kind: 'directory', path: sink },
            { before: new Date(ARRIVAL_MS + 2 * HOUR_MS), threads: 1 },
          );
          expect(compacted.hours.reduce((n, h) => n + h.events, 0)).toBe(landedCount);
          await assessViews(sink, records, `${format}, compacted`);

          const store = new DirectoryStore(sink);
          await store.connect();
          const stream = openLocalStream(path.join(dir, `${format}-stream`), { shards: 1 });
          await stream.connect();
          const warnings: string[] = [];
          try {
            const result = await redrive(store, stream, {
              streamName: 'file:///redrive',
              reasons: [REDRIVE_REASONS.join(',')],
              warn: (m) => warnings.push(m),
            });
            expect(warnings).toEqual([]);
            expect(result.unreadableObjects + result.unreadableLines).toBe(0);
            const back = (await readStream(stream)).map((r) => Buffer.from(r.data).toString('base64')).sort();
            const refused = records
              .filter((r) => r.sent === undefined || expectedOutcome(r.sent) !== 'landed')
              .map((r) => r.data.toString('base64'))
              .sort();
            expect(back).toEqual(refused);
          } finally {
            await stream.close();
            await store.close();
          }
        }
      }),
      // Each run lands 20 to 60 events twice and reads them with every reader, about a second: the
      // first failure is reported as it is (its message shows the event), not shrunk.
      { numRuns: 12, endOnFailure: true },
    );
  }, 120_000);

  it('keeps "__proto__" keys of properties in Parquet as in NDJSON', async () => {
    const dir = await tempDir();
    const properties = '{"__proto__":{"x":1},"k":[{"__proto__":2}]}';
    const sent = `{"event_id":"p","user_id":"u","event":"e","timestamp":"2026-11-25T19:00:00.000Z","properties":${properties}}`;
    for (const format of ['ndjson', 'parquet'] as const) {
      const sink = path.join(dir, format);
      await landAll(sink, format, [{ sequenceNumber: '1', data: Buffer.from(sent), partitionKey: 'u' }]);
      const data = await LandedData.open({ kind: 'directory', path: sink }, { threads: 1 });
      try {
        const [row] = await query(data, 'SELECT properties::VARCHAR AS p FROM events');
        expect(difference(read(properties), read(String(row?.p))), format).toBeUndefined();
      } finally {
        await data.close();
      }
    }
  });
});
