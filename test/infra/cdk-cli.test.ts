import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './synth.js';

const CDK = path.join(ROOT, 'node_modules/.bin/cdk');

// A network namespace with no interfaces proves "offline" instead of assuming it; where the machine
// does not allow one (an unprivileged container), the CLI still runs, just not fenced off.
const offline = spawnSync('unshare', ['-rn', 'true']).status === 0;

const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

/** Runs the project's own CDK CLI as `npm run synth` does, with no AWS settings in the environment. */
function cdkSynth(...args: string[]) {
  const outdir = mkdtempSync(path.join(tmpdir(), 'activity-cli-'));
  outdirs.push(outdir);
  const command = [CDK, 'synth', '--quiet', '--no-notices', '--output', outdir, ...args];
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: outdir,
    CDK_DISABLE_VERSION_CHECK: '1',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  const result = offline
    ? spawnSync('unshare', ['-rn', ...command], { cwd: ROOT, env, encoding: 'utf8' })
    : spawnSync(command[0] as string, command.slice(1), { cwd: ROOT, env, encoding: 'utf8' });
  return { ...result, outdir };
}

describe('cdk synth (cdk.json → infra/app.ts)', () => {
  it('writes the cloud assembly with no network, account or credentials', () => {
    const result = cdkSynth();
    expect(result.status, result.stderr).toBe(0);
    const template = JSON.parse(
      readFileSync(path.join(result.outdir, 'ActivityPipeline.template.json'), 'utf8'),
    );
    expect(Object.values(template.Resources).map((r) => (r as { Type: string }).Type)).toEqual(
      expect.arrayContaining([
        'AWS::Kinesis::Stream',
        'AWS::Lambda::Function',
        'AWS::Lambda::EventSourceMapping',
        'AWS::S3::Bucket',
        'AWS::Glue::Table',
        'AWS::Athena::WorkGroup',
      ]),
    );
    const manifest = JSON.parse(readFileSync(path.join(result.outdir, 'manifest.json'), 'utf8'));
    expect(manifest.artifacts.ActivityPipeline.environment).toBe('aws://unknown-account/unknown-region');
    expect(existsSync(path.join(result.outdir, 'validation-report.json'))).toBe(true);
  });

  it('takes settings as -c key=value, and a bad one ends in one line naming it and exit code 1', () => {
    const result = cdkSynth('-c', 'batchSize=0');
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('error: batchSize must be an integer between 1 and 10000 (given 0)\n');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(path.join(result.outdir, 'ActivityPipeline.template.json'))).toBe(false);
  });
});
