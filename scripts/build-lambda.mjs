// Bundles the consumer into one self-contained file for AWS Lambda (nodejs22.x): dist/lambda/index.mjs.
import { readFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const outfile = 'dist/lambda/index.mjs';
await build({
  entryPoints: ['src/consumer/lambda.ts'],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  minify: true,
  sourcemap: 'linked',
  legalComments: 'none',
  // Some bundled CommonJS dependencies call require(); give the ES module one.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
const size = statSync(outfile).size;
const gzipped = gzipSync(readFileSync(outfile)).length;
console.log(`${outfile}: ${(size / 1024).toFixed(0)} KiB (${(gzipped / 1024).toFixed(0)} KiB gzipped)`);
