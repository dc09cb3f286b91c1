import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DirectoryStore } from '../../src/sink/index.js';
import { runObjectStoreContract } from './object-store-contract.js';

runObjectStoreContract('directory', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'activity-store-'));
  return {
    store: new DirectoryStore(path.join(dir, 'sink')),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});
