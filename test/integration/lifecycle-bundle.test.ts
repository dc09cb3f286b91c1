import { describe, expect, it } from 'vitest';
import { createHandler } from '../../src/consumer/index.js';
import { isCompactedKey, listLanded } from '../../src/layout/index.js';
import { LandedData } from '../../src/query/index.js';
import { S3Store } from '../../src/sink/index.js';
import { freshS3Prefix } from '../contract/object-store-contract.js';
import { simulated } from '../query/helpers.js';
import { eventOf, kinesisRecord } from '../support/kinesis-events.js';
import { s3rverCliEnv, useStubbedS3rver } from '../support/s3rver.js';
import { useTempDir } from '../support/temp.js';
import { invokeLifecycle } from './lifecycle-invoke.js';

const tempDir = useTempDir();
const BUCKET = 'activity-lifecycle';
const s3rver = useStubbedS3rver([BUCKET]);

describe('the lifecycle bundle (compaction and erasure) on S3 (s3rver)', () => {
  it('erases a user and compacts the closed hours, writing one EMF line', async () => {
    // Prepare: three hours of events landed by the consumer handler on S3.
    const prefix = freshS3Prefix();
    const store = new S3Store({ bucket: BUCKET, prefix });
    await store.connect();
    const handler = createHandler({ store });
    const lines = simulated(900, { stepMs: 12_000, users: 10, seed: 'lifecycle' });
    for (let start = 0; start < lines.length; start += 100) {
      const records = lines
        .slice(start, start + 100)
        .map((line, i) => kinesisRecord(line, String(start + i + 1)));
      expect((await handler(eventOf(records))).batchItemFailures).toEqual([]);
    }
    const before = await listLanded(store, 'events');
    const data = await LandedData.open({ kind: 's3', bucket: BUCKET, prefix }, { store });
    const count = async (sql: string) => Number((await data.query(sql)).rows[0]?.[0]);
    const total = await count('SELECT count(*) FROM events');
    const theirs = await count(`SELECT count(*) FROM events WHERE user_id = 'user_2'`);
    expect(theirs).toBeGreaterThan(0);

    // Act: an erasure request with the hourly run, as the scheduled function gets them.
    const { result, stdout } = await invokeLifecycle(
      await tempDir(),
      { forget: ['user_2'], before: '2026-11-25T00:00:00Z' },
      {
        ...s3rverCliEnv(s3rver().endpoint),
        SINK_URL: `s3://${BUCKET}/${prefix}`,
        AWS_LAMBDA_FUNCTION_NAME: 'lifecycle',
      },
    );

    // Assess: the user gone, the rest compacted into one Parquet object per hour, and the figures.
    expect(result.forget).toMatchObject({ users: 1, removed: { events: theirs, errors: 0 } });
    const after = await listLanded(store, 'events');
    expect(result.compact.hours).toBe(new Set(before.map((o) => `${o.dt}/${o.hour}`)).size);
    expect(after.every((o) => isCompactedKey(o.key))).toBe(true);
    const reopened = await LandedData.open({ kind: 's3', bucket: BUCKET, prefix }, { store });
    const again = async (sql: string) => Number((await reopened.query(sql)).rows[0]?.[0]);
    expect(await again('SELECT count(*) FROM events')).toBe(total - theirs);
    expect(await again(`SELECT count(*) FROM events WHERE user_id = 'user_2'`)).toBe(0);
    const emf = JSON.parse(stdout.trim().split('\n').at(-1) as string);
    expect(emf).toMatchObject({
      FunctionName: 'lifecycle',
      CompactionRuns: 1,
      UsersForgotten: 1,
      RecordsErased: theirs,
    });
    expect(emf._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string }) => m.Name)).toContain(
      'HoursCompacted',
    );
    await Promise.all([data.close(), reopened.close(), store.close()]);
  });
});
