import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StoreError } from '../../src/core/errors.js';
import { S3Store } from '../../src/sink/index.js';
import { freshS3Prefix } from './object-store-contract.js';

const ndjson = { contentType: 'application/x-ndjson', contentEncoding: 'gzip' };

export interface S3StoreCasesOptions {
  /** A bucket that exists on the server. */
  bucket: string;
  /** A client of the server's own, to look at what the store wrote. */
  client: () => S3Client;
  /** The access key id and secret the server knows. */
  accessKeyId: string;
  secretAccessKey: string;
  /** Points the environment back at the server after a test changed it. */
  restoreEnvironment: () => void;
  /** Whether the server checks request signatures (s3rver takes any secret). */
  checksSignatures: boolean;
}

/** What every S3 server must do with `S3Store` beyond the object-store contract: S3's own behaviour. */
export function runS3StoreCases(name: string, o: S3StoreCasesOptions): void {
  describe(`S3Store against ${name}`, () => {
    const opened: S3Store[] = [];
    function track(store: S3Store): S3Store {
      opened.push(store);
      return store;
    }
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((store) => store.close()));
      o.restoreEnvironment();
    });

    it('lists more than 1,000 objects by following continuation tokens', async () => {
      const store = track(new S3Store({ bucket: o.bucket, prefix: freshS3Prefix() }));
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
      const prefix = freshS3Prefix();
      const store = track(new S3Store({ bucket: o.bucket, prefix }));
      await store.put('events/typed.ndjson.gz', Buffer.from('x'), ndjson);
      await store.put('events/plain.json', Buffer.from('{}'), { contentType: 'application/json' });
      const client = o.client();
      try {
        const typed = await client.send(
          new HeadObjectCommand({ Bucket: o.bucket, Key: `${prefix}/events/typed.ndjson.gz` }),
        );
        expect(typed).toMatchObject({
          ContentLength: 1,
          ContentType: 'application/x-ndjson',
          ContentEncoding: 'gzip',
        });
        const plain = await client.send(
          new HeadObjectCommand({ Bucket: o.bucket, Key: `${prefix}/events/plain.json` }),
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
      expect((error as Error).message).toBe(
        'bucket no-such-bucket does not exist: create it or check --sink',
      );
      await expect(store.put('a', Buffer.from('x'), ndjson)).rejects.toMatchObject({
        code: 'bucket_not_found',
        retriable: false,
      });
    });

    const badCredentials: [string, string | undefined, string | undefined][] = [
      ['an access key it does not know', 'AKIANOTKNOWNHERE0000', undefined],
    ];
    if (o.checksSignatures)
      badCredentials.push(['a wrong secret for a known access key', undefined, 'not-the-real-secret-value']);
    it.each(badCredentials)(
      'reports %s as credentials_invalid, naming no secret',
      async (_, accessKeyId, secretAccessKey) => {
        const secret = secretAccessKey ?? o.secretAccessKey;
        vi.stubEnv('AWS_ACCESS_KEY_ID', accessKeyId ?? o.accessKeyId);
        vi.stubEnv('AWS_SECRET_ACCESS_KEY', secret);
        const store = track(new S3Store({ bucket: o.bucket, prefix: 'p' }));
        const error = await store.put('a', Buffer.from('x'), ndjson).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toMatchObject({ code: 'credentials_invalid', retriable: false });
        expect((error as Error).message).toContain(`s3://${o.bucket}/p/a`);
        expect((error as Error).message).not.toContain(secret);
      },
    );
  });
}
