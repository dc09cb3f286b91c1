import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { KinesisStreamRecord } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BatchStats, createHandler, KPL_MAGIC } from '../../src/consumer/index.js';
import { REJECT_REASONS } from '../../src/event/index.js';
import { DirectoryStore } from '../../src/sink/index.js';
import { eventOf, kinesisRecord } from '../support/kinesis-events.js';
import { kplAggregate } from '../support/kpl.js';
import { useTempDir } from '../support/temp.js';
import { eventLike, mutatedEvent, RECEIVED_AT, utf8, validEvent } from './arbitraries.js';

// The handler under arbitrary batches: whatever the bytes, every record of every batch lands once, as
// an event or as an error line that keeps its bytes, and a retried batch rewrites the same objects.

const tempDir = useTempDir();

const ERROR_REASONS = [...REJECT_REASONS, 'invalid_aggregate'];
const OBJECT_KEY = /^(events|errors)\/dt=\d{4}-\d{2}-\d{2}\/hour=\d{2}\/shardId-\d{12}-\d+\.ndjson\.gz$/;
const HOUR_MS = 3_600_000;

/** One record's bytes and how many lines it must land as (a KPL aggregate: one per user record). */
interface Payload {
  data: Uint8Array;
  lines: number;
}

const single = (data: Uint8Array): Payload => ({ data, lines: 1 });

const plainPayload = fc.oneof(
  fc.uint8Array({ maxLength: 256 }).map(single),
  fc.jsonValue().map((v) => single(utf8(v))),
  validEvent.map(({ event }) => single(utf8(event))),
  eventLike.map((event) => single(utf8(event))),
  mutatedEvent.map(single),
);

const payload = fc.oneof(
  { arbitrary: plainPayload, weight: 6 },
  // A KPL aggregate of any of the above: each user record lands on its own.
  {
    arbitrary: fc
      .array(fc.tuple(fc.string({ minLength: 1, maxLength: 16 }), plainPayload), {
        minLength: 1,
        maxLength: 4,
      })
      .map((users) => ({
        data: kplAggregate(users.map(([partitionKey, p]) => ({ partitionKey, data: p.data }))).data,
        lines: users.length,
      })),
    weight: 1,
  },
  // A damaged aggregate: the magic, then anything; it lands once, in errors/.
  {
    arbitrary: fc.uint8Array({ maxLength: 128 }).map((rest) => single(Buffer.concat([KPL_MAGIC, rest]))),
    weight: 1,
  },
);

const batch = fc.array(
  fc.record({
    payload,
    shard: fc.integer({ min: 0, max: 2 }),
    // Mostly now, sometimes any hour since 2000: errors land by arrival time.
    arrivalMs: fc.oneof(
      fc.constant(RECEIVED_AT),
      fc.integer({ min: Date.UTC(2000, 0, 1), max: RECEIVED_AT }).map((ms) => ms - (ms % HOUR_MS)),
    ),
  }),
  { minLength: 1, maxLength: 25 },
);

/** Every object under a directory sink: key → bytes. */
async function objects(sink: string): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  const entries = await readdir(sink, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    found.set(path.relative(sink, file).split(path.sep).join('/'), await readFile(file));
  }
  return found;
}

const linesOf = (body: Buffer) =>
  gunzipSync(body)
    .toString('utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('the handler under arbitrary batches', () => {
  it('lands every record of every batch exactly once, as events or errors, and a retry changes nothing', async () => {
    const root = await tempDir();
    let run = 0;
    let sequence = 0;
    await fc.assert(
      fc.asyncProperty(batch, async (items) => {
        // Prepare: a fresh sink per batch, so each batch is checked on its own.
        const sink = path.join(root, String(run++));
        const store = new DirectoryStore(sink);
        await store.connect();
        const reports: BatchStats[] = [];
        const handler = createHandler({ store, warn: () => undefined, onBatch: (s) => reports.push(s) });
        const records: KinesisStreamRecord[] = items.map(({ payload: p, shard, arrivalMs }) =>
          kinesisRecord(p.data, String(++sequence), {
            shardId: `shardId-${String(shard).padStart(12, '0')}`,
            arrivalMs,
          }),
        );
        const expected = items.reduce((n, { payload: p }) => n + p.lines, 0);

        // Act
        let response: Awaited<ReturnType<typeof handler>>;
        try {
          response = await handler(eventOf(records));
        } catch (error) {
          throw new Error(`the handler threw ${String(error)}`);
        }

        // Assess: no failure reported, and every record accounted for on disk and in the report.
        expect(response.batchItemFailures).toEqual([]);
        expect(reports).toHaveLength(1);
        const [report] = reports as [BatchStats];
        expect(report.records).toBe(records.length);
        expect(report.events + report.errors).toBe(expected);
        const landed = await objects(sink);
        expect(report.objects).toBe(landed.size);
        let events = 0;
        let errors = 0;
        const bySequence = new Map(records.map((r) => [r.kinesis.sequenceNumber, r]));
        for (const [key, body] of landed) {
          expect(key).toMatch(OBJECT_KEY);
          for (const line of linesOf(body)) {
            if (key.startsWith('events/')) {
              events++;
              continue;
            }
            errors++;
            expect(ERROR_REASONS).toContain(line.reason);
            const record = bySequence.get(line.sequence_number as string);
            expect(
              record,
              `an error line for a record not in the batch: ${JSON.stringify(line)}`,
            ).toBeDefined();
            // A plain record keeps its bytes exactly; a user record of an aggregate keeps its own.
            if (line.sub_sequence_number === undefined) expect(line.data).toBe(record?.kinesis.data);
          }
        }
        expect(events).toBe(report.events);
        expect(errors).toBe(report.errors);

        // A retry of the same batch overwrites the same objects with the same bytes: nothing doubles.
        const again = await handler(eventOf(records));
        expect(again.batchItemFailures).toEqual([]);
        expect(await objects(sink)).toEqual(landed);
        await store.close();
      }),
      { numRuns: 60 },
    );
  });
});
