import { spawnSync } from 'node:child_process';
import { copyFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The consumer as deployed: `npm run build` writes it (`npm test` builds first). */
export const LAMBDA_BUNDLE = path.join(root, 'dist/lambda/index.mjs');

/**
 * Copies the bundle alone into `folder` (nothing else beside it) and invokes its handler with `event`
 * in a fresh Node.js process with only `env` (and PATH) set.
 */
export async function invokeBundleAlone(folder: string, event: unknown, env: Record<string, string>) {
  await copyFile(LAMBDA_BUNDLE, path.join(folder, 'index.mjs'));
  const script = `const { handler } = await import('./index.mjs');
    const out = await handler(JSON.parse(process.env.EVENT)).catch((e) => ({ thrown: e.message }));
    process.stdout.write(JSON.stringify(out));`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: folder,
    env: { PATH: process.env.PATH ?? '', EVENT: JSON.stringify(event), ...env },
    encoding: 'utf8',
  });
  return {
    folder,
    files: await readdir(folder),
    status: result.status,
    stderr: result.stderr,
    output: JSON.parse(result.stdout || '{}'),
  };
}
