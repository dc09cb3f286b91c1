import path from 'node:path';
import {
  CreateStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
  ProvisionedThroughputExceededException,
  PutRecordsCommand,
  type PutRecordsCommandInput,
  type PutRecordsCommandOutput,
  SplitShardCommand,
} from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createHandler, EventSourceRunner, errorsDestination } from '../../src/consumer/index.js';
import { BatchingProducer } from '../../src/producer/index.js';
import { DirectoryStore } from '../../src/sink/index.js';
import { FileCheckpointStore, openKinesisStream } from '../../src/stream/index.js';
import { useKinesalite } from '../support/kinesalite.js';
import { readLanded } from '../support/landed.js';
import { useTempDir } from '../support/temp.js';
import { waitFor } from '../support/wait.js';

const tempDir = useTempDir();
const quiet = () => undefined;
const kinesis = useKinesalite();

async function createStream(name: string, shards: number): Promise<void> {
  await kinesis.client().send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
}

/** `count` events for `users` users, each carrying its position in its user's sequence as `properties.n`. */
function userEvents(users: number, count: number, offset = 0) {
  return Array.from({ length: count }, (_, i) => {
    const n = Math.floor((offset + i) / users);
    const user = `user_${(offset + i) % users}`;
    return {
      partitionKey: user,
      data: Buffer.from(
        JSON.stringify({
          event_id: `${user}-${n}`,
          user_id: user,
          event: 'click',
          timestamp: 1764099072000 + offset + i,
          properties: { n },
        }),
      ),
    };
  });
}

async function produce(name: string, records: ReturnType<typeof userEvents>): Promise<void> {
  const stream = openKinesisStream(name, { client: kinesis.client() });
  await stream.connect();
  const producer = new BatchingProducer(stream);
  await Promise.all(
    records.map(async (record) => {
      await producer.ready();
      return producer.put(record);
    }),
  );
  await producer.close();
}

/** Every record in every shard of the stream, read with the SDK directly. */
async function readAll(client: KinesisClient, name: string): Promise<Buffer[]> {
  const { Shards = [] } = await client.send(new ListShardsCommand({ StreamName: name }));
  const out: Buffer[] = [];
  for (const shard of Shards) {
    let { ShardIterator: iterator } = await client.send(
      new GetShardIteratorCommand({
        StreamName: name,
        ShardId: shard.ShardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    while (iterator) {
      const page = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      for (const r of page.Records ?? []) out.push(Buffer.from(r.Data ?? new Uint8Array()));
      if ((page.Records ?? []).length === 0) break;
      iterator = page.NextShardIterator;
    }
  }
  return out;
}

describe('Kinesis faults on kinesalite', () => {
  it('a SplitShard in the middle of consuming loses nothing and keeps each user in order', async () => {
    // Prepare: one shard holding the first half of the events, a consumer that is slow per batch.
    const name = 'split';
    await createStream(name, 1);
    const users = 40;
    const first = userEvents(users, 2_000);
    const second = userEvents(users, 2_000, 2_000);
    await produce(name, first);
    const dir = await tempDir();
    const store = new DirectoryStore(path.join(dir, 'sink'));
    await store.connect();
    const reader = openKinesisStream(name, { client: kinesis.client() });
    await reader.connect();
    const land = createHandler({ store, warn: quiet });
    const handled: { user: string; n: number }[] = [];
    const handler = async (event: KinesisStreamEvent) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      const response = await land(event);
      for (const r of event.Records) {
        const e = JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString());
        handled.push({ user: e.user_id, n: e.properties.n });
      }
      return response;
    };
    const runner = new EventSourceRunner({
      reader,
      checkpoints: new FileCheckpointStore(path.join(dir, 'checkpoints')),
      handler,
      onFailure: errorsDestination(store),
      batchSize: 100,
      batchWindowMs: 0,
      shardDiscoveryMs: 500,
      warn: quiet,
    });
    const running = runner.run();

    // Act: split the shard while the consumer is part-way through it, then produce the second half
    // (it goes to the two children).
    await waitFor('the consumer to handle 300 events of the parent shard', () => handled.length >= 300, {
      state: () => `${handled.length} handled`,
    });
    const client = kinesis.client();
    await client.send(
      new SplitShardCommand({
        StreamName: name,
        ShardToSplit: 'shardId-000000000000',
        NewStartingHashKey: (2n ** 127n).toString(),
      }),
    );
    await produce(name, second);
    await waitFor('the consumer to handle all 4,000 events', () => handled.length >= 4_000, {
      intervalMs: 50,
      state: () => `${handled.length} handled`,
    });
    runner.drain();
    const stats = await running;

    // Assess: every event landed once, each user's events were handled in the order produced, and
    // the parent was read to its end before its children.
    expect(handled.length).toBe(4_000);
    const last = new Map<string, number>();
    for (const { user, n } of handled) {
      expect(n, `${user} out of order`).toBe((last.get(user) ?? -1) + 1);
      last.set(user, n);
    }
    const landed = await readLanded(path.join(dir, 'sink'));
    const ids = landed.events.map((e) => e.event_id);
    expect(ids).toHaveLength(4_000);
    expect(new Set(ids).size).toBe(4_000);
    const byShard = new Map(stats.shards.map((s) => [s.shardId, s]));
    expect(byShard.get('shardId-000000000000')?.ended).toBe(true);
    expect(byShard.size).toBe(3);
    await reader.close();
  });

  it('the producer loses nothing and duplicates nothing while Kinesis throttles it', async () => {
    // Prepare: a client that, like a stream over its limits, refuses every third record of a put
    // (the rest are written) and every fourth put whole. kinesalite never throttles, so this fault is
    // injected at the SDK's edge: refused records never reach the emulator.
    const name = 'throttled';
    await createStream(name, 2);
    const client = kinesis.client();
    let puts = 0;
    let refusedRecords = 0;
    let refusedPuts = 0;
    client.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as PutRecordsCommandInput;
        if (!Array.isArray(input.Records)) return next(args);
        puts++;
        if (puts % 4 === 0) {
          refusedPuts++;
          throw new ProvisionedThroughputExceededException({
            message: 'Rate exceeded for stream throttled',
            $metadata: {},
          });
        }
        const refused = new Set(input.Records.map((_, i) => i).filter((i) => (i + puts) % 3 === 0));
        const sent = input.Records.filter((_, i) => !refused.has(i));
        const result =
          sent.length > 0
            ? await next({ ...args, input: { ...input, Records: sent } })
            : { response: {}, output: { Records: [], FailedRecordCount: 0, $metadata: {} } };
        const output = result.output as PutRecordsCommandOutput;
        const written = [...(output.Records ?? [])];
        output.Records = input.Records.map((_, i) =>
          refused.has(i)
            ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard' }
            : (written.shift() ?? {}),
        );
        output.FailedRecordCount = (output.FailedRecordCount ?? 0) + refused.size;
        refusedRecords += refused.size;
        return result;
      },
      { step: 'initialize', name: 'throttleSomePuts' },
    );
    const stream = openKinesisStream(name, { client });
    await stream.connect();
    const producer = new BatchingProducer(stream, { backoff: { baseMs: 5, maxMs: 50 } });
    const records = userEvents(25, 3_000);

    // Act
    const outcomes = await Promise.allSettled(
      records.map(async (record) => {
        await producer.ready();
        return producer.put(record);
      }),
    );
    await producer.close();

    // Assess: the fault happened, every put was accepted in the end, and the stream holds each once.
    expect(refusedRecords).toBeGreaterThan(100);
    expect(refusedPuts).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
    const stored = (await readAll(kinesis.client(), name)).map((b) => JSON.parse(b.toString()).event_id);
    expect(stored).toHaveLength(3_000);
    expect(new Set(stored)).toEqual(new Set(records.map((r) => JSON.parse(r.data.toString()).event_id)));
  });

  it('directly put records are all read back (the stream helper reads every shard)', async () => {
    await createStream('plain', 2);
    await kinesis.client().send(
      new PutRecordsCommand({
        StreamName: 'plain',
        Records: userEvents(5, 10).map((r) => ({ PartitionKey: r.partitionKey, Data: r.data })),
      }),
    );
    expect(await readAll(kinesis.client(), 'plain')).toHaveLength(10);
  });
});
