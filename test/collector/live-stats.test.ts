import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConsumerLagProbe,
  LIVE_WINDOW_SECONDS,
  LiveStats,
  STALLED_AFTER_MS,
} from '../../src/collector/index.js';
import { openLocalStream } from '../../src/stream/index.js';
import { useTempDir } from '../support/temp.js';

const tempDir = useTempDir();
const START = Date.parse('2026-11-25T12:00:00.000Z');

describe('LiveStats', () => {
  it('counts accepted events per second by type, the top events and the active users', () => {
    let now = START;
    const stats = new LiveStats(() => now);
    for (let i = 0; i < 30; i++) stats.accepted('click', `user_${i % 3}`, START + i * 100);
    stats.accepted('purchase', 'user_9', START + 1500);
    now = START + 5_000;
    const snapshot = stats.snapshot();
    expect(snapshot.firstSecond).toBe(START / 1000 + 5 - LIVE_WINDOW_SECONDS);
    const click = snapshot.series.find((s) => s.name === 'click');
    expect(click?.counts).toHaveLength(LIVE_WINDOW_SECONDS);
    // Seconds 0, 1 and 2 of the run, then two quiet ones; the second in progress is not charted.
    expect(click?.counts.slice(-5)).toEqual([10, 10, 10, 0, 0]);
    expect(snapshot.topEvents).toEqual([
      { name: 'click', count: 30 },
      { name: 'purchase', count: 1 },
    ]);
    expect(snapshot.activeUsers).toBe(4);
    expect(snapshot.accepted).toBe(31);
    expect(snapshot.eventsPerSecond).toBeCloseTo(3.1);
  });

  it('forgets users and events once they leave the window', () => {
    let now = START;
    const stats = new LiveStats(() => now);
    stats.accepted('click', 'early', START);
    now = START + 200_000;
    stats.accepted('click', 'late', now);
    now = START + LIVE_WINDOW_SECONDS * 1000 + 1_000;
    const snapshot = stats.snapshot();
    expect(snapshot.activeUsers).toBe(1);
    expect(snapshot.topEvents).toEqual([{ name: 'click', count: 1 }]);
  });

  it('charts the eight busiest types and sums the rest as other; rejections and refusals are counted by reason', () => {
    const stats = new LiveStats(() => START + 2_000);
    for (let type = 0; type < 12; type++) {
      for (let n = 0; n <= type; n++) stats.accepted(`type_${type}`, 'u', START);
    }
    stats.rejected('missing_field', 2);
    stats.rejected('invalid_json');
    stats.refused('invalid_write_key');
    stats.refused('backpressure');
    stats.refused('backpressure');
    const snapshot = stats.snapshot();
    // Requests refused whole are counted apart from the events rejected one by one.
    expect(snapshot.refused).toBe(3);
    expect(snapshot.refusedByReason).toEqual([
      { reason: 'backpressure', count: 2 },
      { reason: 'invalid_write_key', count: 1 },
    ]);
    expect(snapshot.rejected).toBe(3);
    expect(snapshot.series.map((s) => s.name)).toEqual([
      'type_11',
      'type_10',
      'type_9',
      'type_8',
      'type_7',
      'type_6',
      'type_5',
      'type_4',
      'other',
    ]);
    expect(snapshot.series.at(-1)?.counts.at(-2)).toBe(1 + 2 + 3 + 4);
    expect(snapshot.rejectedByReason).toEqual([
      { reason: 'missing_field', count: 2 },
      { reason: 'invalid_json', count: 1 },
    ]);
    expect(snapshot.rejected).toBe(3);
  });

  it('stays bounded when clients send endless new event names', () => {
    const stats = new LiveStats(() => START + 2_000);
    for (let i = 0; i < 5_000; i++) stats.accepted(`name_${i}`, 'u', START);
    const snapshot = stats.snapshot();
    expect(snapshot.topEvents[0]).toEqual({ name: '(other)', count: 4_800 });
    expect(snapshot.series).toHaveLength(9);
  });
});

describe('ConsumerLagProbe', () => {
  it('says "none" without checkpoints, then counts records past the checkpoint, then notices a stall', async () => {
    const stream = openLocalStream(path.join(await tempDir(), 's'), { shards: 2 });
    await stream.connect();
    let now = START;
    const probe = new ConsumerLagProbe(stream, 'activity-consumer', () => now);
    const put = await stream.putRecords(
      Array.from({ length: 10 }, (_, i) => ({ partitionKey: `user_${i}`, data: Buffer.from('{}') })),
    );
    expect(await probe.read()).toEqual({ state: 'none', consumer: 'activity-consumer' });

    // A consumer checkpoints the first record of shard 0: every other record is still to land.
    const first = put.records.find((r) => r.ok && r.shardId === 'shardId-000000000000');
    if (!first?.ok) throw new Error('expected a record on shard 0');
    await stream.save('activity-consumer', first.shardId, first.sequenceNumber);
    expect(await probe.read()).toMatchObject({ state: 'running', records: 9, checkpointAgeMs: 0 });

    now += STALLED_AFTER_MS;
    expect(await probe.read()).toMatchObject({ state: 'stalled', records: 9 });
    await stream.close();
  });
});
