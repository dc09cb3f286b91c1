// Bundles the scheduled lifecycle function (compaction and erasure) for AWS Lambda (nodejs22.x, arm64):
// dist/lifecycle/index.mjs, with DuckDB left out of the bundle and shipped beside it in node_modules/:
// its JavaScript API, and the native binding for linux-arm64 when it is installed (see the README).
import { cpSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { LAMBDA_BUILD_OPTIONS } from './lambda-build-options.mjs';

const out = 'dist/lifecycle';
rmSync(out, { recursive: true, force: true });
await build({
  entryPoints: ['src/compact/lambda.ts'],
  outfile: `${out}/index.mjs`,
  ...LAMBDA_BUILD_OPTIONS,
  external: ['@duckdb/node-api'],
});
const modules = path.join(out, 'node_modules');
mkdirSync(modules, { recursive: true });
for (const name of ['@duckdb/node-api', '@duckdb/node-bindings', 'detect-libc']) {
  cpSync(path.join('node_modules', name), path.join(modules, name), { recursive: true, dereference: true });
}
const arm64 = path.join('node_modules', '@duckdb/node-bindings-linux-arm64');
if (existsSync(arm64)) {
  cpSync(arm64, path.join(modules, '@duckdb/node-bindings-linux-arm64'), {
    recursive: true,
    dereference: true,
  });
  const mib = statSync(path.join(arm64, 'libduckdb.so')).size / 1024 / 1024;
  console.log(`${out}: index.mjs and DuckDB for linux-arm64 (${mib.toFixed(0)} MiB)`);
} else {
  console.log(
    `${out}: index.mjs without DuckDB's linux-arm64 binding; before deploying run: npm run lifecycle:arm64`,
  );
}
