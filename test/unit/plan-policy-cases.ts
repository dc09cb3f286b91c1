import type { KinesisStreamEvent } from 'aws-lambda';
import { expect } from 'vitest';
import type { PlanFile } from '../../src/plan/index.js';
import { activityJson, eventOf, kinesisRecord } from '../support/kinesis-events.js';

/**
 * One case per policy value, shared by the handler's tests and the Lambda bundle's: a plan, a batch,
 * and what must land. Each batch mixes events the plan passes with those it does not, so each case
 * also shows that a refused event does not hold up the rest.
 */
export interface PolicyCase {
  name: string;
  policies: PlanFile['policies'];
  event: KinesisStreamEvent;
  /** `event_id`s landed in `events/`, in order. */
  events: string[];
  /** Fields of landed events, by `event_id`, each equal to the value given. */
  landed?: Record<string, Record<string, unknown>>;
  /** `reason` and `message` of each `errors/` line, in order. */
  errors: { reason: string; message: string }[];
}

export const PLAN: PlanFile = {
  events: {
    purchase: {
      properties: {
        type: 'object',
        required: ['amount', 'currency'],
        properties: { amount: { type: 'number' }, currency: { type: 'string', pattern: '^[A-Z]{3}$' } },
      },
    },
    click: { properties: { type: 'object', properties: { element: { type: 'string' } } } },
  },
};

const record = (fields: Record<string, unknown>, seq: string) => kinesisRecord(activityJson(fields), seq);
const good = (seq: string) =>
  record({ event_id: `good-${seq}`, event: 'purchase', properties: { amount: 12, currency: 'EUR' } }, seq);
const wrongAmount = (seq: string) =>
  record({ event_id: `bad-${seq}`, event: 'purchase', properties: { amount: '12', currency: 'EUR' } }, seq);
const unplanned = (seq: string) => record({ event_id: `wave-${seq}`, event: 'wave' }, seq);
const extra = (seq: string) =>
  record({ event_id: `extra-${seq}`, event: 'click', properties: { element: 'buy', debug: true } }, seq);

export const POLICY_CASES: PolicyCase[] = [
  {
    name: 'violations: reject lands a violating event in errors/ with the rule and the given value',
    policies: { violations: 'reject' },
    event: eventOf([good('1'), wrongAmount('2'), good('3')]),
    events: ['good-1', 'good-3'],
    errors: [{ reason: 'schema_violation', message: 'properties/amount must be number (given "12")' }],
  },
  {
    name: 'violations: flag lands a violating event with its violations in context',
    policies: { violations: 'flag' },
    event: eventOf([good('1'), wrongAmount('2')]),
    events: ['good-1', 'bad-2'],
    landed: {
      'good-1': { properties: { amount: 12, currency: 'EUR' } },
      'bad-2': {
        context: {
          violations: [
            { reason: 'schema_violation', message: 'properties/amount must be number (given "12")' },
          ],
        },
      },
    },
    errors: [],
  },
  {
    name: 'unplanned_events: allow lands an event the plan does not list',
    policies: { unplanned_events: 'allow' },
    event: eventOf([unplanned('1'), good('2')]),
    events: ['wave-1', 'good-2'],
    errors: [],
  },
  {
    name: 'unplanned_events: reject lands an event the plan does not list in errors/',
    policies: { unplanned_events: 'reject' },
    event: eventOf([unplanned('1'), good('2')]),
    events: ['good-2'],
    errors: [{ reason: 'unplanned_event', message: 'event "wave" is not in the tracking plan' }],
  },
  {
    name: 'unplanned_properties: allow lands a property the plan does not list',
    policies: { unplanned_properties: 'allow' },
    event: eventOf([extra('1')]),
    events: ['extra-1'],
    landed: { 'extra-1': { properties: { element: 'buy', debug: true } } },
    errors: [],
  },
  {
    name: 'unplanned_properties: drop lands the event without it',
    policies: { unplanned_properties: 'drop' },
    event: eventOf([extra('1')]),
    events: ['extra-1'],
    landed: { 'extra-1': { properties: { element: 'buy' } } },
    errors: [],
  },
  {
    name: 'unplanned_properties: reject lands the event in errors/',
    policies: { unplanned_properties: 'reject' },
    event: eventOf([extra('1'), good('2')]),
    events: ['good-2'],
    errors: [
      { reason: 'unplanned_property', message: 'properties/debug is not in the tracking plan for "click"' },
    ],
  },
];

/** The JSON of each record of a case's batch, in order: what a sender gives the collector or `produce`. */
export function caseLines(c: PolicyCase): string[] {
  return c.event.Records.map((r) => Buffer.from(r.kinesis.data, 'base64').toString('utf8'));
}

/**
 * Assesses what a path let through (landed, or put on the stream) and what it refused, against a case.
 * `properties` must be equal (a dropped property is gone); `context` must hold what the case names, as a
 * collector adds its own facts (the user agent) beside the violations.
 */
export function expectOutcome(
  c: PolicyCase,
  passed: readonly Record<string, unknown>[],
  refused: readonly { reason?: unknown; message?: unknown }[],
): void {
  expect(passed.map((e) => e.event_id)).toEqual(c.events);
  for (const [id, part] of Object.entries(c.landed ?? {})) {
    const event = passed.find((e) => e.event_id === id);
    for (const [field, value] of Object.entries(part)) {
      if (field === 'context') expect(event?.[field], `${id} ${field}`).toMatchObject(value as object);
      else expect(event?.[field], `${id} ${field}`).toEqual(value);
    }
  }
  expect(refused.map((e) => ({ reason: e.reason, message: e.message }))).toEqual(c.errors);
}
