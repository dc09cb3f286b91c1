import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { invokeLifecycle } from '../integration/lifecycle-invoke.js';
import { runCli } from '../support/cli.js';
import { createRadosgwBucket, radosgwCliEnv } from '../support/radosgw.js';
import { useTempDir } from '../support/temp.js';

const radosgw = inject('radosgw');
const tempDir = useTempDir();

describe('the lifecycle bundle on Ceph radosgw', () => {
  it('erases a user and compacts the landed hours in a real S3 server', async () => {
    // Prepare: 2,000 events of 20 users landed in radosgw by the consumer.
    const bucket = 'activity-lifecycle';
    await createRadosgwBucket(radosgw, bucket);
    const cwd = await tempDir();
    const env = radosgwCliEnv(radosgw);
    const sink = `s3://${bucket}/activity`;
    const cli = async (...args: string[]) => {
      const result = await runCli(args, { cwd, env });
      expect(result.code, result.stderr).toBe(0);
      return result.stdout;
    };
    const stream = path.join(cwd, 'stream');
    await cli('produce', '--events', '2000', '--users', '20', '--seed', 'lifecycle', '--stream', stream);
    await cli('consume', '--until-idle', '--stream', stream, '--sink', sink);
    const count = async (where: string) =>
      Number(
        (
          JSON.parse(
            await cli(
              'query',
              '--sink',
              sink,
              '--output',
              'json',
              `SELECT count(*) AS n FROM events ${where}`,
            ),
          ) as {
            n: number;
          }[]
        )[0]?.n,
      );
    const total = await count('');
    const theirs = await count(`WHERE user_id = 'user_3'`);
    expect(theirs).toBeGreaterThan(0);

    // Act: an erasure request, and compaction of every hour up to two hours from now.
    const { result } = await invokeLifecycle(
      await tempDir(),
      { forget: ['user_3'], before: new Date(Date.now() + 7_200_000).toISOString() },
      { ...env, SINK_URL: sink, AWS_LAMBDA_FUNCTION_NAME: 'lifecycle' },
    );

    // Assess: the user gone from the compacted hours; everyone else kept, once.
    expect(result.forget).toMatchObject({ users: 1, removed: { events: theirs } });
    expect(result.compact.hours).toBeGreaterThan(0);
    expect(await count('')).toBe(total - theirs);
    expect(await count(`WHERE user_id = 'user_3'`)).toBe(0);
  });
});
