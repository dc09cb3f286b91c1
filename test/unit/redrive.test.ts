import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createHandler,
  errorsDestination,
  fromKinesisRecord,
  toLambdaRecord,
} from '../../src/consumer/index.js';
import { ConfigError, StoreError } from '../../src/core/errors.js';
import type { ObjectStore, StreamRecord } from '../../src/core/ports.js';
import { manifestKeyOf } from '../../src/layout/index.js';
import {
  type RedriveManifest,
  type RedriveOptions,
  type RejectedRecord,
  redrive,
} from '../../src/redrive/index.js';
import { DirectoryStore, S3Store } from '../../src/sink/index.js';
import { type LocalStream, openLocalStream } from '../../src/stream/local/index.js';
import { activityJson, eventOf, kinesisRecord } from '../support/kinesis-events.js';
import { readLanded } from '../support/landed.js';
import { type RunningS3rver, startS3rver, stubS3Environment } from '../support/s3rver.js';
import { useTempDir } from '../support/temp.js';

const tempDir = useTempDir();

/** The bad records the handler lands in errors/, by reason: their bytes and partition keys. */
const BAD = {
  invalid_json: { data: Buffer.from('{broken'), partitionKey: 'user_json' },
  missing_field: {
    data: Buffer.from(JSON.stringify({ user_id: 'user_2', event: 'click' })),
    partitionKey: 'user_2',
  },
  invalid_utf8: { data: Buffer.from([0x7b, 0xff, 0x7d]), partitionKey: 'user_utf8' },
};

interface Setup {
  sink: string;
  store: DirectoryStore;
  stream: LocalStream;
  /** Runs redrive to the stream, collecting what it reports. */
  run(options?: Partial<RedriveOptions>): ReturnType<typeof redrive>;
  rejected: RejectedRecord[];
  warnings: string[];
}

async function setup(): Promise<Setup> {
  const dir = await tempDir();
  const sink = path.join(dir, 'sink');
  const store = new DirectoryStore(sink);
  await store.connect();
  const stream = openLocalStream(path.join(dir, 'stream'), { shards: 2 });
  await stream.connect();
  const rejected: RejectedRecord[] = [];
  const warnings: string[] = [];
  return {
    sink,
    store,
    stream,
    rejected,
    warnings,
    run: (options = {}) =>
      redrive(store, stream, {
        streamName: 'file:///stream',
        streamArn: stream.streamArn,
        onRejected: (r) => rejected.push(r),
        warn: (m) => warnings.push(m),
        ...options,
      }),
  };
}

/** Lands one valid event and the three bad records through the real handler. */
async function landBadRecords(s: Setup): Promise<void> {
  const handler = createHandler({ store: s.store, warn: () => undefined });
  const response = await handler(
    eventOf([
      kinesisRecord(activityJson({ event_id: 'ok-1' }), '1', { partitionKey: 'user_1' }),
      kinesisRecord(BAD.invalid_json.data, '2', { partitionKey: BAD.invalid_json.partitionKey }),
      kinesisRecord(BAD.missing_field.data, '3', { partitionKey: BAD.missing_field.partitionKey }),
      kinesisRecord(BAD.invalid_utf8.data, '4', { partitionKey: BAD.invalid_utf8.partitionKey }),
    ]),
  );
  expect(response.batchItemFailures).toEqual([]);
}

/** Every record of the stream, all shards, from the start. */
async function readStream(stream: LocalStream): Promise<{ shardId: string; record: StreamRecord }[]> {
  const all: { shardId: string; record: StreamRecord }[] = [];
  for (const { shardId } of await stream.listShards()) {
    let iterator = await stream.getShardIterator(shardId, { type: 'TRIM_HORIZON' });
    for (;;) {
      const page = await stream.getRecords(iterator, 10_000);
      if (page.records.length === 0) break;
      for (const record of page.records) all.push({ shardId, record });
      iterator = page.nextShardIterator as string;
    }
  }
  return all;
}

function asSent(records: { record: StreamRecord }[]): { partitionKey: string; data: string }[] {
  return records
    .map(({ record }) => ({
      partitionKey: record.partitionKey,
      data: Buffer.from(record.data).toString('hex'),
    }))
    .sort((a, b) => a.partitionKey.localeCompare(b.partitionKey));
}

function expected(...reasons: (keyof typeof BAD)[]): { partitionKey: string; data: string }[] {
  return reasons
    .map((r) => ({ partitionKey: BAD[r].partitionKey, data: BAD[r].data.toString('hex') }))
    .sort((a, b) => a.partitionKey.localeCompare(b.partitionKey));
}

/** A manifest as stored: gzipped JSON, read without the module's own code. */
async function readManifestFile(sink: string, errorsKey: string): Promise<RedriveManifest> {
  const text = gunzipSync(await readFile(path.join(sink, manifestKeyOf(errorsKey)))).toString('utf8');
  return JSON.parse(text) as RedriveManifest;
}

async function manifestOf(s: Setup): Promise<RedriveManifest> {
  const [errorsObject] = (await readLanded(s.sink)).objects.filter((k) => k.startsWith('errors'));
  const key = (errorsObject as string).split(path.sep).join('/');
  return readManifestFile(s.sink, key);
}

describe('redrive', () => {
  it('puts the original bytes back on the stream under their original partition keys', async () => {
    const s = await setup();
    await landBadRecords(s);

    const result = await s.run();

    expect(result).toMatchObject({
      sent: 3,
      byReason: { invalid_json: 1, missing_field: 1, invalid_utf8: 1 },
      objects: 1,
      objectsSent: 1,
      skipped: 0,
      rejected: 0,
      manifests: 1,
      reasons: 'all',
    });
    expect(asSent(await readStream(s.stream))).toEqual(
      expected('invalid_json', 'missing_field', 'invalid_utf8'),
    );
    expect(s.rejected).toEqual([]);
    expect(s.warnings).toEqual([]);
  });

  it('records what it sent in a hidden manifest, and a second run sends nothing', async () => {
    const s = await setup();
    await landBadRecords(s);
    await s.run();
    const sentFirst = await readStream(s.stream);

    const second = await s.run();

    expect(second).toMatchObject({ sent: 0, skipped: 3, manifests: 0, objectsSent: 0 });
    expect(await readStream(s.stream)).toHaveLength(sentFirst.length);
    const manifest = await manifestOf(s);
    expect(manifest.runs).toHaveLength(1);
    const run = manifest.runs[0];
    expect(run).toMatchObject({ stream: 'file:///stream', stream_arn: s.stream.streamArn, reasons: 'all' });
    expect(run?.records.map((r) => [r.line, r.reason, r.sequence_number])).toEqual([
      [1, 'invalid_json', '2'],
      [2, 'missing_field', '3'],
      [3, 'invalid_utf8', '4'],
    ]);
    // Each record's new position is the one the stream gave it.
    const positions = sentFirst.map(({ shardId, record }) => `${shardId}/${record.sequenceNumber}`).sort();
    expect(run?.records.map((r) => `${r.sent_to.shard_id}/${r.sent_to.sequence_number}`).sort()).toEqual(
      positions,
    );
    // Hidden: not data to readers of the sink, nor to the store's own listing.
    const landed = await readLanded(s.sink);
    expect(landed.files.some((f) => f.startsWith(`_redrive${path.sep}errors${path.sep}`))).toBe(true);
    expect(landed.objects.some((f) => f.includes('_redrive'))).toBe(false);
    const listed: string[] = [];
    for await (const { key } of s.store.list('')) listed.push(key);
    expect(listed.some((k) => k.includes('_redrive'))).toBe(false);
    expect(landed.errors).toHaveLength(3);
  });

  it('sends only the selected reasons, and a later run with other reasons extends the manifest', async () => {
    const s = await setup();
    await landBadRecords(s);

    const first = await s.run({ reasons: ['missing_field'] });
    expect(first).toMatchObject({ sent: 1, byReason: { missing_field: 1 }, skipped: 0 });
    expect(asSent(await readStream(s.stream))).toEqual(expected('missing_field'));

    const second = await s.run({ reasons: ['invalid_json,invalid_utf8', 'missing_field'] });
    expect(second).toMatchObject({ sent: 2, byReason: { invalid_json: 1, invalid_utf8: 1 }, skipped: 1 });
    expect(asSent(await readStream(s.stream))).toEqual(
      expected('invalid_json', 'missing_field', 'invalid_utf8'),
    );

    const manifest = await manifestOf(s);
    expect(manifest.runs.map((r) => [r.reasons, r.records.map((x) => x.line)])).toEqual([
      [['missing_field'], [2]],
      [
        ['invalid_json', 'invalid_utf8', 'missing_field'],
        [1, 3],
      ],
    ]);
    expect(await s.run()).toMatchObject({ sent: 0, skipped: 3 });
  });

  it('refuses an unknown reason, naming the valid ones, before reading anything', async () => {
    const s = await setup();
    await landBadRecords(s);

    const error = await s.run({ reasons: ['missing_field,bogus'] }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/unknown reason "bogus": use one or more of /);
    for (const reason of [
      'invalid_json',
      'missing_field',
      'invalid_aggregate',
      'handler_failed',
      'record_expired',
    ]) {
      expect((error as ConfigError).message).toContain(reason);
    }
    expect(await readStream(s.stream)).toEqual([]);
  });

  it('a dry run counts per reason and neither sends nor writes', async () => {
    const s = await setup();
    await landBadRecords(s);
    const before = (await readLanded(s.sink)).files;

    const result = await redrive(s.store, undefined, { streamName: 'x', dryRun: true });

    expect(result).toMatchObject({
      dryRun: true,
      sent: 3,
      byReason: { invalid_json: 1, missing_field: 1, invalid_utf8: 1 },
      objectsSent: 1,
      manifests: 0,
    });
    expect((await readLanded(s.sink)).files).toEqual(before);
    expect(await readStream(s.stream)).toEqual([]);
  });

  it('does not send again records that came back to errors/ after a redrive, unless asked', async () => {
    const s = await setup();
    await landBadRecords(s);
    await s.run();
    // Consume what was re-driven with the real handler, as the runner would: still bad, so errors/ again.
    const handler = createHandler({ store: s.store, warn: () => undefined });
    const back = (await readStream(s.stream)).map(({ shardId, record }) =>
      toLambdaRecord(record, { shardId, streamArn: s.stream.streamArn, awsRegion: 'local' }),
    );
    await handler(eventOf(back));
    expect((await readLanded(s.sink)).errors).toHaveLength(6);

    const again = await s.run();
    expect(again).toMatchObject({ sent: 0, skipped: 6, relanded: 3, objects: 2 });
    expect(await readStream(s.stream)).toHaveLength(3);

    const forced = await s.run({ includeRelanded: true });
    expect(forced).toMatchObject({ sent: 3, skipped: 3, relanded: 0 });
    expect(asSent((await readStream(s.stream)).slice())).toHaveLength(6);
  });

  it('keeps the sub-sequence number and re-drives failure-destination records too', async () => {
    const s = await setup();
    const lines = [
      {
        reason: 'invalid_json',
        message: 'x',
        shard_id: 'shardId-000000000003',
        sequence_number: '77',
        sub_sequence_number: 2,
        partition_key: 'user_kpl',
        approximate_arrival_timestamp: '2026-11-25T19:31:12.041Z',
        event_source_arn: 'arn:aws:kinesis:us-east-2:123456789012:stream/other',
        data: Buffer.from('not json').toString('base64'),
      },
    ];
    await s.store.put(
      'errors/dt=2026-11-25/hour=19/shardId-000000000003-77.ndjson.gz',
      gzipSync(`${lines.map((l) => JSON.stringify(l)).join('\n')}\n`),
      { contentType: 'application/x-ndjson' },
    );
    const failed = kinesisRecord(activityJson(), '90', { partitionKey: 'user_hf' });
    await errorsDestination(s.store)(
      [fromKinesisRecord(failed)],
      'handler_failed',
      'the handler threw',
      failed.eventSourceARN,
    );

    const result = await s.run();

    expect(result).toMatchObject({
      sent: 2,
      byReason: { invalid_json: 1, handler_failed: 1 },
      objectsSent: 2,
    });
    expect(asSent(await readStream(s.stream))).toEqual(
      [
        { partitionKey: 'user_hf', data: Buffer.from(activityJson()).toString('hex') },
        { partitionKey: 'user_kpl', data: Buffer.from('not json').toString('hex') },
      ].sort((a, b) => a.partitionKey.localeCompare(b.partitionKey)),
    );
    const manifest = await readManifestFile(
      s.sink,
      'errors/dt=2026-11-25/hour=19/shardId-000000000003-77.ndjson.gz',
    );
    expect(manifest.runs[0]?.records[0]).toMatchObject({
      line: 1,
      sequence_number: '77',
      sub_sequence_number: 2,
    });
  });

  it('reports a record the stream cannot take, keeps it out of the manifest, and tries it again next run', async () => {
    const s = await setup();
    const handler = createHandler({ store: s.store, warn: () => undefined });
    // Kinesis allows partition keys of at most 256 characters; this one reached errors/ from elsewhere.
    await handler(
      eventOf([
        kinesisRecord('{broken', '1', { partitionKey: 'k'.repeat(300) }),
        kinesisRecord('{broken too', '2', { partitionKey: 'fine' }),
      ]),
    );

    const first = await s.run();

    expect(first).toMatchObject({ sent: 1, rejected: 1, manifests: 1 });
    expect(s.rejected).toHaveLength(1);
    expect(s.rejected[0]).toMatchObject({ line: 1, reason: 'invalid_json' });
    expect(String(s.rejected[0]?.error)).toMatch(/partition key must be 1 to 256 characters/);
    expect((await manifestOf(s)).runs[0]?.records.map((r) => r.line)).toEqual([2]);

    const second = await s.run();
    expect(second).toMatchObject({ sent: 0, rejected: 1, skipped: 1 });
    expect(await readStream(s.stream)).toHaveLength(1);
  });

  it('warns about lines and objects that are not error records, and goes on', async () => {
    const s = await setup();
    await landBadRecords(s);
    await s.store.put('errors/dt=2026-01-01/hour=00/junk.ndjson.gz', gzipSync('not json\n{"reason":1}\n'), {
      contentType: 'application/x-ndjson',
    });
    await s.store.put('errors/dt=2026-01-01/hour=01/plain.ndjson.gz', Buffer.from('not gzip'), {
      contentType: 'application/x-ndjson',
    });

    const result = await s.run();

    expect(result).toMatchObject({ sent: 3, unreadableLines: 2, unreadableObjects: 1, objects: 3 });
    expect(s.warnings).toEqual([
      'errors/dt=2026-01-01/hour=00/junk.ndjson.gz line 1: not JSON; skipped',
      'errors/dt=2026-01-01/hour=00/junk.ndjson.gz line 2: reason is missing or not a string; skipped',
      expect.stringMatching(/^errors\/dt=2026-01-01\/hour=01\/plain\.ndjson\.gz: not a gzip NDJSON object/),
    ]);
  });

  it('fails loudly when the manifest cannot be written, and the next run sends those records again', async () => {
    const s = await setup();
    await landBadRecords(s);
    // The crash window: the stream has the records, the manifest write fails (the real store underneath).
    const failing: ObjectStore = {
      url: s.store.url,
      connect: () => s.store.connect(),
      get: (key) => s.store.get(key),
      list: (prefix) => s.store.list(prefix),
      delete: (key) => s.store.delete(key),
      close: () => s.store.close(),
      put: async (key, body, options) => {
        if (key.startsWith('_redrive/')) throw new StoreError('fs_erofs', `could not put ${key}: read-only`);
        await s.store.put(key, body, options);
      },
    };

    const error = await redrive(failing, s.stream, { streamName: 'x', streamArn: s.stream.streamArn }).catch(
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).code).toBe('manifest_not_written');
    expect((error as StoreError).message).toMatch(
      /could not record the 3 records re-driven from errors\/.*read-only.*the next run sends them again/,
    );
    expect(await readStream(s.stream)).toHaveLength(3);
    expect((await readLanded(s.sink)).files.some((f) => f.startsWith('_redrive'))).toBe(false);

    expect(await s.run()).toMatchObject({ sent: 3, manifests: 1 });
    expect(await readStream(s.stream)).toHaveLength(6);
  });

  it('refuses to guess when a manifest is damaged, and sends nothing', async () => {
    const s = await setup();
    await landBadRecords(s);
    const [errorsObject] = (await readLanded(s.sink)).objects.filter((k) => k.startsWith('errors'));
    const key = (errorsObject as string).split(path.sep).join('/');
    await s.store.put(manifestKeyOf(key), gzipSync('{"version":1,'), { contentType: 'application/json' });

    const error = await s.run().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).code).toBe('invalid_manifest');
    expect((error as StoreError).message).toContain(`is not a manifest of ${key}: repair it, or delete it`);
    expect(await readStream(s.stream)).toEqual([]);
  });

  it('stops after the object in hand when its signal aborts, recording what it sent', async () => {
    const s = await setup();
    await landBadRecords(s);
    const stop = new AbortController();
    stop.abort();

    expect(await s.run({ signal: stop.signal })).toMatchObject({ sent: 0, stopped: true });
    expect(await readStream(s.stream)).toEqual([]);
  });

  it('names the manifest after the errors object, or by digest when that would be too long', () => {
    expect(manifestKeyOf('errors/dt=2026-11-25/hour=19/a.ndjson.gz')).toBe(
      '_redrive/errors/dt=2026-11-25/hour=19/a.ndjson.gz.json.gz',
    );
    const long = `errors/${'d'.repeat(250)}/${'e'.repeat(250)}/${'f'.repeat(250)}/${'g'.repeat(250)}.ndjson.gz`;
    expect(manifestKeyOf(long)).toMatch(/^_redrive\/by-digest\/[0-9a-f]{64}\.json\.gz$/);
  });
});

describe('redrive on S3 (s3rver)', () => {
  const bucket = 'activity-redrive';
  let s3rver: RunningS3rver;
  beforeAll(async () => {
    s3rver = await startS3rver([bucket]);
    stubS3Environment(s3rver.endpoint);
  });
  afterAll(async () => {
    await s3rver.close();
    vi.unstubAllEnvs();
  });

  it('keeps its manifest under a hidden key that listing skips, and a second run sends nothing', async () => {
    const store = new S3Store({ bucket, prefix: `runs/${randomUUID()}` });
    await store.connect();
    const stream = openLocalStream(path.join(await tempDir(), 'stream'));
    await stream.connect();
    try {
      const handler = createHandler({ store, warn: () => undefined });
      await handler(
        eventOf([
          kinesisRecord(BAD.invalid_json.data, '2', { partitionKey: BAD.invalid_json.partitionKey }),
          kinesisRecord(BAD.missing_field.data, '3', { partitionKey: BAD.missing_field.partitionKey }),
        ]),
      );
      const options = { streamName: 'file:///stream', streamArn: stream.streamArn };

      expect(await redrive(store, stream, options)).toMatchObject({ sent: 2, manifests: 1 });
      expect(await redrive(store, stream, options)).toMatchObject({ sent: 0, skipped: 2 });

      expect(asSent(await readStream(stream))).toEqual(expected('invalid_json', 'missing_field'));
      const listed: string[] = [];
      for await (const { key } of store.list('')) listed.push(key);
      expect(listed).toHaveLength(1);
      const manifest = JSON.parse(
        gunzipSync(await store.get(manifestKeyOf(listed[0] as string))).toString('utf8'),
      ) as RedriveManifest;
      expect(manifest).toMatchObject({ version: 1, object: listed[0] });
    } finally {
      await stream.close();
      await store.close();
    }
  });
});
