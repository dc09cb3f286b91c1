import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSinkUrl } from '../../src/core/locations.js';
import { diffWithLanded, type PlanFile, TrackingPlan } from '../../src/plan/index.js';
import { LandedData } from '../../src/query/index.js';
import { jsonSummary, runCli } from '../support/cli.js';
import { useTempDir } from '../support/temp.js';

const tempDir = useTempDir();

async function simulatedSink(...extra: string[]) {
  const dir = await tempDir();
  const sink = path.join(dir, 'sink');
  const run = await runCli([
    'run',
    ...['--events', '2000', '--users', '50', '--seed', 'plan'],
    ...['--stream', path.join(dir, 'stream'), '--sink', sink],
    ...extra,
  ]);
  expect(run.code, run.stderr).toBe(0);
  return { dir, sink };
}

async function count(sink: string, sql: string): Promise<number> {
  const data = await LandedData.open(parseSinkUrl(sink));
  try {
    return Number((await data.query(sql)).rows[0]?.[0]);
  } finally {
    await data.close();
  }
}

describe('activity plan', () => {
  it('infers a plan from a simulated day that its own data passes, even rejecting unplanned properties', async () => {
    // Prepare: a day of browsers and bots, page URLs with campaigns, referrers of every kind.
    const { dir, sink } = await simulatedSink('--span', '24h', '--events', '5000');
    const file = path.join(dir, 'plan.json');
    // Act
    const infer = await runCli(['plan', 'infer', '--sink', sink, '--out', file]);
    const draft = JSON.parse(await readFile(file, 'utf8')) as PlanFile;
    draft.policies = { unplanned_events: 'reject', unplanned_properties: 'reject', violations: 'reject' };
    await writeFile(file, JSON.stringify(draft));
    const check = await runCli(['plan', 'check', file, '--json']);
    const diff = await runCli(['plan', 'diff', file, '--sink', sink, '--json']);
    // Assess
    expect(infer.code, infer.stderr).toBe(0);
    expect(draft.events.purchase?.properties).toMatchObject({
      required: ['amount', 'currency', 'items', 'order_id'],
      properties: { amount: { type: 'number' }, items: { type: 'integer' }, currency: { type: 'string' } },
    });
    expect(check.code, check.stderr).toBe(0);
    expect(JSON.parse(check.stdout).events).toEqual([
      'add_to_cart',
      'click',
      'login',
      'logout',
      'page_view',
      'purchase',
    ]);
    expect(diff.code, diff.stderr).toBe(0);
    expect(draft.events.page_view?.properties).toMatchObject({
      required: ['path', 'title', 'url'],
      properties: { url: { type: 'string' }, referrer: { type: 'string' } },
    });
    expect(JSON.parse(diff.stdout)).toEqual({
      events: 5000,
      passing: 5000,
      unplannedEvents: {},
      unseenEvents: [],
      unplannedProperties: {},
      violations: {},
    });
  });

  it('diffs a plan with the data: unplanned events and properties, violations counted by rule', async () => {
    // Prepare
    const { sink } = await simulatedSink();
    const shop = JSON.parse(
      await readFile(path.resolve('examples/shop-tracking-plan.json'), 'utf8'),
    ) as PlanFile;
    delete shop.events.logout;
    // Refused, not flagged: `passing` counts the events that would land unflagged.
    shop.policies = { ...shop.policies, violations: 'reject' };
    shop.events.purchase = {
      properties: {
        type: 'object',
        required: ['amount', 'coupon'],
        properties: { amount: { type: 'string' }, coupon: { type: 'string' } },
      },
    };
    const plan = TrackingPlan.fromPlan(shop);
    const purchases = await count(sink, "SELECT count(*) FROM events WHERE event = 'purchase'");
    const logouts = await count(sink, "SELECT count(*) FROM events WHERE event = 'logout'");
    // Act
    const data = await LandedData.open(parseSinkUrl(sink));
    const diff = await diffWithLanded(plan, data).finally(() => data.close());
    // Assess
    expect(purchases).toBeGreaterThan(0);
    expect(diff.unplannedEvents).toEqual({ logout: logouts });
    expect(diff.unplannedProperties).toEqual({
      purchase: { currency: purchases, items: purchases, order_id: purchases },
    });
    expect(diff.violations['purchase properties/amount type']).toMatchObject({
      count: purchases,
      reason: 'schema_violation',
    });
    expect(diff.violations['purchase properties/amount type']?.example).toMatch(
      /^properties\/amount must be string \(given [\d.]+\)$/,
    );
    expect(diff.violations['purchase properties/coupon required']).toMatchObject({
      count: purchases,
      example: 'properties/coupon is required',
    });
    expect(diff.passing).toBe(diff.events - purchases);
  });

  it('refuses a bad plan in one line naming the file and the JSON pointer', async () => {
    // Prepare
    const file = path.join(await tempDir(), 'plan.json');
    await writeFile(
      file,
      JSON.stringify({ events: { purchase: { properties: { type: 'object', required: 'amount' } } } }),
    );
    // Act
    const check = await runCli(['plan', 'check', file]);
    // Assess
    expect(check.code).toBe(2);
    expect(check.stderr).toBe(
      `activity: ${file}: /events/purchase/properties/required must be array (given "amount")\n`,
    );
  });

  it('refuses in plan check a plan whose typed views would share a name, as query and the CDK app do', async () => {
    // Prepare: two spellings of one event, which Athena names alike; two which DuckDB names alike.
    const dir = await tempDir();
    const athena = path.join(dir, 'athena.json');
    await writeFile(athena, JSON.stringify({ events: { 'Checkout Started': {}, checkout_started: {} } }));
    const both = path.join(dir, 'both.json');
    await writeFile(both, JSON.stringify({ events: { Purchase: {}, purchase: {} } }));
    // Act
    const checkAthena = await runCli(['plan', 'check', athena]);
    const checkBoth = await runCli(['plan', 'check', both]);
    const query = await runCli([
      'query',
      ...['--sink', path.join(dir, 'sink'), '--tracking-plan', both, 'SELECT 1'],
    ]);
    const enforced = await runCli([
      'consume',
      ...['--stream', path.join(dir, 'stream'), '--sink', path.join(dir, 'sink'), '--until-idle'],
      ...['--tracking-plan', both],
    ]);
    // Assess
    expect(checkAthena.code).toBe(2);
    expect(checkAthena.stderr).toBe(
      `activity: ${athena}: /events/Checkout Started and /events/checkout_started both give the typed view checkout_started in Athena (view names ignore case, other characters than letters, digits and _ become _): rename one\n`,
    );
    const local = `activity: ${both}: /events/Purchase and /events/purchase both give the typed view purchase (view names ignore case): rename one\n`;
    expect(checkBoth).toMatchObject({ code: 2, stderr: local });
    expect(query).toMatchObject({ code: 2, stderr: local });
    // Enforcing the plan needs no view.
    expect(enforced.code, enforced.stderr).toBe(0);
  });

  it('enforces --tracking-plan in run and in consume', async () => {
    // Prepare: the shop's plan without logout, whose events it then refuses.
    const dir = await tempDir();
    const file = path.join(dir, 'plan.json');
    const shop = JSON.parse(
      await readFile(path.resolve('examples/shop-tracking-plan.json'), 'utf8'),
    ) as PlanFile;
    delete shop.events.logout;
    shop.policies = { unplanned_events: 'reject' };
    await writeFile(file, JSON.stringify(shop));
    const input = [
      { user_id: 'u1', event: 'login', timestamp: 1764000000, properties: { method: 'google' } },
      { user_id: 'u1', event: 'login', timestamp: 1764000001, properties: { method: 'fax' } },
      { user_id: 'u1', event: 'logout', timestamp: 1764000002 },
    ]
      .map((e) => JSON.stringify(e))
      .join('\n');
    const stream = path.join(dir, 'stream');
    const consumed = path.join(dir, 'consumed');
    // Act
    const run = await runCli([
      'run',
      ...['--events', '2000', '--users', '50', '--seed', 'plan', '--json', '--tracking-plan', file],
      ...['--stream', path.join(dir, 'run-stream'), '--sink', path.join(dir, 'run-sink')],
    ]);
    const produced = await runCli(['produce', '--stream', stream, '--input', '-'], { input });
    const consume = await runCli([
      'consume',
      ...['--stream', stream, '--sink', consumed, '--until-idle', '--tracking-plan', file],
    ]);
    // Assess
    expect(run.code, run.stderr).toBe(0);
    const logouts = await count(
      path.join(dir, 'run-sink'),
      "SELECT count(*) FROM errors WHERE reason = 'unplanned_event'",
    );
    expect(logouts).toBeGreaterThan(0);
    expect(
      await count(path.join(dir, 'run-sink'), "SELECT count(*) FROM events WHERE event = 'logout'"),
    ).toBe(0);
    expect(jsonSummary(run)).toMatchObject({ errors: logouts, landed: 2000 - logouts });
    expect(produced.code, produced.stderr).toBe(0);
    expect(consume.code, consume.stderr).toBe(0);
    const data = await LandedData.open(parseSinkUrl(consumed));
    const errors = await data
      .query('SELECT reason, message FROM errors ORDER BY message')
      .finally(() => data.close());
    expect(errors.rows).toEqual([
      ['unplanned_event', 'event "logout" is not in the tracking plan'],
      [
        'schema_violation',
        'properties/method must be one of "password", "google", "apple", "magic_link" (given "fax")',
      ],
    ]);
  });

  it('refuses a bad --tracking-plan before consuming anything', async () => {
    const dir = await tempDir();
    const result = await runCli([
      'consume',
      ...['--stream', path.join(dir, 'stream'), '--sink', path.join(dir, 'sink'), '--until-idle'],
      ...['--tracking-plan', path.join(dir, 'missing.json')],
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`activity: tracking plan ${path.join(dir, 'missing.json')} does not exist\n`);
  });
});
