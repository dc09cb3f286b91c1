import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll } from 'vitest';

type KinesaliteFactory = (options: {
  createStreamMs: number;
  deleteStreamMs: number;
  updateStreamMs: number;
  shardLimit: number;
}) => Server;

// kinesalite is CommonJS without type declarations.
const kinesalite = createRequire(import.meta.url)('kinesalite') as KinesaliteFactory;

export const TEST_REGION = 'us-east-1';

export interface Kinesalite {
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  /** A new client for the emulator: HTTP/1.1, region `us-east-1`, dummy credentials. */
  client(): KinesisClient;
  close(): Promise<void>;
}

/**
 * Keeps the AWS SDK off the network and away from the user's own settings: a region, dummy
 * credentials, no EC2 metadata lookups.
 */
export function useDummyAwsEnvironment(): void {
  process.env.AWS_REGION = TEST_REGION;
  process.env.AWS_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
  process.env.AWS_SECRET_ACCESS_KEY = 'dummy-secret-for-tests';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;
}

/** Starts kinesalite in this process on 127.0.0.1 and a free port, in memory, with instant stream changes. */
export async function startKinesalite(): Promise<Kinesalite> {
  useDummyAwsEnvironment();
  const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 100 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    client: () =>
      new KinesisClient({
        endpoint,
        region: TEST_REGION,
        credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'dummy-secret-for-tests' },
        // kinesalite never answers an AT_TIMESTAMP iterator request past the last record: fail, don't hang.
        requestHandler: new NodeHttpHandler({ requestTimeout: 20_000 }),
        maxAttempts: 1,
      }),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections?.();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** Kinesalite for the tests of one file: started before the first, closed after the last. */
export function useKinesalite(): Kinesalite {
  let running: Kinesalite | undefined;
  beforeAll(async () => {
    running = await startKinesalite();
  });
  afterAll(async () => {
    await running?.close();
  });
  const started = (): Kinesalite => {
    if (running === undefined) throw new Error('kinesalite is started in beforeAll: use it inside a test');
    return running;
  };
  return {
    get endpoint() {
      return started().endpoint;
    },
    client: () => started().client(),
    close: () => started().close(),
  };
}
