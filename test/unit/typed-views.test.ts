import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { type PlanFile, TrackingPlan, typedViews } from '../../src/plan/index.js';

const object = (properties: Record<string, object>) => ({ properties: { type: 'object', properties } });

function planOf(events: PlanFile['events']): TrackingPlan {
  return TrackingPlan.fromPlan({ events }, 'plan.json');
}

describe('the typed views of a plan', () => {
  it('name a property like an event column properties_<key>, in any case, and keep the others as they are', () => {
    // Prepare
    const plan = planOf({
      purchase: object({
        amount: { type: 'number' },
        user_id: { type: 'string' },
        DT: { type: 'string' },
        hour: { type: 'integer' },
        browser: { type: 'string' },
        event: { type: 'string' },
      }),
    });
    // Act
    const [view] = typedViews(plan);
    // Assess
    expect(view?.columns.map((c) => [c.name, c.property, c.type])).toEqual([
      ['amount', 'amount', 'double'],
      ['properties_user_id', 'user_id', 'string'],
      ['properties_DT', 'DT', 'string'],
      ['properties_hour', 'hour', 'bigint'],
      ['properties_browser', 'browser', 'string'],
      ['properties_event', 'event', 'string'],
    ]);
  });

  it('refuse two properties that give one column, naming both', () => {
    const sameButCase = planOf({
      purchase: object({ Amount: { type: 'number' }, amount: { type: 'number' } }),
    });
    const prefixed = planOf({
      purchase: object({ user_id: { type: 'string' }, properties_user_id: { type: 'string' } }),
    });
    expect(() => typedViews(sameButCase)).toThrow(ConfigError);
    expect(() => typedViews(sameButCase)).toThrow(
      'plan.json: /events/purchase/properties/properties/Amount and /events/purchase/properties/properties/amount both give the column amount of the typed view of "purchase" (column names ignore case): rename one',
    );
    expect(() => typedViews(prefixed, 'athena')).toThrow(
      '/events/purchase/properties/properties/user_id and /events/purchase/properties/properties/properties_user_id both give the column properties_user_id',
    );
  });

  it('refuse two events that give one view, naming both: by case in DuckDB, by Athena form in Athena', () => {
    // Prepare
    const byCase = planOf({ Purchase: object({}), purchase: object({}) });
    const byForm = planOf({ 'Checkout Started': object({}), checkout_started: object({}) });
    // Act
    const local = typedViews(byForm, 'duckdb');
    // Assess
    expect(() => typedViews(byCase)).toThrow(
      'plan.json: /events/Purchase and /events/purchase both give the typed view purchase (view names ignore case): rename one',
    );
    expect(local.map((v) => v.name)).toEqual(['Checkout Started', 'checkout_started']);
    expect(() => typedViews(byForm, 'athena')).toThrow(
      'plan.json: /events/Checkout Started and /events/checkout_started both give the typed view checkout_started in Athena (view names ignore case, other characters than letters, digits and _ become _): rename one',
    );
  });

  it('give an event named like a dataset no view, and the others their Athena names', () => {
    const plan = planOf({ Events: object({}), 'Checkout Started': object({}), 'errors!': object({}) });
    expect(typedViews(plan).map((v) => v.name)).toEqual(['Checkout Started', 'errors!']);
    expect(typedViews(plan, 'athena').map((v) => [v.event, v.name])).toEqual([
      ['Checkout Started', 'checkout_started'],
      ['errors!', 'errors_'],
    ]);
  });
});
