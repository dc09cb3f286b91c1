import { S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { StoreError } from '../../src/core/errors.js';
import { openStore, S3Store } from '../../src/sink/index.js';
import { toStoreError } from '../../src/sink/s3/index.js';
import {
  type RunningS3rver,
  S3RVER_ACCESS_KEY_ID,
  S3RVER_SECRET_ACCESS_KEY,
  startS3rver,
  stubS3Environment,
} from '../support/s3rver.js';
import { runS3StoreContract } from './object-store-contract.js';
import { runS3StoreCases } from './s3-store-cases.js';

const BUCKET = 'activity-test';
const ndjson = { contentType: 'application/x-ndjson', contentEncoding: 'gzip' };

let s3rver: RunningS3rver;

beforeAll(async () => {
  s3rver = await startS3rver([BUCKET]);
  stubS3Environment(s3rver.endpoint);
});
afterAll(async () => {
  await s3rver.close();
  vi.unstubAllEnvs();
});

runS3StoreContract('s3 (s3rver)', BUCKET);
runS3StoreCases('s3rver', {
  bucket: BUCKET,
  client: () => s3Client(s3rver.endpoint, []),
  accessKeyId: S3RVER_ACCESS_KEY_ID,
  secretAccessKey: S3RVER_SECRET_ACCESS_KEY,
  checksSignatures: false,
  restoreEnvironment: () => stubS3Environment(s3rver.endpoint),
});

describe('S3Store against s3rver', () => {
  const opened: S3Store[] = [];
  const clients: S3Client[] = [];
  function track(store: S3Store): S3Store {
    opened.push(store);
    return store;
  }
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
    for (const client of clients.splice(0)) client.destroy();
  });

  it('names its location as an s3:// URL', () => {
    expect(track(new S3Store({ bucket: BUCKET, prefix: 'a/b' })).url).toBe(`s3://${BUCKET}/a/b`);
    expect(track(new S3Store({ bucket: BUCKET, prefix: '' })).url).toBe(`s3://${BUCKET}/`);
  });

  it('openStore returns an S3Store for an s3 location', async () => {
    const store = await openStore({ kind: 's3', bucket: BUCKET, prefix: 'x' });
    expect(store).toBeInstanceOf(S3Store);
    expect(store.url).toBe(`s3://${BUCKET}/x`);
    return store.close();
  });

  it('works at the root of the bucket with an empty prefix', async () => {
    await startS3rver(['root-bucket']).then(async (server) => {
      try {
        const store = track(
          new S3Store(
            { bucket: 'root-bucket', prefix: '' },
            { client: s3Client(server.endpoint, clients), maxAttempts: 1 },
          ),
        );
        await store.connect();
        await store.put('events/a.ndjson.gz', Buffer.from('a'), ndjson);
        await store.put('_hidden/b', Buffer.from('b'), ndjson);
        await store.put('.meta', Buffer.from('c'), ndjson);
        expect(Buffer.from(await store.get('events/a.ndjson.gz')).toString()).toBe('a');
        const all: { key: string; size: number }[] = [];
        for await (const object of store.list('')) all.push(object);
        expect(all).toEqual([{ key: 'events/a.ndjson.gz', size: 1 }]);
      } finally {
        await server.close();
      }
    });
  });

  it('gives a retriable endpoint_unreachable error once the server is gone and retries are spent', async () => {
    const server = await startS3rver(['gone']);
    const store = track(
      new S3Store({ bucket: 'gone', prefix: 'p' }, { client: s3Client(server.endpoint, clients, 2) }),
    );
    await store.connect();
    await store.put('before', Buffer.from('x'), ndjson);
    await server.close();
    const error = await store.put('after', Buffer.from('x'), ndjson).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ code: 'endpoint_unreachable', retriable: true });
    expect(
      (error as StoreError & { cause: { $metadata?: { attempts?: number } } }).cause.$metadata?.attempts,
    ).toBe(2);
    expect((error as Error).message).toMatch(/^cannot reach S3 endpoint .*127\.0\.0\.1.* after 2 attempts/);
  });

  it('fails at connect with credentials_missing when no credentials are configured', async () => {
    for (const name of [
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_WEB_IDENTITY_TOKEN_FILE',
      'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
      'AWS_CONTAINER_CREDENTIALS_FULL_URI',
    ]) {
      vi.stubEnv(name, undefined);
    }
    try {
      const store = track(new S3Store({ bucket: BUCKET, prefix: 'p' }, { maxAttempts: 1 }));
      await expect(store.connect()).rejects.toMatchObject({
        code: 'credentials_missing',
        retriable: false,
        message: 'no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
      });
    } finally {
      stubS3Environment(s3rver.endpoint);
    }
  });

  it('fails at connect with region_missing when no region is configured', async () => {
    vi.stubEnv('AWS_REGION', undefined);
    vi.stubEnv('AWS_DEFAULT_REGION', undefined);
    try {
      const store = track(new S3Store({ bucket: BUCKET, prefix: 'p' }, { maxAttempts: 1 }));
      await expect(store.connect()).rejects.toMatchObject({ code: 'region_missing', retriable: false });
    } finally {
      stubS3Environment(s3rver.endpoint);
    }
  });

  it('refuses a KMS key without aws:kms encryption', () => {
    expect(() => new S3Store({ bucket: BUCKET, prefix: '' }, { kmsKeyId: 'k' })).toThrow(/aws:kms/);
  });
});

/** A client for s3rver at `endpoint` set up as the store would set it up for an S3-compatible server. */
function s3Client(endpoint: string, clients: S3Client[], maxAttempts = 1): S3Client {
  const client = new S3Client({
    endpoint,
    forcePathStyle: true,
    maxAttempts,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: new NodeHttpHandler(),
  });
  clients.push(client);
  return client;
}

/**
 * Errors s3rver cannot produce (it has no regions, policies or throttling), as the SDK would
 * deserialize them from S3's responses, through the same mapping the store uses.
 */
describe('S3 error messages', () => {
  const context = { operation: 'put', bucket: 'my-bucket', key: 'data/events/a.ndjson.gz' } as const;
  function serviceError(
    name: string,
    status: number,
    extra: Record<string, unknown> = {},
  ): S3ServiceException {
    const error = new S3ServiceException({
      name,
      $fault: status >= 500 ? 'server' : 'client',
      $metadata: { httpStatusCode: status, attempts: status >= 500 || status === 429 ? 5 : 1 },
      message: `${name} from S3`,
    });
    return Object.assign(error, extra);
  }

  it.each([
    [
      serviceError('PermanentRedirect', 301, {
        $response: { headers: { 'x-amz-bucket-region': 'eu-west-1' } },
      }),
      'wrong_region',
      false,
      'bucket my-bucket is in another region (eu-west-1): set AWS_REGION=eu-west-1',
    ],
    [
      serviceError('AuthorizationHeaderMalformed', 400, { Region: 'ap-south-1' }),
      'wrong_region',
      false,
      'bucket my-bucket is in another region (ap-south-1): set AWS_REGION=ap-south-1',
    ],
    [
      serviceError('AccessDenied', 403),
      'access_denied',
      false,
      'access denied to s3://my-bucket/data/events/a.ndjson.gz (put needs s3:PutObject): the credentials need s3:PutObject, s3:GetObject and s3:ListBucket on it',
    ],
    [serviceError('ExpiredToken', 400), 'credentials_expired', false, /^the AWS credentials have expired/],
    [serviceError('SignatureDoesNotMatch', 403), 'credentials_invalid', false, /check AWS_PROFILE/],
    [serviceError('NoSuchBucket', 404), 'bucket_not_found', false, /^bucket my-bucket does not exist/],
    [serviceError('SlowDown', 503), 'throttled', true, /after 5 attempts/],
    [serviceError('InternalError', 500), 'server_error', true, /\(500 InternalError\) after 5 attempts/],
    [serviceError('InvalidArgument', 400), 's3_invalid_argument', false, /^could not put s3:\/\/my-bucket\//],
  ])('maps %s to %s', (error, code, retriable, message) => {
    const mapped = toStoreError(error, context);
    expect(mapped).toMatchObject({ code, retriable, stage: 'sink' });
    expect(mapped.message).toMatch(message);
    expect(mapped.message).not.toContain('\n');
    expect(mapped.cause).toBe(error);
  });

  it('names the configured endpoint without any credentials in its URL', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:9000'), { code: 'ECONNREFUSED' });
    const mapped = toStoreError(refused, { ...context, endpoint: 'http://user:secret@minio.local:9000/' });
    expect(mapped).toMatchObject({ code: 'endpoint_unreachable', retriable: true });
    expect(mapped.message).toBe(
      'cannot reach S3 endpoint http://minio.local:9000 (ECONNREFUSED): check that the server is running and AWS_ENDPOINT_URL_S3',
    );
  });
});
