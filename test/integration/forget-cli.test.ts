import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshS3Prefix } from '../contract/object-store-contract.js';
import { jsonSummary, runCli } from '../support/cli.js';
import { type RunningS3rver, s3rverCliEnv, startS3rver } from '../support/s3rver.js';
import { useTempDir } from '../support/temp.js';

const tempDir = useTempDir();
const BUCKET = 'activity-forget-cli';
let s3rver: RunningS3rver;

beforeAll(async () => {
  s3rver = await startS3rver([BUCKET]);
});
afterAll(async () => {
  await s3rver.close();
});

const sinks = [
  { kind: 'a directory', sink: () => './data', env: () => ({}) },
  {
    kind: 'S3 (s3rver)',
    sink: () => `s3://${BUCKET}/${freshS3Prefix()}`,
    env: () => s3rverCliEnv(s3rver.endpoint),
  },
];

describe.each(sinks)('activity forget from the command line, on $kind', (kind) => {
  it('erases a user, who stays erased when the stream is read again with consume --from', async () => {
    const cwd = await tempDir();
    const sink = kind.sink();
    const env = kind.env();
    const cli = async (...args: string[]) => {
      const result = await runCli(args, { cwd, env });
      expect(result.code, result.stderr).toBe(0);
      return result;
    };
    const countOf = async (user: string) => {
      const out = await cli(
        'query',
        '--sink',
        sink,
        '--output',
        'json',
        `SELECT count(*) AS n FROM events WHERE user_id = '${user}'`,
      );
      return Number((JSON.parse(out.stdout) as { n: number }[])[0]?.n);
    };
    // Prepare: 600 events of 20 users, landed.
    await cli('produce', '--events', '600', '--users', '20', '--seed', 'forget-cli', '--stream', './stream');
    await cli('consume', '--until-idle', '--stream', './stream', '--sink', sink);
    const before = await countOf('user_3');
    const others = await countOf('user_4');
    expect(before).toBeGreaterThan(0);

    // Act: a dry run, the erasure, a replay of the whole stream into the same sink, and a second run.
    const dry = jsonSummary(await cli('forget', '--user', 'user_3', '--sink', sink, '--dry-run', '--json'));
    expect(await countOf('user_3'), 'a dry run changes nothing').toBe(before);
    const receipt = jsonSummary(await cli('forget', '--user', 'user_3', '--sink', sink, '--json'));
    const replay = jsonSummary(
      await cli('consume', '--until-idle', '--stream', './stream', '--sink', sink, '--from', '1h', '--json'),
    );
    const again = jsonSummary(await cli('forget', '--user', 'user_3', '--sink', sink, '--json'));
    const text = await cli('forget', '--user', 'user_3', '--sink', sink);

    // Assess: gone, and still gone after the replay; everyone else kept.
    expect(dry).toMatchObject({ dry_run: true, removed: { events: before, errors: 0 }, added_to_list: 0 });
    expect(receipt).toMatchObject({
      dry_run: false,
      removed: { events: before, errors: 0 },
      added_to_list: 1,
    });
    expect(receipt.objects_rewritten as number).toBeGreaterThan(0);
    expect(typeof receipt.duration_ms).toBe('number');
    expect(replay).toMatchObject({ landed: 600 - before });
    expect(await countOf('user_3')).toBe(0);
    expect(await countOf('user_4')).toBe(others);
    expect(again).toMatchObject({
      removed: { events: 0, errors: 0 },
      objects_rewritten: 0,
      objects_deleted: 0,
    });
    expect(text.stdout).toMatch(/^activity forget: removed 0 events and 0 error records of 1 user: /);
  });
});

describe('activity forget refuses', () => {
  it('a run without a user, with a one-line error', async () => {
    const result = await runCli(['forget', '--sink', './data'], { cwd: await tempDir() });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('activity: give at least one user to forget: --user ID\n');
  });
});
