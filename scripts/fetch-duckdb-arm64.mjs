// Fetches DuckDB's native binding for linux-arm64 (the Lambda architecture) from npm, at the version of
// the installed @duckdb/node-bindings, into node_modules/, where `npm run build` ships it with the
// lifecycle function. npm installs only the binding of the machine it runs on; this adds arm64's.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const { version } = JSON.parse(readFileSync('node_modules/@duckdb/node-bindings/package.json', 'utf8'));
const name = '@duckdb/node-bindings-linux-arm64';
const work = mkdtempSync(path.join(tmpdir(), 'duckdb-arm64-'));
try {
  const file = execFileSync('npm', ['pack', `${name}@${version}`, '--silent', '--pack-destination', work], {
    encoding: 'utf8',
  }).trim();
  const target = path.join('node_modules', name);
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  execFileSync('tar', ['-xzf', path.join(work, file), '-C', target, '--strip-components=1']);
  console.log(`${target}: ${name}@${version}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
