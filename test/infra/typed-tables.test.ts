import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { EVENT_COLUMNS } from '../../src/layout/index.js';
import { cleanUpSynths, ROOT, type Synthesized, synth } from './synth.js';
import { TYPES_PLAN } from './typed-plans.js';

const SHOP_PLAN = path.join(ROOT, 'examples/shop-tracking-plan.json');

interface TableInput {
  Name: string;
  TableType: string;
  Parameters: Record<string, string>;
  ViewOriginalText: string;
  StorageDescriptor: { Columns: { Name: string; Type: string }[] };
}

/** The view definition Athena reads from `viewOriginalText` (`/* Presto View: <base64> *\/`). */
interface ViewDefinition {
  originalSql: string;
  catalog: string;
  schema: string;
  columns: { name: string; type: string }[];
}

function tables(template: Template): TableInput[] {
  return Object.values(template.findResources('AWS::Glue::Table')).map(
    (resource) => resource.Properties.TableInput as TableInput,
  );
}

function views(template: Template): TableInput[] {
  return tables(template).filter((t) => t.TableType === 'VIRTUAL_VIEW');
}

function view(template: Template, name: string): TableInput {
  const found = views(template).filter((t) => t.Name === name);
  expect(found, `one view ${name}`).toHaveLength(1);
  return found[0] as TableInput;
}

function definition(input: TableInput): ViewDefinition {
  const match = /^\/\* Presto View: ([A-Za-z0-9+/=]+) \*\/$/.exec(input.ViewOriginalText);
  expect(match, input.ViewOriginalText).not.toBeNull();
  return JSON.parse(Buffer.from(match?.[1] ?? '', 'base64').toString('utf8'));
}

const glueTypes = (input: TableInput) =>
  Object.fromEntries(input.StorageDescriptor.Columns.map((c) => [c.Name, c.Type]));
const viewTypes = (input: TableInput) =>
  Object.fromEntries(definition(input).columns.map((c) => [c.name, c.type]));

let plain: Synthesized;
let shop: Synthesized;
let typesNdjson: Synthesized;
let typesParquet: Synthesized;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'activity-test-'));
  const typesPlan = path.join(dir, 'types-plan.json');
  writeFileSync(typesPlan, JSON.stringify(TYPES_PLAN));
  plain = synth();
  shop = synth({ trackingPlan: SHOP_PLAN });
  typesNdjson = synth({ trackingPlan: typesPlan });
  typesParquet = synth({ trackingPlan: typesPlan, format: 'parquet' });
  // Four syntheses, each bundling the functions: generous for a loaded machine.
}, 240_000);

afterAll(() => {
  cleanUpSynths();
  rmSync(dir, { recursive: true, force: true });
});

describe('the Glue tables of a tracking plan', () => {
  it('adds no view without a plan: events and errors only', () => {
    expect(tables(plain.template).map((t) => t.Name)).toEqual(['events', 'errors']);
  });

  it('adds one Athena view per planned event, with no security finding', () => {
    // Assess
    expect(shop.findings).toEqual([]);
    expect(
      views(shop.template)
        .map((t) => t.Name)
        .sort(),
    ).toEqual(
      [
        'add_to_cart',
        'click',
        'identify',
        'login',
        'logout',
        'page_view',
        'purchase',
        'remove_from_cart',
        'search',
        'signup',
      ].sort(),
    );
    const purchase = view(shop.template, 'purchase');
    expect(purchase.Parameters).toEqual({ presto_view: 'true', comment: 'Presto View' });
    const sql = definition(purchase);
    expect(sql).toMatchObject({ catalog: 'awsdatacatalog', schema: 'activity_pipeline' });
    expect(sql.originalSql).toMatch(/ FROM "activity_pipeline"\."events" WHERE "event" = 'purchase'$/);
  });

  it("types the plan's properties as Glue and Athena types, between the event columns and dt, hour", () => {
    const purchase = view(shop.template, 'purchase');
    const names = purchase.StorageDescriptor.Columns.map((c) => c.Name);
    const base = EVENT_COLUMNS.map((c) => c.name).filter((n) => n !== 'event' && n !== 'properties');
    expect(names).toEqual([...base, 'order_id', 'amount', 'currency', 'items', 'dt', 'hour']);
    expect(glueTypes(purchase)).toMatchObject({
      order_id: 'string',
      amount: 'double',
      currency: 'string',
      items: 'bigint',
      timestamp: 'string',
      dt: 'string',
      hour: 'int',
    });
    // The definition's columns are the table's, in its order, as Athena (Trino) names their types.
    expect(definition(purchase).columns.map((c) => c.name)).toEqual(names);
    expect(viewTypes(purchase)).toMatchObject({
      order_id: 'varchar',
      amount: 'double',
      items: 'bigint',
      hour: 'integer',
    });
  });

  it('types dates and times as computed, over NDJSON as over Parquet, and the rest as JSON text', () => {
    for (const { template } of [typesNdjson, typesParquet]) {
      const checkout = view(template, 'checkout_started');
      expect(glueTypes(checkout)).toMatchObject({
        total: 'double',
        lines: 'bigint',
        coupon: 'string',
        gift: 'boolean',
        at: 'timestamp',
        ships_on: 'date',
        address: 'string',
      });
      expect(viewTypes(checkout)).toMatchObject({
        total: 'double',
        lines: 'bigint',
        coupon: 'varchar',
        gift: 'boolean',
        at: 'timestamp(3)',
        ships_on: 'date',
        address: 'varchar',
      });
      expect(definition(checkout).originalSql).toContain(`WHERE "event" = 'Checkout Started'`);
    }
    // The landed times follow the format of events: text in NDJSON, timestamps in Parquet.
    expect(viewTypes(view(typesNdjson.template, 'checkout_started')).timestamp).toBe('varchar');
    expect(viewTypes(view(typesParquet.template, 'checkout_started')).timestamp).toBe('timestamp(3)');
  });

  it('keeps the event columns under their names and prefixes the properties named like one', () => {
    const checkout = view(typesNdjson.template, 'checkout_started');
    const names = checkout.StorageDescriptor.Columns.map((c) => c.Name);
    const base = EVENT_COLUMNS.map((c) => c.name).filter((n) => n !== 'event' && n !== 'properties');
    expect(names).toEqual([
      ...base,
      ...[
        'total',
        'lines',
        'coupon',
        'gift',
        'at',
        'ships_on',
        'address',
        'properties_user_id',
        'properties_dt',
      ],
      ...['dt', 'hour'],
    ]);
    expect(glueTypes(checkout)).toMatchObject({ properties_user_id: 'string', properties_dt: 'date' });
    const { originalSql } = definition(checkout);
    expect(originalSql).toMatch(/^SELECT "event_id", "user_id", /);
    expect(originalSql).toContain(
      `CASE WHEN substr(json_format(json_extract(properties, '$["user_id"]')), 1, 1) = '"' THEN json_extract_scalar(properties, '$["user_id"]') END AS "properties_user_id"`,
    );
    expect(originalSql).toMatch(/ AS "properties_dt", "dt", "hour" FROM /);
  });

  it('stops the synth on two events of one Athena name, naming both', async () => {
    const file = path.join(dir, 'same-name-plan.json');
    writeFileSync(
      file,
      JSON.stringify({ events: { 'Checkout Started': {}, checkout_started: {}, purchase: {} } }),
    );
    expect(() => synth({ trackingPlan: file })).toThrow(ConfigError);
    expect(() => synth({ trackingPlan: file })).toThrow(
      `${file}: /events/Checkout Started and /events/checkout_started both give the typed view checkout_started in Athena`,
    );
  }, 240_000);

  it('gives an event named like a dataset no view', () => {
    expect(views(typesNdjson.template).map((t) => t.Name)).toEqual(['checkout_started']);
    expect(tables(typesNdjson.template).filter((t) => t.Name === 'events')).toHaveLength(1);
  });
});
