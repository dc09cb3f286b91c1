import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { ConfigError } from '../../core/errors.js';
import type { ObjectInfo, ObjectStore, PutObjectOptions } from '../../core/ports.js';
import { assertSafeKey, isHiddenName } from '../../layout/index.js';
import { type S3ErrorContext, type S3Operation, toStoreError } from './s3-errors.js';

/** Attempts per S3 call (the first try and its retries) unless `AWS_MAX_ATTEMPTS` or an option says. */
export const DEFAULT_S3_MAX_ATTEMPTS = 5;

/**
 * How long one S3 request may take: to connect, with no byte moving, and in all. A store that accepts
 * connections and never answers fails a request in seconds (and the SDK tries again), instead of
 * holding the shard's batch for minutes.
 */
export const S3_TIMEOUTS = { connectMs: 5_000, idleMs: 10_000, requestMs: 60_000 };

/** The bucket and prefix objects land under: a parsed `s3://BUCKET/PREFIX` sink. */
export interface S3StoreLocation {
  bucket: string;
  /** `/`-separated, without leading or trailing `/`; empty for the bucket's root. */
  prefix: string;
}

export interface S3StoreOptions {
  /**
   * A client to use instead of one built from the standard AWS settings. The store does not own it:
   * `close()` leaves it open for its owner to destroy.
   */
  client?: S3Client;
  /** Server-side encryption for puts; without it the bucket's default encryption applies. */
  serverSideEncryption?: 'AES256' | 'aws:kms';
  /** The KMS key for `aws:kms`; without it S3 uses the account's `aws/s3` key. */
  kmsKeyId?: string;
  /** Attempts per call with the SDK's standard retry strategy (default 5, or `AWS_MAX_ATTEMPTS`). */
  maxAttempts?: number;
}

/** The S3-compatible endpoint configured in the environment, as the SDK reads it; else undefined. */
export function configuredS3Endpoint(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.toLowerCase() === 'true') return undefined;
  return env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
}

/**
 * An S3 client from the standard AWS settings: the SDK itself resolves the region, credentials
 * (`AWS_PROFILE`, `AWS_ACCESS_KEY_ID`…, SSO, instance roles) and endpoint (`AWS_ENDPOINT_URL_S3`,
 * `AWS_ENDPOINT_URL`). With an endpoint configured (an S3-compatible server) it uses path-style
 * addressing, and unless `AWS_REQUEST_CHECKSUM_CALCULATION` / `AWS_RESPONSE_CHECKSUM_VALIDATION` say
 * otherwise, computes checksums only where S3 requires them, as many S3-compatible servers reject or
 * mangle the SDK's default flexible checksums. Retries use the SDK's standard strategy: throttling
 * (429, `SlowDown`…), 500/502/503/504, timeouts and connection errors, with `maxAttempts` attempts.
 */
export function createS3Client(
  options: { maxAttempts?: number } = {},
  env: NodeJS.ProcessEnv = process.env,
): S3Client {
  const endpoint = configuredS3Endpoint(env);
  const config: S3ClientConfig = {
    requestHandler: new NodeHttpHandler({
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 50 }),
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 50 }),
      connectionTimeout: S3_TIMEOUTS.connectMs,
      socketTimeout: S3_TIMEOUTS.idleMs,
      requestTimeout: S3_TIMEOUTS.requestMs,
      throwOnRequestTimeout: true,
    }),
  };
  if (options.maxAttempts !== undefined || env.AWS_MAX_ATTEMPTS === undefined) {
    config.maxAttempts = options.maxAttempts ?? DEFAULT_S3_MAX_ATTEMPTS;
  }
  if (endpoint !== undefined) {
    config.forcePathStyle = true;
    if (env.AWS_REQUEST_CHECKSUM_CALCULATION === undefined)
      config.requestChecksumCalculation = 'WHEN_REQUIRED';
    if (env.AWS_RESPONSE_CHECKSUM_VALIDATION === undefined)
      config.responseChecksumValidation = 'WHEN_REQUIRED';
  }
  return new S3Client(config);
}

/**
 * An object store on an S3 bucket under a prefix. `put` is one `PutObject`, which S3 makes atomic
 * (readers see the whole object or none) and which replaces an object of the same key, so retried
 * batches overwrite. Keys are joined under the prefix after `assertSafeKey`. Errors become one-line
 * `StoreError`s that name the bucket or object and the likely fix.
 */
export class S3Store implements ObjectStore {
  readonly url: string;
  private readonly bucket: string;
  /** The prefix with a trailing `/`, or empty for the bucket's root. */
  private readonly base: string;
  private readonly client: S3Client;
  private readonly ownsClient: boolean;
  private readonly endpoint: string | undefined;
  private readonly sse: 'AES256' | 'aws:kms' | undefined;
  private readonly kmsKeyId: string | undefined;

  constructor(location: S3StoreLocation, options: S3StoreOptions = {}) {
    const prefix = location.prefix.replace(/^\/+|\/+$/g, '');
    if (prefix !== '') {
      try {
        assertSafeKey(prefix);
      } catch (error) {
        throw new ConfigError(`S3 prefix ${JSON.stringify(prefix)} is not a safe relative path`, error);
      }
    }
    if (options.kmsKeyId !== undefined && options.serverSideEncryption !== 'aws:kms') {
      throw new ConfigError(
        `a KMS key needs serverSideEncryption 'aws:kms' (given ${JSON.stringify(options.serverSideEncryption ?? 'none')})`,
      );
    }
    this.bucket = location.bucket;
    this.base = prefix === '' ? '' : `${prefix}/`;
    this.url = `s3://${location.bucket}/${prefix}`;
    this.ownsClient = options.client === undefined;
    this.client = options.client ?? createS3Client({ maxAttempts: options.maxAttempts });
    this.endpoint = options.client === undefined ? configuredS3Endpoint() : undefined;
    this.sse = options.serverSideEncryption;
    this.kmsKeyId = options.kmsKeyId;
  }

  /** Checks that the bucket exists and the credentials reach it (`HeadBucket`). */
  async connect(): Promise<void> {
    await this.run('connect', undefined, (abortSignal) =>
      this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), { abortSignal }),
    );
  }

  async put(key: string, body: Uint8Array, options: PutObjectOptions, signal?: AbortSignal): Promise<void> {
    assertSafeKey(key);
    const fullKey = this.base + key;
    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: fullKey,
      Body: body,
      ContentLength: body.byteLength,
      ContentType: options.contentType,
      ...(options.contentEncoding === undefined ? {} : { ContentEncoding: options.contentEncoding }),
      ...(this.sse === undefined ? {} : { ServerSideEncryption: this.sse }),
      ...(this.kmsKeyId === undefined ? {} : { SSEKMSKeyId: this.kmsKeyId }),
    });
    await this.run('put', fullKey, (abortSignal) => this.client.send(command, { abortSignal }), signal);
  }

  async get(key: string, signal?: AbortSignal): Promise<Uint8Array> {
    assertSafeKey(key);
    const fullKey = this.base + key;
    return this.run(
      'get',
      fullKey,
      async (abortSignal) => {
        const output = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: fullKey }), {
          abortSignal,
        });
        return output.Body === undefined ? new Uint8Array() : output.Body.transformToByteArray();
      },
      signal,
    );
  }

  /** `DeleteObject`: S3 answers success for a key that is not there, so this is idempotent. */
  async delete(key: string, signal?: AbortSignal): Promise<void> {
    assertSafeKey(key);
    const fullKey = this.base + key;
    await this.run(
      'delete',
      fullKey,
      (abortSignal) =>
        this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: fullKey }), { abortSignal }),
      signal,
    );
  }

  /**
   * Objects under `prefix` (a relative path, like a directory), with keys relative to the store.
   * Lists without a delimiter, page by page; skips keys with a segment starting with `_` or `.`,
   * and "folder" marker keys ending in `/`.
   */
  async *list(prefix: string, signal?: AbortSignal): AsyncIterable<ObjectInfo> {
    const relative = prefix.replace(/\/+$/, '');
    if (relative !== '') assertSafeKey(relative);
    const listPrefix = relative === '' ? this.base : `${this.base}${relative}/`;
    let continuationToken: string | undefined;
    do {
      const token = continuationToken;
      const page: ListObjectsV2CommandOutput = await this.run(
        'list',
        listPrefix,
        (abortSignal) =>
          this.client.send(
            new ListObjectsV2Command({
              Bucket: this.bucket,
              ...(listPrefix === '' ? {} : { Prefix: listPrefix }),
              ...(token === undefined ? {} : { ContinuationToken: token }),
            }),
            { abortSignal },
          ),
        signal,
      );
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined || !object.Key.startsWith(this.base)) continue;
        const key = object.Key.slice(this.base.length);
        const segments = key.split('/');
        if (segments.some((s) => s === '' || isHiddenName(s))) continue;
        yield { key, size: object.Size ?? 0 };
      }
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken !== undefined);
  }

  /** Destroys the client (and its keep-alive sockets) when the store made it. */
  async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
  }

  private async run<T>(
    operation: S3Operation,
    key: string | undefined,
    action: (abortSignal: AbortSignal | undefined) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    try {
      return await action(signal);
    } catch (error) {
      const context: S3ErrorContext = { operation, bucket: this.bucket, kms: this.sse === 'aws:kms' };
      if (key !== undefined) context.key = key;
      if (this.endpoint !== undefined) context.endpoint = this.endpoint;
      throw toStoreError(error, context);
    }
  }
}
