import { CreateStreamCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonSummary, runCli } from '../support/cli.js';
import { useKinesalite } from '../support/kinesalite.js';
import { type RunningS3rver, readS3EventIds, s3rverCliEnv, startS3rver } from '../support/s3rver.js';
import { useTempDir } from '../support/temp.js';

const tempDir = useTempDir();
const kinesis = useKinesalite();
let s3: RunningS3rver;

beforeAll(async () => {
  s3 = await startS3rver(['landing']);
});
afterAll(async () => {
  await s3?.close();
});

/** The environment a user sets to point the CLI at these endpoints. */
function awsEnv(): NodeJS.ProcessEnv {
  return { ...s3rverCliEnv(s3.endpoint), AWS_ENDPOINT_URL_KINESIS: kinesis.endpoint };
}

describe('the AWS path on kinesalite and s3rver', () => {
  it('activity run --stream kinesis://s --sink s3://landing/p lands 20,000 unique events', async () => {
    await kinesis.client().send(new CreateStreamCommand({ StreamName: 's', ShardCount: 2 }));
    const result = await runCli(
      ['run', '--events', '20000', '--stream', 'kinesis://s', '--sink', 's3://landing/p', '--json'],
      {
        env: awsEnv(),
        cwd: await tempDir(),
      },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(jsonSummary(result)).toMatchObject({ produced: 20000, landed: 20000, errors: 0 });
    const ids = await readS3EventIds(s3.endpoint, 'landing', 'p');
    expect(ids).toHaveLength(20000);
    expect(new Set(ids).size).toBe(20000);
  });

  it('a missing Kinesis stream fails in one line that names it', async () => {
    const missing = await runCli(['run', '--events', '10', '--stream', 'kinesis://nope', '--sink', './d'], {
      env: awsEnv(),
      cwd: await tempDir(),
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toContain('nope');
  });
});
