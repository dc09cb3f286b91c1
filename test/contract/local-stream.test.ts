import path from 'node:path';
import { openLocalStream } from '../../src/stream/local/index.js';
import { useTempDir } from '../support/temp.js';
import { runStreamContract } from './stream-contract.js';

const tempDir = useTempDir();

runStreamContract('local (embedded log)', { recordCount: true }, async () => {
  // Three shards: hash-key ranges that do not split evenly in binary.
  const stream = openLocalStream(path.join(await tempDir(), 'stream'), { shards: 3 });
  await stream.connect();
  return { writer: stream, reader: stream, admin: stream, shardCount: 3, cleanup: () => stream.close() };
});
