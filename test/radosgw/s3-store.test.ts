import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { StoreError } from '../../src/core/errors.js';
import { S3Store } from '../../src/sink/index.js';
import { freshS3Prefix as freshPrefix, runS3StoreContract } from '../contract/object-store-contract.js';
import { createRadosgwBucket, radosgwClient } from '../support/radosgw.js';
import { stubS3Environment } from '../support/s3rver.js';

const radosgw = inject('radosgw');
const BUCKET = 'activity-contract';
const ndjson = { contentType: 'application/x-ndjson', contentEncoding: 'gzip' };

/** The SDK's standard settings pointed at the gateway with its user's keys. */
function stubRadosgwEnvironment(): void {
  stubS3Environment(radosgw.endpoint);
  vi.stubEnv('AWS_REGION', radosgw.region);
  vi.stubEnv('AWS_ACCESS_KEY_ID', radosgw.accessKeyId);
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', radosgw.secretAccessKey);
}

beforeAll(async () => {
  await createRadosgwBucket(radosgw, BUCKET);
  stubRadosgwEnvironment();
});
afterAll(() => {
  vi.unstubAllEnvs();
});

runS3StoreContract('s3 (Ceph radosgw)', BUCKET);

describe('S3Store against Ceph radosgw', () => {
  const opened: S3Store[] = [];
  function track(store: S3Store): S3Store {
    opened.push(store);
    return store;
  }
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
    stubRadosgwEnvironment();
  });

  it('lists more than 1,000 objects by following continuation tokens', async () => {
    const store = track(new S3Store({ bucket: BUCKET, prefix: freshPrefix() }));
    await store.connect();
    const keys = Array.from({ length: 1_205 }, (_, i) => `events/p/obj-${String(i).padStart(5, '0')}`);
    for (let i = 0; i < keys.length; i += 25) {
      await Promise.all(keys.slice(i, i + 25).map((key) => store.put(key, Buffer.from(key), ndjson)));
    }
    const listed: string[] = [];
    for await (const object of store.list('events')) {
      expect(object.size).toBe(Buffer.byteLength(object.key));
      listed.push(object.key);
    }
    expect(listed.sort()).toEqual(keys);
  });

  it('joins keys under the prefix and sets the content type and encoding', async () => {
    const prefix = freshPrefix();
    const store = track(new S3Store({ bucket: BUCKET, prefix }));
    await store.put('events/typed.ndjson.gz', Buffer.from('x'), ndjson);
    await store.put('events/plain.json', Buffer.from('{}'), { contentType: 'application/json' });
    const client = radosgwClient(radosgw);
    try {
      const typed = await client.send(
        new HeadObjectCommand({ Bucket: BUCKET, Key: `${prefix}/events/typed.ndjson.gz` }),
      );
      expect(typed).toMatchObject({
        ContentLength: 1,
        ContentType: 'application/x-ndjson',
        ContentEncoding: 'gzip',
      });
      const plain = await client.send(
        new HeadObjectCommand({ Bucket: BUCKET, Key: `${prefix}/events/plain.json` }),
      );
      expect(plain.ContentType).toBe('application/json');
      expect(plain.ContentEncoding).toBeUndefined();
    } finally {
      client.destroy();
    }
  });

  it('fails at connect and on put with bucket_not_found for a missing bucket', async () => {
    const store = track(new S3Store({ bucket: 'no-such-bucket', prefix: 'p' }));
    const error = await store.connect().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ code: 'bucket_not_found', retriable: false, stage: 'sink' });
    expect((error as Error).message).toBe('bucket no-such-bucket does not exist: create it or check --sink');
    await expect(store.put('a', Buffer.from('x'), ndjson)).rejects.toMatchObject({
      code: 'bucket_not_found',
      retriable: false,
    });
  });

  it.each([
    ['an access key it does not know', 'AKIANOTKNOWNHERE0000', radosgw.secretAccessKey],
    ['a wrong secret for a known access key', radosgw.accessKeyId, 'not-the-real-secret-value'],
  ])('reports %s as credentials_invalid, naming no secret', async (_, accessKeyId, secretAccessKey) => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', secretAccessKey);
    const store = track(new S3Store({ bucket: BUCKET, prefix: 'p' }));
    const error = await store.put('a', Buffer.from('x'), ndjson).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'credentials_invalid', retriable: false });
    expect((error as Error).message).toContain(`s3://${BUCKET}/p/a`);
    expect((error as Error).message).not.toContain(secretAccessKey);
  });
});
