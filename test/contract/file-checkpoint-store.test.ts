import path from 'node:path';
import { FileCheckpointStore } from '../../src/stream/checkpoints/file-checkpoint-store.js';
import { useTempDir } from '../support/temp.js';
import { runCheckpointStoreContract } from './checkpoint-store-contract.js';

const tempDir = useTempDir();

runCheckpointStoreContract('file (beside Kinesis)', async () => {
  const sandbox = await tempDir();
  const where = path.join(sandbox, 'checkpoints');
  return {
    root: where,
    sandbox,
    shardIds: ['shardId-000000000000', 'shardId-000000000001'],
    // Kinesis sequence numbers: 56 digits.
    sequenceNumber: (n) => `49590338271490256608559692538361571095921575989136${String(n).padStart(6, '0')}`,
    open: async () => new FileCheckpointStore(where),
    inThread: {
      module: new URL('../../dist/stream/checkpoints/file-checkpoint-store.js', import.meta.url),
      exportName: 'FileCheckpointStore',
      where,
    },
    cleanup: async () => undefined,
  };
});
