import { execFile } from 'node:child_process';
import { cp, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'vitest';
import { ROOT } from '../infra/synth.js';

/**
 * Runs the lifecycle bundle as deployed (`dist/lifecycle/`, DuckDB beside it) from `folder`, with only
 * this machine's DuckDB binding added, invoking its handler with `event` in a fresh process that has
 * only `env` (and PATH) set. Asynchronously, so an S3 server in this process (s3rver) can answer.
 */
export async function invokeLifecycle(folder: string, event: unknown, env: NodeJS.ProcessEnv) {
  await cp(path.join(ROOT, 'dist/lifecycle'), folder, { recursive: true });
  const binding = `@duckdb/node-bindings-${process.platform}-${process.arch}`;
  await mkdir(path.join(folder, 'node_modules/@duckdb'), { recursive: true });
  await symlink(path.join(ROOT, 'node_modules', binding), path.join(folder, 'node_modules', binding)).catch(
    () => undefined,
  );
  await writeFile(path.join(folder, 'event.json'), JSON.stringify(event));
  const script = `const { handler } = await import('./index.mjs');
    const { readFileSync, writeFileSync } = await import('node:fs');
    writeFileSync('result.json', JSON.stringify(await handler(JSON.parse(readFileSync('event.json', 'utf8')))));`;
  const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', script],
      { cwd: folder, env: { PATH: process.env.PATH ?? '', HOME: folder, ...env }, encoding: 'utf8' },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }),
    );
  });
  expect(run.code, run.stderr).toBe(0);
  return { result: JSON.parse(await readFile(path.join(folder, 'result.json'), 'utf8')), stdout: run.stdout };
}
