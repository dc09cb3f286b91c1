// Minifies the collector's browser files (the tracker, the demo and dashboard scripts and styles)
// into dist/collector/assets/, where the built collector serves them from.
import { mkdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const source = 'src/collector/assets';
const target = 'dist/collector/assets';
mkdirSync(target, { recursive: true });
for (const name of ['tracker.js', 'demo.js', 'dashboard.js', 'dashboard.css']) {
  await build({
    entryPoints: [`${source}/${name}`],
    outfile: `${target}/${name}`,
    minify: true,
    // Browsers of the last few years: optional chaining, ?? and async functions stay as they are.
    target: ['chrome100', 'firefox100', 'safari15'],
    legalComments: 'none',
    logLevel: 'warning',
  });
}
const tracker = readFileSync(`${target}/tracker.js`);
console.log(
  `${target}/tracker.js: ${(tracker.length / 1024).toFixed(1)} KiB minified, ${(gzipSync(tracker, { level: 9 }).length / 1024).toFixed(1)} KiB gzipped`,
);
