// Bundles the Lambda functions for AWS Lambda (nodejs22.x), each into one self-contained file:
// - the consumer: dist/lambda/index.mjs;
// - the HTTP collector behind API Gateway: dist/collector-lambda/index.mjs, with the browser files it
//   serves beside it in assets/ (minified by build-tracker.mjs, which runs first).
import { cpSync, readFileSync, rmSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { LAMBDA_BUILD_OPTIONS } from './lambda-build-options.mjs';

async function bundle(entryPoint, outfile) {
  await build({
    entryPoints: [entryPoint],
    outfile,
    ...LAMBDA_BUILD_OPTIONS,
  });
  const size = statSync(outfile).size;
  const gzipped = gzipSync(readFileSync(outfile)).length;
  console.log(`${outfile}: ${(size / 1024).toFixed(0)} KiB (${(gzipped / 1024).toFixed(0)} KiB gzipped)`);
}

await bundle('src/consumer/lambda.ts', 'dist/lambda/index.mjs');

const collector = 'dist/collector-lambda';
rmSync(collector, { recursive: true, force: true });
await bundle('src/collector/lambda/handler.ts', `${collector}/index.mjs`);
cpSync('dist/collector/assets', `${collector}/assets`, { recursive: true });
