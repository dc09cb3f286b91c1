import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createHandler } from '../../src/consumer/index.js';
import { parseSinkUrl } from '../../src/core/locations.js';
import type { ActivityEvent } from '../../src/event/index.js';
import { inferPlan, TrackingPlan } from '../../src/plan/index.js';
import { LandedData } from '../../src/query/index.js';
import { DirectoryStore } from '../../src/sink/index.js';
import { activityJson, eventOf, kinesisRecord } from '../support/kinesis-events.js';
import { useTempDir } from '../support/temp.js';

const tempDir = useTempDir();

const EVENTS: Pick<ActivityEvent, 'event' | 'properties' | 'context'>[] = [
  { event: 'purchase', properties: { amount: 12, currency: 'EUR', note: null } },
  { event: 'purchase', properties: { amount: 12.5, currency: 'USD', note: 'gift' } },
  { event: 'purchase', properties: { amount: 3, currency: 'EUR', tags: ['a'], first: true } },
  { event: 'identify', context: { traits: { email: 'a@example.com', age: 30 } } },
  { event: 'identify', context: { traits: { email: 'b@example.com' } } },
  { event: 'identify' },
];

describe('activity plan infer', () => {
  it('drafts types, required properties, examples and identify traits that the data passes', async () => {
    // Prepare
    const sink = path.join(await tempDir(), 'sink');
    const store = new DirectoryStore(sink);
    await store.connect();
    const records = EVENTS.map((e, i) =>
      kinesisRecord(activityJson({ event_id: `e${i}`, ...e }), String(i + 1)),
    );
    await createHandler({ store })(eventOf(records));
    const data = await LandedData.open(parseSinkUrl(sink));
    // Act
    const draft = await inferPlan(data).finally(() => data.close());
    // Assess
    expect(draft.events.purchase?.properties).toEqual({
      type: 'object',
      required: ['amount', 'currency'],
      properties: {
        amount: { type: 'number', examples: expect.arrayContaining([12, 12.5, 3]) },
        currency: { type: 'string', examples: expect.arrayContaining(['EUR', 'USD']) },
        first: { type: 'boolean', examples: [true] },
        note: { type: ['null', 'string'], examples: ['gift'] },
        tags: { type: 'array' },
      },
    });
    expect(draft.events.identify?.traits).toEqual({
      type: 'object',
      properties: {
        age: { type: 'integer', examples: [30] },
        email: { type: 'string', examples: expect.arrayContaining(['a@example.com', 'b@example.com']) },
      },
    });
    const plan = TrackingPlan.fromPlan({
      ...draft,
      policies: { unplanned_events: 'reject', unplanned_properties: 'reject', violations: 'reject' },
    });
    for (const [i, e] of EVENTS.entries()) {
      const verdict = plan.check({ event_id: `e${i}`, user_id: 'u', timestamp: 't', received_at: 't', ...e });
      expect(verdict.ok, JSON.stringify(verdict)).toBe(true);
    }
  });
});
