import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createHandler } from '../../src/consumer/index.js';
import { TrackingPlan } from '../../src/plan/index.js';
import { parseReasons } from '../../src/redrive/reasons.js';
import { DirectoryStore } from '../../src/sink/index.js';
import { activityJson, eventOf, kinesisRecord } from '../support/kinesis-events.js';
import { kplAggregate } from '../support/kpl.js';
import { readLanded } from '../support/landed.js';
import { useTempDir } from '../support/temp.js';
import { expectOutcome, PLAN, POLICY_CASES } from './plan-policy-cases.js';

const tempDir = useTempDir();

async function handlerWith(policies: object) {
  const sink = path.join(await tempDir(), 'sink');
  const store = new DirectoryStore(sink);
  await store.connect();
  const plan = TrackingPlan.fromPlan({ ...PLAN, policies });
  return { sink, handler: createHandler({ store, plan, warn: () => undefined }) };
}

describe('the consumer handler with a tracking plan', () => {
  it.each(POLICY_CASES)('$name', async (c) => {
    // Prepare
    const { sink, handler } = await handlerWith(c.policies ?? {});
    // Act
    const response = await handler(c.event);
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const landed = await readLanded(sink);
    expectOutcome(c, landed.events, landed.errors);
  });

  it('checks each user record of a KPL aggregate on its own', async () => {
    // Prepare
    const { sink, handler } = await handlerWith({ unplanned_events: 'reject' });
    const aggregated = kplAggregate([
      { partitionKey: 'user_1', data: Buffer.from(activityJson({ event_id: 'k1', event: 'click' })) },
      { partitionKey: 'user_2', data: Buffer.from(activityJson({ event_id: 'k2', event: 'wave' })) },
    ]);
    // Act
    await handler(eventOf([kinesisRecord(aggregated.data, '7', { partitionKey: aggregated.partitionKey })]));
    // Assess
    const landed = await readLanded(sink);
    expect(landed.events.map((e) => e.event_id)).toEqual(['k1']);
    expect(landed.errors).toMatchObject([
      { reason: 'unplanned_event', sub_sequence_number: 1, partition_key: 'user_2' },
    ]);
  });

  it('lands as before without a plan', async () => {
    const sink = path.join(await tempDir(), 'sink');
    const store = new DirectoryStore(sink);
    await store.connect();
    await createHandler({ store })(POLICY_CASES[0]?.event ?? eventOf([]));
    expect((await readLanded(sink)).events).toHaveLength(3);
  });

  it("gives redrive --reason the plan's reasons", () => {
    expect(parseReasons(['schema_violation,unplanned_event', 'unplanned_property'])).toEqual([
      'schema_violation',
      'unplanned_event',
      'unplanned_property',
    ]);
  });
});
