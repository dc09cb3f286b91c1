import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Analytics as SegmentAnalytics } from '@segment/analytics-node';
import { describe, expect, it } from 'vitest';
import { createCollector } from '../../src/collector/index.js';
import { TrackingPlan } from '../../src/plan/index.js';
import { openLocalStream } from '../../src/stream/index.js';
import { runCli } from '../support/cli.js';
import { readLog, textOf } from '../support/stream-records.js';
import { useTempDir } from '../support/temp.js';
import { startCollect, useCollectors } from './collect-cli.js';

const tempDir = useTempDir();
const { inProcess: running, cli: started } = useCollectors();

const PLAN = {
  events: {
    purchase: {
      properties: {
        type: 'object',
        required: ['amount'],
        properties: { amount: { type: 'number' }, currency: { type: 'string' } },
      },
    },
  },
};

type Policies = Record<string, string>;

async function start(policies: Policies) {
  const streamPath = path.join(await tempDir(), 'stream');
  const stream = openLocalStream(streamPath);
  await stream.connect();
  const trackingPlan = TrackingPlan.fromPlan({ ...PLAN, policies }, 'plan.json');
  const collector = await createCollector({ warn: () => undefined, stream, trackingPlan });
  running.push(collector);
  const base = await collector.listen({ port: 0 });
  const onStream = async () =>
    (await readLog(streamPath)).map((r) => JSON.parse(textOf(r)) as Record<string, unknown>);
  return { base, collector, onStream };
}

const now = () => new Date().toISOString();

/** Sends `events` (name, properties) on one route: ours, or Segment's batch. */
async function send(base: string, route: 'ours' | 'segment', events: [string, object][]) {
  const body =
    route === 'ours'
      ? events.map(([event, properties]) => ({ user_id: 'u1', event, timestamp: now(), properties }))
      : {
          batch: events.map(([event, properties]) => ({
            type: 'track',
            userId: 'u1',
            event,
            properties,
            timestamp: now(),
          })),
        };
  const response = await fetch(`${base}${route === 'ours' ? '/v1/events' : '/v1/batch'}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    body: (await response.json()) as { rejected: { index: number; code: string; message: string }[] },
  };
}

async function rejectedMetric(base: string, reason: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`activity_collector_events_rejected_total{reason="${reason}"}`));
  return Number(line?.split(' ')[1] ?? 0);
}

describe.each(['ours', 'segment'] as const)('a tracking plan on the collector, %s route', (route) => {
  it('violations reject: names pointer, rule and value, and accepts the rest of the batch', async () => {
    const { base, collector, onStream } = await start({ violations: 'reject' });
    const answer = await send(base, route, [
      ['purchase', { amount: '12' }],
      ['purchase', { amount: 12 }],
    ]);
    expect(answer.status).toBe(200);
    expect(answer.body.rejected).toEqual([
      { index: 0, code: 'schema_violation', message: 'properties/amount must be number (given "12")' },
    ]);
    expect((await onStream()).map((e) => e.properties)).toEqual([{ amount: 12 }]);
    expect(await rejectedMetric(base, 'schema_violation')).toBe(1);
    expect(collector.snapshot().rejectedByReason).toEqual([{ reason: 'schema_violation', count: 1 }]);
  });

  it('violations flag: the event goes on with its violations in context', async () => {
    const { base, onStream } = await start({ violations: 'flag' });
    const answer = await send(base, route, [['purchase', { amount: '12' }]]);
    expect(answer).toMatchObject({ status: 200, body: { rejected: [] } });
    const [event] = await onStream();
    expect(event?.context).toMatchObject({
      violations: [{ reason: 'schema_violation', message: 'properties/amount must be number (given "12")' }],
    });
  });

  it('unplanned events reject: an event the plan does not name is refused', async () => {
    const { base, onStream } = await start({ unplanned_events: 'reject' });
    const answer = await send(base, route, [
      ['wave', {}],
      ['purchase', { amount: 1 }],
    ]);
    expect(answer.body.rejected).toEqual([
      { index: 0, code: 'unplanned_event', message: 'event "wave" is not in the tracking plan' },
    ]);
    expect((await onStream()).map((e) => e.event)).toEqual(['purchase']);
    expect(await rejectedMetric(base, 'unplanned_event')).toBe(1);
  });

  it('unplanned properties reject, or drop them and land the rest', async () => {
    const rejecting = await start({ unplanned_properties: 'reject' });
    const refused = await send(rejecting.base, route, [['purchase', { amount: 1, coupon: 'X' }]]);
    expect(refused).toMatchObject({ status: 400 });
    expect(refused.body.rejected).toEqual([
      {
        index: 0,
        code: 'unplanned_property',
        message: 'properties/coupon is not in the tracking plan for "purchase"',
      },
    ]);
    expect(await rejectedMetric(rejecting.base, 'unplanned_property')).toBe(1);

    const dropping = await start({ unplanned_properties: 'drop' });
    const dropped = await send(dropping.base, route, [['purchase', { amount: 1, coupon: 'X' }]]);
    expect(dropped).toMatchObject({ status: 200, body: { rejected: [] } });
    expect((await dropping.onStream()).map((e) => e.properties)).toEqual([{ amount: 1 }]);
  });
});

describe('activity collect --tracking-plan, with @segment/analytics-node', () => {
  it('puts only the events the plan passes on the stream', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'plan.json');
    await writeFile(file, JSON.stringify({ ...PLAN, policies: { violations: 'reject' } }));
    const stream = path.join(dir, 'stream');
    const collector = await startCollect(['--stream', stream, '--tracking-plan', file]);
    started.push(collector);
    const analytics = new SegmentAnalytics({ writeKey: 'wk', host: collector.base, flushAt: 2 });
    const statuses: number[] = [];
    analytics.on('http_response', (response) => statuses.push(response.status));

    analytics.track({ userId: 'u1', event: 'purchase', properties: { amount: '12' } });
    analytics.track({ userId: 'u1', event: 'purchase', properties: { amount: 12 } });
    await analytics.closeAndFlush({ timeout: 30_000 });

    expect(statuses).toEqual([200]);
    expect(await rejectedMetric(collector.base, 'schema_violation')).toBe(1);
    const stopped = await collector.stop();
    expect(stopped.code, stopped.stderr).toBe(0);
    const events = (await readLog(stream)).map((r) => JSON.parse(textOf(r)) as { properties: object });
    expect(events.map((e) => e.properties)).toEqual([{ amount: 12 }]);
  });
});

describe('activity produce --tracking-plan', () => {
  it('reports the lines the plan refuses, with its reasons, sends the others, and exits 1', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'plan.json');
    await writeFile(
      file,
      JSON.stringify({ ...PLAN, policies: { unplanned_events: 'reject', unplanned_properties: 'drop' } }),
    );
    const input = path.join(dir, 'events.ndjson');
    const line = (event: string, properties: object) =>
      JSON.stringify({ user_id: 'u1', event, timestamp: now(), properties });
    await writeFile(
      input,
      [
        line('purchase', { amount: 12, coupon: 'X' }),
        line('purchase', { amount: '12' }),
        line('wave', {}),
      ].join('\n'),
    );
    const stream = path.join(dir, 'stream');

    const result = await runCli([
      'produce',
      '--stream',
      stream,
      '--input',
      input,
      '--tracking-plan',
      file,
      '--json',
    ]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'line 2: schema_violation: properties/amount must be number (given "12")',
    );
    expect(result.stderr).toContain('line 3: unplanned_event: event "wave" is not in the tracking plan');
    expect(JSON.parse(result.stdout)).toMatchObject({ accepted: 1, invalid: 0, refused_by_plan: 2 });
    const sent = (await readLog(stream)).map((r) => JSON.parse(textOf(r)) as { properties: object });
    expect(sent.map((e) => e.properties)).toEqual([{ amount: 12 }]);
  });
});
