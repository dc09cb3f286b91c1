import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ActivityEvent } from '../../src/event/index.js';
import { TrackingPlan } from '../../src/plan/index.js';
import { useTempDir } from '../support/temp.js';

const tempDir = useTempDir();

const PURCHASE = {
  type: 'object',
  required: ['amount', 'currency'],
  properties: {
    amount: { type: 'number', minimum: 0 },
    currency: { enum: ['EUR', 'USD'] },
    at: { type: 'string', format: 'date-time' },
  },
};

function planWith(policies: object = {}) {
  return TrackingPlan.fromPlan(
    {
      policies,
      events: {
        purchase: { properties: PURCHASE },
        identify: { traits: { type: 'object', properties: { email: { type: 'string', format: 'email' } } } },
      },
    },
    'plan.json',
  );
}

function event(name: string, properties?: ActivityEvent['properties'], context?: ActivityEvent['context']) {
  const e: ActivityEvent = {
    event_id: 'e1',
    user_id: 'u1',
    event: name,
    timestamp: '2026-11-25T19:31:12.000Z',
    received_at: '2026-11-25T19:31:12.041Z',
  };
  if (properties !== undefined) e.properties = properties;
  if (context !== undefined) e.context = context;
  return e;
}

describe('TrackingPlan.check', () => {
  it('passes a planned event that keeps its schema, as the same object', () => {
    const given = event('purchase', { amount: 12, currency: 'EUR' });
    const verdict = planWith().check(given);
    expect(verdict).toEqual({ ok: true, event: given, dropped: [], flagged: [] });
    expect(verdict.ok && verdict.event).toBe(given);
  });

  it('names the pointer, the rule and the given value of each schema violation', () => {
    const verdict = planWith().check(event('purchase', { amount: '12', currency: 'GBP', at: 'soon' }));
    expect(verdict).toEqual({
      ok: false,
      violations: [
        {
          reason: 'schema_violation',
          pointer: 'properties/amount',
          rule: 'type',
          message: 'properties/amount must be number (given "12")',
        },
        {
          reason: 'schema_violation',
          pointer: 'properties/currency',
          rule: 'enum',
          message: 'properties/currency must be one of "EUR", "USD" (given "GBP")',
        },
        {
          reason: 'schema_violation',
          pointer: 'properties/at',
          rule: 'format',
          message: 'properties/at must match format "date-time" (given "soon")',
        },
      ],
    });
  });

  it('reports a required property that is missing, also when the event has no properties', () => {
    const verdict = planWith().check(event('purchase'));
    expect(verdict.ok).toBe(false);
    expect(!verdict.ok && verdict.violations.map((v) => [v.pointer, v.rule, v.message])).toEqual([
      ['properties/amount', 'required', 'properties/amount is required'],
      ['properties/currency', 'required', 'properties/currency is required'],
    ]);
  });

  it("checks identify's traits in their column, and in context.traits where older events kept them", () => {
    const verdict = planWith().check(event('identify', {}, { traits: { email: 'not an address' } }));
    expect(!verdict.ok && verdict.violations[0]?.message).toBe(
      'context/traits/email must match format "email" (given "not an address")',
    );
    const column = planWith().check({ ...event('identify'), traits: { email: 'still not' } });
    expect(!column.ok && column.violations[0]?.message).toBe(
      'traits/email must match format "email" (given "still not")',
    );
  });

  it('allows unplanned events by default, and rejects them when the policy says so', () => {
    expect(planWith().check(event('wave')).ok).toBe(true);
    const verdict = planWith({ unplanned_events: 'reject' }).check(event('wave'));
    expect(verdict).toEqual({
      ok: false,
      violations: [
        {
          reason: 'unplanned_event',
          pointer: 'event',
          rule: 'unplanned_events',
          message: 'event "wave" is not in the tracking plan',
        },
      ],
    });
  });

  it('allows, drops or rejects unplanned properties by the policy', () => {
    const given = event('purchase', { amount: 1, currency: 'USD', coupon: 'X' });
    expect(planWith().check(given)).toMatchObject({ ok: true, event: given });
    const dropped = planWith({ unplanned_properties: 'drop' }).check(given);
    expect(dropped).toMatchObject({ ok: true, dropped: ['coupon'] });
    expect(dropped.ok && dropped.event.properties).toEqual({ amount: 1, currency: 'USD' });
    expect(given.properties).toHaveProperty('coupon');
    const rejected = planWith({ unplanned_properties: 'reject' }).check(given);
    expect(!rejected.ok && rejected.violations).toEqual([
      {
        reason: 'unplanned_property',
        pointer: 'properties/coupon',
        rule: 'unplanned_properties',
        message: 'properties/coupon is not in the tracking plan for "purchase"',
      },
    ]);
  });

  it('flags a violating event with its violations in context instead of refusing it', () => {
    const given = event('purchase', { amount: -1, currency: 'EUR' }, { page: '/' });
    const verdict = planWith({ violations: 'flag' }).check(given);
    expect(verdict.ok).toBe(true);
    expect(verdict.ok && verdict.event.context).toEqual({
      page: '/',
      violations: [{ reason: 'schema_violation', message: 'properties/amount must be >= 0 (given -1)' }],
    });
    expect(given.context).toEqual({ page: '/' });
  });
});

it('takes schemas without a type beside their keywords, as JSON Schema does', () => {
  const plan = TrackingPlan.fromPlan({
    events: { a: { properties: { required: ['x'], properties: { x: { minimum: 1 } } } } },
  });
  const verdict = plan.check(event('a', { x: 0 }));
  expect(!verdict.ok && verdict.violations.map((v) => v.message)).toEqual([
    'properties/x must be >= 1 (given 0)',
  ]);
});

describe('a bad plan', () => {
  it.each([
    [{ events: { a: { propertis: {} } } }, 'plan.json: /events/a/propertis is not allowed (unknown key)'],
    [
      { policies: { violations: 'warn' }, events: {} },
      'plan.json: /policies/violations must be one of "reject", "flag" (given "warn")',
    ],
    [
      { events: { a: { properties: { tpye: 'object' } } } },
      'plan.json: /events/a/properties: strict mode: unknown keyword: "tpye"',
    ],
    [
      { events: { a: { properties: { type: 'array' } } } },
      'plan.json: /events/a/properties/type must be "object": properties is a JSON object (given "array")',
    ],
    [{ events: { a: { traits: {} } } }, 'plan.json: /events/a/traits is only for the "identify" event'],
    [{}, 'plan.json: /events is required'],
  ])('is refused with where and what: %j', (plan, message) => {
    expect(() => TrackingPlan.fromPlan(plan, 'plan.json')).toThrow(message);
  });

  it('that is not JSON names its file', async () => {
    const file = path.join(await tempDir(), 'plan.json');
    await writeFile(file, '{"events": ');
    await expect(TrackingPlan.fromFile(file)).rejects.toThrow(`${file} is not valid JSON`);
    await expect(TrackingPlan.fromFile(`${file}.missing`)).rejects.toThrow('does not exist');
  });
});
