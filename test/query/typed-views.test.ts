import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createHandler } from '../../src/consumer/index.js';
import { parseSinkUrl } from '../../src/core/locations.js';
import { TrackingPlan, typedViews } from '../../src/plan/index.js';
import { Simulator } from '../../src/producer/index.js';
import { LandedData, TYPED_VIEW_EVENT_COLUMNS } from '../../src/query/index.js';
import { cellValue } from '../../src/query/values.js';
import { DirectoryStore } from '../../src/sink/index.js';
import { runCli } from '../support/cli.js';
import { activityJson, eventOf, kinesisRecord } from '../support/kinesis-events.js';
import { useTempDir } from '../support/temp.js';

const tempDir = useTempDir();
const SHOP_PLAN = path.resolve('examples/shop-tracking-plan.json');
const ARRIVAL_MS = Date.parse('2026-11-25T19:31:12.041Z');

/** A sink of simulated shop events over two hours, and three purchases whose amount is not a number. */
async function landedShop(): Promise<string> {
  const sink = path.join(await tempDir(), 'sink');
  const store = new DirectoryStore(sink);
  await store.connect();
  const handler = createHandler({ store, warn: () => undefined });
  let ms = ARRIVAL_MS - 2 * 3_600_000;
  const simulator = new Simulator({ users: 100, seed: 'typed-views', now: () => (ms += 1_500) });
  const records = Array.from({ length: 4000 }, (_, i) =>
    kinesisRecord(JSON.stringify(simulator.next()), String(1000 + i), { arrivalMs: ARRIVAL_MS }),
  );
  const wrong = ['"12"', 'null', 'true'].map((amount, i) =>
    kinesisRecord(
      activityJson({ event: 'purchase', properties: JSON.parse(`{"amount": ${amount}, "currency": "EUR"}`) }),
      String(9000 + i),
      { arrivalMs: ARRIVAL_MS },
    ),
  );
  const response = await handler(eventOf([...records, ...wrong]));
  expect(response.batchItemFailures).toEqual([]);
  await store.close();
  return sink;
}

async function rowsOf(data: LandedData, sql: string): Promise<unknown[][]> {
  return (await data.query(sql)).rows.map((row) => row.map(cellValue));
}

describe('typed views from a tracking plan', () => {
  it('answer the same sums as JSON extraction from events, with planned SQL types', async () => {
    // Prepare
    const sink = await landedShop();
    const plan = await TrackingPlan.fromFile(SHOP_PLAN);
    const data = await LandedData.open(parseSinkUrl(sink), { typedViews: typedViews(plan) });
    try {
      // Act
      const typed = await rowsOf(
        data,
        'SELECT currency, round(sum(amount), 2), sum(items), count(*) FROM purchase WHERE amount IS NOT NULL GROUP BY 1 ORDER BY 1',
      );
      const extracted = await rowsOf(
        data,
        `SELECT properties->>'currency', round(sum((properties->>'amount')::DOUBLE), 2), sum((properties->>'items')::BIGINT), count(*)
         FROM events WHERE event = 'purchase' AND json_type(properties, '/amount') IN ('DOUBLE', 'UBIGINT', 'BIGINT')
         GROUP BY 1 ORDER BY 1`,
      );
      const hours = await rowsOf(
        data,
        "SELECT count(DISTINCT hour) FROM add_to_cart WHERE dt = DATE '2026-11-25'",
      );
      const oneHour = await data.query(
        "SELECT count(*) FROM add_to_cart WHERE dt = DATE '2026-11-25' AND hour = 19",
      );
      const allHours = await data.query('SELECT count(*) FROM add_to_cart');
      const types = await rowsOf(data, 'SELECT column_name, column_type FROM (DESCRIBE add_to_cart)');
      const wrong = await rowsOf(
        data,
        "SELECT count(*), count(amount) FROM purchase WHERE user_id = 'user_1' AND items IS NULL",
      );
      // Assess (sums of doubles rounded to cents: DuckDB adds them in no fixed order)
      expect(typed.length).toBeGreaterThan(1);
      expect(typed).toEqual(extracted);
      expect(Number(hours[0]?.[0])).toBeGreaterThan(1);
      // A filter on the partitions of a typed view reads only those hours of events/.
      expect(oneHour.stats.objects).toBeGreaterThan(0);
      expect(oneHour.stats.objects).toBeLessThan(allHours.stats.objects);
      expect(types).toEqual(
        expect.arrayContaining([
          ['product_id', 'VARCHAR'],
          ['price', 'DOUBLE'],
          ['quantity', 'BIGINT'],
          ['currency', 'VARCHAR'],
          ['dt', 'DATE'],
        ]),
      );
      expect(types.map(([name]) => name)).not.toContain('properties');
      // "12", null and true are not numbers: NULL in the typed view.
      expect(wrong).toEqual([[3, 0]]);
    } finally {
      await data.close();
    }
  });

  it('keep the event columns first under their names, then the properties (prefixed when named like one), then dt and hour', async () => {
    // Prepare: properties named like event columns, and the envelope's own values beside them.
    const sink = path.join(await tempDir(), 'sink');
    const store = new DirectoryStore(sink);
    await store.connect();
    const properties = { amount: 5, user_id: 'someone else', dt: 'not a date', Timestamp: 'at noon' };
    const response = await createHandler({ store, warn: () => undefined })(
      eventOf([kinesisRecord(activityJson({ event: 'refund', properties }), '1')]),
    );
    expect(response.batchItemFailures).toEqual([]);
    await store.close();
    const plan = TrackingPlan.fromPlan({
      events: {
        refund: {
          properties: {
            type: 'object',
            properties: {
              amount: { type: 'number' },
              user_id: { type: 'string' },
              dt: { type: 'string' },
              Timestamp: { type: 'string' },
            },
          },
        },
      },
    });
    const data = await LandedData.open(parseSinkUrl(sink), { typedViews: typedViews(plan) });
    try {
      // Act
      const columns = await rowsOf(data, 'SELECT column_name FROM (DESCRIBE refund)');
      const values = await rowsOf(
        data,
        'SELECT user_id, properties_user_id, dt::VARCHAR, properties_dt, timestamp::VARCHAR, properties_Timestamp, amount FROM refund',
      );
      // Assess
      expect(columns.map(([name]) => name)).toEqual([
        ...TYPED_VIEW_EVENT_COLUMNS.map((c) => c.name),
        'amount',
        'properties_user_id',
        'properties_dt',
        'properties_Timestamp',
        'dt',
        'hour',
      ]);
      expect(values).toEqual([
        ['user_1', 'someone else', '2026-11-25', 'not a date', '2026-11-25 19:31:12+00', 'at noon', 5],
      ]);
    } finally {
      await data.close();
    }
  });

  it('exist only with --tracking-plan', async () => {
    // Prepare
    const sink = await landedShop();
    const sql = 'SELECT currency, round(sum(amount), 2) AS total FROM purchase GROUP BY 1 ORDER BY 1';
    // Act
    const withPlan = await runCli([
      'query',
      '--sink',
      sink,
      '--tracking-plan',
      SHOP_PLAN,
      '--output',
      'json',
      sql,
    ]);
    const without = await runCli(['query', '--sink', sink, sql]);
    // Assess
    expect(withPlan.code, withPlan.stderr).toBe(0);
    expect(JSON.parse(withPlan.stdout)).toContainEqual(expect.objectContaining({ currency: 'EUR' }));
    expect(without.code).toBe(1);
    expect(without.stderr).toContain('Table with name purchase does not exist');
  });
});
