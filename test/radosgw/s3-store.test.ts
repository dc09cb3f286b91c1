import { afterAll, beforeAll, inject, vi } from 'vitest';
import { runS3StoreContract } from '../contract/object-store-contract.js';
import { runS3StoreCases } from '../contract/s3-store-cases.js';
import {
  CEPH_COMMANDS,
  CEPH_INSTALL,
  createRadosgwBucket,
  RADOSGW_ACCESS_KEY_ID,
  RADOSGW_SECRET_ACCESS_KEY,
  radosgwClient,
} from '../support/radosgw.js';
import { requireProgram } from '../support/requires.js';
import { stubS3Environment } from '../support/s3rver.js';

const radosgw = inject('radosgw');
const BUCKET = 'activity-contract';

/** The SDK's standard settings pointed at the gateway with its user's keys. */
function stubRadosgwEnvironment(): void {
  stubS3Environment(radosgw.endpoint);
  vi.stubEnv('AWS_REGION', radosgw.region);
  vi.stubEnv('AWS_ACCESS_KEY_ID', radosgw.accessKeyId);
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', radosgw.secretAccessKey);
}

requireProgram(CEPH_COMMANDS, CEPH_INSTALL).describe('the S3 store on Ceph radosgw', () => {
  beforeAll(async () => {
    await createRadosgwBucket(radosgw, BUCKET);
    stubRadosgwEnvironment();
  });
  afterAll(() => {
    vi.unstubAllEnvs();
  });

  runS3StoreContract('s3 (Ceph radosgw)', BUCKET);

  runS3StoreCases('Ceph radosgw', {
    bucket: BUCKET,
    client: () => radosgwClient(radosgw),
    accessKeyId: RADOSGW_ACCESS_KEY_ID,
    secretAccessKey: RADOSGW_SECRET_ACCESS_KEY,
    checksSignatures: true,
    restoreEnvironment: stubRadosgwEnvironment,
  });
});
