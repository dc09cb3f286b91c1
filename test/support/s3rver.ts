import crypto from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, vi } from 'vitest';

/** The credentials s3rver accepts: it checks the access key id against its one dummy account. */
export const S3RVER_ACCESS_KEY_ID = 'S3RVER';
export const S3RVER_SECRET_ACCESS_KEY = 'S3RVER';

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: Server;
}
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  directory: string;
  silent: boolean;
  configureBuckets: { name: string }[];
}) => S3rverInstance;

export interface RunningS3rver {
  /** `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL_S3`. */
  endpoint: string;
  port: number;
  /** Where it keeps its objects. */
  directory: string;
  /**
   * Stops the server (dropping open connections) and removes its directory unless `keepObjects`
   * (to start it again on the same port and directory: a store that goes away and comes back);
   * safe to call twice.
   */
  close(options?: { keepObjects?: boolean }): Promise<void>;
}

const PATCHED = Symbol.for('activity-pipeline.s3rver-des-patch');

/**
 * s3rver encrypts ListObjectsV2 continuation tokens with single DES (`createCipheriv('des', …)`),
 * which OpenSSL 3 (Node ≥ 17) only offers in its legacy provider: without
 * `--openssl-legacy-provider` every truncated listing (more than 1,000 keys) fails with a 500
 * "digital envelope routines::unsupported". Rather than start Node with a flag, map exactly that
 * call to triple DES with the key repeated three times (K|K|K), which is by construction the same
 * cipher as single DES (EDE with equal keys is one DES encryption) and is in the default provider.
 * Only calls naming single DES, which would otherwise throw, are touched. Test-only.
 */
function allowSingleDesForS3rver(): void {
  const target = crypto as unknown as Record<symbol, boolean> & {
    createCipheriv: typeof crypto.createCipheriv;
    createDecipheriv: typeof crypto.createDecipheriv;
  };
  if (target[PATCHED]) return;
  const isSingleDes = (algorithm: string, key: unknown): boolean =>
    ['des', 'des-cbc'].includes(algorithm.toLowerCase()) && Buffer.isBuffer(key) && key.length === 8;
  const tripled = (key: Buffer): Buffer => Buffer.concat([key, key, key]);
  const { createCipheriv, createDecipheriv } = crypto;
  target.createCipheriv = ((algorithm: string, key: Buffer, iv: Buffer, options?: never) =>
    isSingleDes(algorithm, key)
      ? createCipheriv('des-ede3-cbc', tripled(key), iv, options)
      : createCipheriv(algorithm, key, iv, options)) as typeof crypto.createCipheriv;
  target.createDecipheriv = ((algorithm: string, key: Buffer, iv: Buffer, options?: never) =>
    isSingleDes(algorithm, key)
      ? createDecipheriv('des-ede3-cbc', tripled(key), iv, options)
      : createDecipheriv(algorithm, key, iv, options)) as typeof crypto.createDecipheriv;
  target[PATCHED] = true;
}

/**
 * Starts s3rver in this process on 127.0.0.1 and a free port (or `at.port`), in a fresh directory
 * (or `at.directory`), with `buckets`.
 */
export async function startS3rver(
  buckets: readonly string[],
  at: { port?: number; directory?: string } = {},
): Promise<RunningS3rver> {
  allowSingleDesForS3rver();
  const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;
  const directory = at.directory ?? (await mkdtemp(path.join(tmpdir(), 'activity-s3rver-')));
  const server = new S3rver({
    address: '127.0.0.1',
    port: at.port ?? 0,
    directory,
    silent: true,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const { port } = await server.run();
  let closed = false;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    directory,
    async close(options = {}) {
      if (closed) return;
      closed = true;
      const stopped = server.close();
      server.httpServer?.closeAllConnections();
      await stopped;
      if (!options.keepObjects) await rm(directory, { recursive: true, force: true });
    },
  };
}

/** The environment a user sets to point the `activity` command at s3rver (or a proxy before it). */
export function s3rverCliEnv(endpoint: string): NodeJS.ProcessEnv {
  return {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: S3RVER_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: S3RVER_SECRET_ACCESS_KEY,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_S3: endpoint,
  };
}

/**
 * Points the AWS SDK at `endpoint` with s3rver's credentials, and away from anything on this
 * machine (profiles, config files, the instance metadata service). Undo with `vi.unstubAllEnvs()`.
 */
export function stubS3Environment(endpoint: string): void {
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', S3RVER_ACCESS_KEY_ID);
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', S3RVER_SECRET_ACCESS_KEY);
  vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
  vi.stubEnv('AWS_ENDPOINT_URL_S3', endpoint);
  vi.stubEnv('AWS_CONFIG_FILE', path.join(tmpdir(), 'activity-no-aws-config'));
  vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', path.join(tmpdir(), 'activity-no-aws-credentials'));
  for (const name of [
    'AWS_PROFILE',
    'AWS_SESSION_TOKEN',
    'AWS_ENDPOINT_URL',
    'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS',
    'AWS_MAX_ATTEMPTS',
    'AWS_REQUEST_CHECKSUM_CALCULATION',
    'AWS_RESPONSE_CHECKSUM_VALIDATION',
  ]) {
    vi.stubEnv(name, undefined);
  }
}

/** The event_id of every event line under s3://BUCKET/PREFIX/events/ on s3rver, read with the SDK directly. */
export async function readS3EventIds(endpoint: string, bucket: string, prefix: string): Promise<string[]> {
  const client = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: S3RVER_ACCESS_KEY_ID, secretAccessKey: S3RVER_SECRET_ACCESS_KEY },
  });
  const ids: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/events/`, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) {
      const body = await client.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key }));
      const text = gunzipSync(
        await (body.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
      ).toString();
      for (const line of text.split('\n')) if (line) ids.push(JSON.parse(line).event_id);
    }
    token = page.NextContinuationToken;
  } while (token);
  client.destroy();
  return ids;
}

/**
 * s3rver with `buckets` for the tests of one file, with the AWS SDK's environment pointed at it:
 * started before the first test, stopped (and the environment restored) after the last.
 */
export function useStubbedS3rver(buckets: readonly string[]): () => RunningS3rver {
  let running: RunningS3rver | undefined;
  beforeAll(async () => {
    running = await startS3rver(buckets);
    stubS3Environment(running.endpoint);
  });
  afterAll(async () => {
    await running?.close();
    vi.unstubAllEnvs();
  });
  return () => {
    if (running === undefined) throw new Error('s3rver is not running: use it inside a test');
    return running;
  };
}
