import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jsonSummary, runCli, startCli } from '../support/cli.js';
import { type RunningS3rver, readS3EventIds, s3rverCliEnv, startS3rver } from '../support/s3rver.js';
import { useTempDir } from '../support/temp.js';
import { waitFor } from '../support/wait.js';

const tempDir = useTempDir();
let s3: RunningS3rver | undefined;

afterAll(async () => {
  await s3?.close();
});

/** Files s3rver holds under the bucket's prefix: landed objects (and their metadata). */
async function storedFiles(directory: string): Promise<number> {
  try {
    return (await readdir(path.join(directory, 'landing'), { recursive: true })).length;
  } catch {
    return 0;
  }
}

describe('the S3 store going away while the consumer runs', () => {
  it('waits with backoff and lands every event exactly once when the store returns', async () => {
    // Prepare: 5,000 events in the embedded log, s3rver up.
    s3 = await startS3rver(['landing']);
    const { port, directory } = s3;
    const cwd = await tempDir();
    const env = s3rverCliEnv(s3.endpoint);
    const produced = await runCli(['produce', '--events', '5000', '--seed', 'outage', '--json'], {
      cwd,
      env,
    });
    expect(produced.code, produced.stderr).toBe(0);

    // Act: consume in small batches; once objects have started landing, stop the store for 4 s.
    const consumer = startCli(
      [
        'consume',
        '--until-idle',
        '--batch-size',
        '100',
        '--batch-window',
        '0',
        '--sink',
        's3://landing/p',
        '--json',
      ],
      { cwd, env },
    );
    let stderr = '';
    consumer.child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    let exited = false;
    void consumer.done.then(() => {
      exited = true;
    });
    await waitFor(
      'the consumer to land its first object',
      async () => exited || (await storedFiles(directory)) > 0,
      {
        intervalMs: 10,
      },
    );
    await s3.close({ keepObjects: true });
    // The store stays away until the consumer has failed to land a batch twice (so it waits with
    // backoff), which will come: it cannot finish while the store is gone.
    await waitFor(
      'the consumer to fail twice against the stopped store',
      () => exited || (stderr.match(/could not land batch/g) ?? []).length >= 2,
      { state: () => stderr.slice(-500) },
    );
    s3 = await startS3rver(['landing'], { port, directory });
    const result = await consumer.done;

    // Assess: the outage was noticed and retried, and every event landed once.
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/could not land batch .* it will be retried/);
    expect(jsonSummary(result)).toMatchObject({ landed: 5000, errors: 0 });
    const ids = await readS3EventIds(s3.endpoint, 'landing', 'p');
    expect(ids).toHaveLength(5000);
    expect(new Set(ids).size).toBe(5000);
  });
});
