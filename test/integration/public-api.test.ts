import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);

/**
 * Runs `body` in a fresh Node.js process (the library as `npm run build` wrote it, so no test runner
 * has loaded anything yet) and returns the AWS SDK packages loaded after each step it marks. The SDK
 * ships CommonJS only, so whatever loads it, through `import` or `require`, lands in `require.cache`.
 */
async function sdkPackagesAfter(body: string): Promise<Record<string, string[]>> {
  const script = `
    import { createRequire } from 'node:module';
    const require = createRequire(${JSON.stringify(`${root}/`)});
    const seen = {};
    const mark = (step) => {
      seen[step] = [...new Set(Object.keys(require.cache)
        .map((file) => /node_modules\\/(@aws-sdk\\/[^/]+)\\//.exec(file)?.[1])
        .filter((name) => name !== undefined))].sort();
    };
    ${body}
    process.stdout.write(JSON.stringify(seen));
  `;
  const env = {
    ...process.env,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: root, env });
  return JSON.parse(stdout) as Record<string, string[]>;
}

describe('the public API', () => {
  it('loads no AWS SDK on import; openStore and openStream load it for s3:// and kinesis:// only', async () => {
    const seen = await sdkPackagesAfter(`
      const api = await import('./dist/index.js');
      mark('import');
      await api.openStore(api.parseSinkUrl('./data'));
      await api.openStream(api.parseStreamUrl('./.activity/stream'));
      mark('local');
      await api.openStore(api.parseSinkUrl('s3://bucket/prefix'));
      mark('s3');
      await api.openStream(api.parseStreamUrl('kinesis://clicks'));
      mark('kinesis');
    `);
    expect(seen.import, 'importing dist/index.js loaded the AWS SDK').toEqual([]);
    expect(seen.local, 'a directory sink or an embedded stream loaded the AWS SDK').toEqual([]);
    expect(seen.s3, 'an s3:// sink did not load the S3 client').toContain('@aws-sdk/client-s3');
    expect(seen.s3).not.toContain('@aws-sdk/client-kinesis');
    expect(seen.kinesis, 'a kinesis:// stream did not load the Kinesis client').toContain(
      '@aws-sdk/client-kinesis',
    );
  });

  it('exports the AWS adapters as values from activity-pipeline/aws', async () => {
    const seen = await sdkPackagesAfter(`
      const aws = await import('activity-pipeline/aws');
      if (typeof aws.S3Store !== 'function' || typeof aws.KinesisStream !== 'function') {
        throw new Error('activity-pipeline/aws lacks S3Store or KinesisStream');
      }
      mark('aws');
    `);
    expect(seen.aws).toEqual(expect.arrayContaining(['@aws-sdk/client-kinesis', '@aws-sdk/client-s3']));
  });
});
