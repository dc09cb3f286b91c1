import { createServer } from 'node:net';
import {
  AccessDeniedException,
  ExpiredIteratorException,
  InvalidArgumentException,
  KinesisClient,
  KMSThrottlingException,
  ProvisionedThroughputExceededException,
  ResourceNotFoundException,
  SplitShardCommand,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StreamError } from '../../src/core/errors.js';
import type { StreamRecord } from '../../src/core/ports.js';
import { isRetriableRecordError, KinesisStream, toStreamError } from '../../src/stream/kinesis/index.js';
import { type Kinesalite, startKinesalite, TEST_REGION } from '../support/kinesalite.js';
import { rejection } from '../support/rejection.js';
import { waitFor } from '../support/wait.js';
import { runStreamContract } from './stream-contract.js';

let emulator: Kinesalite;
let streams = 0;

beforeAll(async () => {
  emulator = await startKinesalite();
});

afterAll(async () => {
  await emulator?.close();
});

/** A stream name no other test uses. */
function uniqueName(label: string): string {
  streams += 1;
  return `${label}-${process.pid}-${streams}`;
}

/** Deletes the stream if it is still there, then closes every handle on it. */
async function removeStream(name: string, ...handles: KinesisStream[]): Promise<void> {
  const admin = new KinesisStream(name, { client: emulator.client() });
  try {
    await admin.delete();
  } catch (error) {
    if (!(error instanceof StreamError && error.code === 'stream_not_found')) throw error;
  } finally {
    await Promise.all([admin, ...handles].map((handle) => handle.close()));
  }
}

// Kinesis has no call that counts the records a stream holds.
runStreamContract('kinesis (kinesalite)', { recordCount: false }, async () => {
  const name = uniqueName('contract');
  // Three shards: hash-key ranges that do not split evenly in binary. Separate handles (and
  // clients) for admin, writer and reader, as separate processes would have.
  const admin = new KinesisStream(name, { client: emulator.client() });
  await admin.create({ shards: 3 });
  const writer = new KinesisStream(name, { client: emulator.client() });
  const reader = new KinesisStream(name, { client: emulator.client() });
  await writer.connect();
  await reader.connect();
  return { writer, reader, admin, shardCount: 3, cleanup: () => removeStream(name, admin, writer, reader) };
});

describe('kinesis stream (kinesalite)', () => {
  const cleanups: (() => Promise<void>)[] = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  /** A new, ACTIVE stream of `shards` shards and a connected handle on it. */
  async function freshStream(shards: number, options: { listShardsPageSize?: number } = {}) {
    const name = uniqueName('kinesis');
    const stream = new KinesisStream(name, { client: emulator.client(), ...options });
    cleanups.push(() => removeStream(name, stream));
    await stream.create({ shards });
    await stream.connect();
    return { name, stream };
  }

  it('fails at connect with stream_not_found naming the stream and the fix when there is none', async () => {
    const stream = new KinesisStream('no-such-stream', { client: emulator.client() });
    cleanups.push(() => stream.close());

    const error = await rejection(stream.connect());

    expect(error).toMatchObject({ code: 'stream_not_found', retriable: false });
    expect(error.message).toContain('"no-such-stream"');
    expect(error.message).toContain('activity stream create --stream kinesis://no-such-stream');
    expect(error.message).toContain('AWS_REGION');
    expect(error.message).not.toContain('\n');
  });

  it('refuses a put to a missing stream as a whole-call, non-retriable stream_not_found', async () => {
    const stream = new KinesisStream('missing-for-put', { client: emulator.client() });
    cleanups.push(() => stream.close());

    const error = await rejection(stream.putRecords([{ partitionKey: 'k', data: Buffer.from('x') }]));

    expect(error).toMatchObject({ code: 'stream_not_found', retriable: false });
    expect(error.message).toContain('missing-for-put');
  });

  it('reports an unreachable endpoint as retriable stream_unavailable', async () => {
    const port = await closedPort();
    const client = new KinesisClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: TEST_REGION,
      credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'dummy-secret-for-tests' },
      requestHandler: new NodeHttpHandler(),
      maxAttempts: 1,
    });
    const stream = new KinesisStream('unreachable', { client });
    cleanups.push(() => stream.close());

    const error = await rejection(stream.connect());

    expect(error).toMatchObject({ code: 'stream_unavailable', retriable: true });
    expect(error.message).toContain('"unreachable"');
    expect(error.message).toContain('AWS_ENDPOINT_URL_KINESIS');
  });

  it('reports missing credentials as credentials_missing, without contacting Kinesis', async () => {
    const saved = { ...process.env };
    for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE']) {
      delete process.env[key];
    }
    process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/aws-credentials';
    process.env.AWS_CONFIG_FILE = '/nonexistent/aws-config';
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    try {
      const client = new KinesisClient({
        endpoint: emulator.endpoint,
        region: TEST_REGION,
        requestHandler: new NodeHttpHandler(),
        maxAttempts: 1,
      });
      const stream = new KinesisStream('no-credentials', { client });
      cleanups.push(() => stream.close());

      const error = await rejection(stream.connect());

      expect(error).toMatchObject({ code: 'credentials_missing', retriable: false });
      expect(error.message).toContain('"no-credentials"');
      expect(error.message).toContain('AWS_PROFILE');
    } finally {
      process.env = saved;
    }
  });

  it('gives the ARN Kinesis reports', async () => {
    const { name, stream } = await freshStream(1);

    expect(stream.streamArn).toMatch(new RegExp(`^arn:aws:kinesis:${TEST_REGION}:[0-9]+:stream/${name}$`));
  });

  // kinesalite 3.3 validates MaxResults but ignores it and never returns a NextToken, so this checks the
  // loop ends with every shard; following NextToken across pages is not exercised by the emulator.
  it('lists every shard of a stream of many shards, asking for small ListShards pages', async () => {
    const { stream } = await freshStream(30, { listShardsPageSize: 7 });

    const shards = await stream.listShards();

    expect(shards).toHaveLength(30);
    expect(new Set(shards.map((s) => s.shardId)).size).toBe(30);
    const ranges = shards
      .map((s) => [BigInt(s.hashKeyRange.startingHashKey), BigInt(s.hashKeyRange.endingHashKey)] as const)
      .sort((a, b) => (a[0] < b[0] ? -1 : 1));
    expect(ranges.slice(1).map(([start]) => start)).toEqual(ranges.slice(0, -1).map(([, end]) => end + 1n));
  });

  it('after SplitShard lists the closed parent and two children, and reads the parent to its end', async () => {
    const { name, stream } = await freshStream(1);
    const before = await put(stream, 'before', 5);
    const [parent] = await stream.listShards();
    const parentId = parent?.shardId as string;
    const splitter = emulator.client();
    cleanups.push(async () => splitter.destroy());

    await splitter.send(
      new SplitShardCommand({
        StreamName: name,
        ShardToSplit: parentId,
        NewStartingHashKey: String(2n ** 127n),
      }),
    );
    await untilActive(stream);
    const after = await put(stream, 'after', 5);

    const shards = await stream.listShards();
    expect(shards).toHaveLength(3);
    const closed = shards.find((s) => s.shardId === parentId);
    expect(closed?.sequenceNumberRange.endingSequenceNumber).toMatch(/^[0-9]+$/);
    const children = shards.filter((s) => s.parentShardId === parentId);
    expect(children).toHaveLength(2);
    for (const child of children) expect(child.sequenceNumberRange.endingSequenceNumber).toBeUndefined();
    expect(children.map((c) => c.hashKeyRange.startingHashKey).sort()).toEqual(
      ['0', String(2n ** 127n)].sort(),
    );
    expect(after.every((entry) => children.some((c) => c.shardId === entry))).toBe(true);

    const read: StreamRecord[] = [];
    let iterator: string | undefined = await stream.getShardIterator(parentId, { type: 'TRIM_HORIZON' });
    for (let page = 0; iterator !== undefined; page++) {
      if (page > 1000) throw new Error('the closed parent shard never ended');
      const result = await stream.getRecords(iterator, 2);
      read.push(...result.records);
      iterator = result.nextShardIterator;
    }
    expect(read.map((r) => Buffer.from(r.data).toString())).toEqual(before.map((_, i) => `before ${i}`));
  });

  it('refuses a sequence number the shard never gave out', async () => {
    const { stream } = await freshStream(1);
    const [shard] = await stream.listShards();

    const error = await rejection(
      stream.getShardIterator(shard?.shardId as string, {
        type: 'AT_SEQUENCE_NUMBER',
        sequenceNumber: '12345',
      }),
    );

    expect(error).toMatchObject({ code: 'invalid_sequence_number', retriable: false });
  });

  it('refuses calls after close', async () => {
    const { stream } = await freshStream(1);
    await stream.close();

    expect(await rejection(stream.listShards())).toMatchObject({ code: 'stream_closed' });
  });
});

// Throttling and service faults cannot be provoked on kinesalite: these map the SDK's own exception classes.
describe('kinesis error mapping', () => {
  const context = { stream: 'orders', operation: 'GetRecords' };
  const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode }, message: 'from AWS' });

  it.each([
    [new ProvisionedThroughputExceededException(meta(400)), 'throttled', true],
    [new KMSThrottlingException(meta(400)), 'throttled', true],
    [new ExpiredIteratorException(meta(400)), 'iterator_expired', true],
    [new ResourceNotFoundException(meta(400)), 'stream_not_found', false],
    [new AccessDeniedException(meta(400)), 'access_denied', false],
    [new InvalidArgumentException(meta(400)), 'invalid_argument', false],
  ])('maps %s to %s (retriable %s), naming the stream', (error, code, retriable) => {
    const mapped = toStreamError(error, context);

    expect(mapped).toBeInstanceOf(StreamError);
    expect(mapped).toMatchObject({ code, retriable });
    expect(mapped.message).toContain('orders');
  });

  it('treats a 5xx without a known name as retriable', () => {
    const error = Object.assign(new Error('bad gateway'), {
      name: 'Unknown',
      $metadata: { httpStatusCode: 502 },
    });

    expect(toStreamError(error, context)).toMatchObject({ code: 'stream_unavailable', retriable: true });
  });

  it('marks throttling and internal failures of single records retriable, others not', () => {
    expect(isRetriableRecordError('ProvisionedThroughputExceededException')).toBe(true);
    expect(isRetriableRecordError('KMSThrottlingException')).toBe(true);
    expect(isRetriableRecordError('InternalFailure')).toBe(true);
    expect(isRetriableRecordError('KMSAccessDeniedException')).toBe(false);
  });
});

/** Puts `count` records under one partition key; returns the shard of each. */
async function put(stream: KinesisStream, label: string, count: number): Promise<string[]> {
  const result = await stream.putRecords(
    Array.from({ length: count }, (_, i) => ({
      partitionKey: 'one-user',
      data: Buffer.from(`${label} ${i}`),
    })),
  );
  expect(result.failedRecordCount).toBe(0);
  return result.records.map((entry) => (entry.ok ? entry.shardId : ''));
}

/** Waits until the stream is ACTIVE again after a reshard. */
async function untilActive(stream: KinesisStream): Promise<void> {
  let status = '';
  await waitFor(
    'the stream to be ACTIVE again after the reshard',
    async () => {
      ({ status } = await stream.describe());
      return status === 'ACTIVE';
    },
    { intervalMs: 25, state: () => status },
  );
}

/** A TCP port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
