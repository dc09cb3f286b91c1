import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createHandler,
  DEFAULT_CONSUMER_NAME,
  EventSourceRunner,
  errorsDestination,
} from '../../src/consumer/index.js';
import { StoreError } from '../../src/core/errors.js';
import type { ObjectInfo, ObjectStore, PutObjectOptions } from '../../src/core/ports.js';
import { Simulator } from '../../src/producer/index.js';
import { DirectoryStore } from '../../src/sink/index.js';
import { type LocalStream, openLocalStream } from '../../src/stream/index.js';
import { startCli } from '../support/cli.js';
import { readLanded } from '../support/landed.js';
import { eventIdOf, readAll } from '../support/stream-records.js';
import { useTempDir } from '../support/temp.js';
import { countHidden, duplicates, sleep, waitFor } from './support.js';

const tempDir = useTempDir();

/**
 * Mounts a 2 MiB tmpfs on `dir` where this process may (root with mount rights, as in CI containers
 * that allow it); false elsewhere, and the real-disk test is skipped.
 */
function mountSmallTmpfs(dir: string): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'ignore' });
  } catch {
    execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
  }
}

async function recordsByShard(stream: LocalStream): Promise<Map<string, { seq: bigint; id: string }[]>> {
  const byShard = new Map<string, { seq: bigint; id: string }[]>();
  for (const { shardId } of await stream.listShards()) byShard.set(shardId, []);
  for (const read of await readAll(stream))
    byShard.get(read.shardId)?.push({ seq: BigInt(read.record.sequenceNumber), id: eventIdOf(read) });
  return byShard;
}

/**
 * Event ids the checkpoints claim as landed that are not in the sink: must always be none. The
 * checkpoints are read first: a consumer still running only lands more after that.
 */
async function checkpointedButNotLanded(stream: LocalStream, sink: string): Promise<string[]> {
  const checkpoints = new Map<string, string | undefined>();
  for (const { shardId } of await stream.listShards())
    checkpoints.set(shardId, await stream.load(DEFAULT_CONSUMER_NAME, shardId));
  const landed = new Set((await readLanded(sink)).events.map((e) => e.event_id as string));
  const missing: string[] = [];
  for (const [shardId, records] of await recordsByShard(stream)) {
    const checkpoint = checkpoints.get(shardId);
    if (checkpoint === undefined) continue;
    for (const { seq, id } of records) if (seq <= BigInt(checkpoint) && !landed.has(id)) missing.push(id);
  }
  return missing;
}

async function produceInto(stream: LocalStream, count: number): Promise<string[]> {
  const simulator = new Simulator({ users: 500, seed: 'disk-full' });
  const ids: string[] = [];
  for (let i = 0; i < count; i += 500) {
    const records = Array.from({ length: Math.min(500, count - i) }, () => simulator.nextEncoded());
    for (const r of records) ids.push(JSON.parse(r.data.toString()).event_id);
    await stream.putRecords(records);
  }
  return ids;
}

/** Consumes 100,000 events onto a disk that fills up, then gets space back. */
async function landOnSmallDisk(dir: string, disk: string): Promise<void> {
  const sink = path.join(disk, 'sink');
  const streamPath = path.join(dir, 'stream');
  const stream = openLocalStream(streamPath, { shards: 2 });
  await stream.connect();
  const ids = await produceInto(stream, 100_000);

  // Act: consume until the disk is full and the consumer has failed twice.
  const consumer = startCli(['consume', '--stream', streamPath, '--sink', sink, '--batch-size', '1000']);
  let stderr = '';
  consumer.child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  let whileFull: string[];
  let landedWhileFull: number;
  try {
    await waitFor(
      'the disk to fill',
      () => (stderr.match(/could not land batch/g) ?? []).length >= 2,
      60_000,
    );
    whileFull = await checkpointedButNotLanded(stream, sink);
    landedWhileFull = (await readLanded(sink)).events.length;
    // Space comes back (an operator frees some): the same consumer goes on by itself.
    execFileSync('mount', ['-o', 'remount,size=64m', disk]);
    await waitFor(
      'the consumer to land the rest',
      async () => (await readLanded(sink)).events.length === ids.length,
      90_000,
    );
  } finally {
    consumer.child.kill('SIGTERM');
  }
  const stopped = await consumer.done;

  // Assess
  expect(stopped.code, stopped.stderr).toBe(0);
  expect(stderr).toMatch(/no space left on device/i);
  expect(stderr).toContain(sink);
  expect(landedWhileFull).toBeGreaterThan(0);
  expect(landedWhileFull).toBeLessThan(ids.length);
  expect(whileFull).toEqual([]);
  expect(await checkpointedButNotLanded(stream, sink)).toEqual([]);
  const landed = (await readLanded(sink)).events.map((e) => e.event_id as string);
  expect(duplicates(landed)).toEqual(new Map());
  expect(landed.sort()).toEqual(ids.sort());
  expect(await countHidden(sink)).toBe(0);
  await stream.close();
}

describe('a full disk under a directory sink', () => {
  it.runIf(process.platform === 'linux' && process.getuid?.() === 0)(
    'real ENOSPC on a 2 MiB tmpfs: a clear error, checkpoints never pass unlanded events, and recovery lands them',
    async (context) => {
      // Prepare: the sink on a 2 MiB tmpfs, far less than the 100,000 events in the stream need.
      const dir = await tempDir();
      const disk = path.join(dir, 'small-disk');
      await mkdir(disk);
      if (!mountSmallTmpfs(disk))
        context.skip('mounting a tmpfs is not permitted here; the injected ENOSPC test runs instead');
      try {
        await landOnSmallDisk(dir, disk);
      } finally {
        unmount(disk);
      }
    },
    180_000,
  );

  it('injected ENOSPC (runs everywhere): the batch is retried, checkpoints hold, and everything lands once', async () => {
    // Prepare: a directory store that runs out of room after 300 KiB until the test makes more.
    const dir = await tempDir();
    const sink = path.join(dir, 'sink');
    const stream = openLocalStream(path.join(dir, 'stream'), { shards: 2 });
    await stream.connect();
    const ids = await produceInto(stream, 30_000);
    const disk = new FillingStore(new DirectoryStore(sink), 300 * 1024);
    await disk.connect();
    const warnings: string[] = [];
    const runner = new EventSourceRunner({
      reader: stream,
      checkpoints: stream,
      handler: createHandler({ store: disk, warn: (w) => warnings.push(w) }),
      onFailure: errorsDestination(disk),
      batchSize: 1000,
      batchWindowMs: 0,
      retryBackoff: { baseMs: 20, maxMs: 200 },
      warn: (w) => warnings.push(w),
    });

    // Act
    const running = runner.run({ untilIdle: true });
    await waitFor('the disk to fill', () => disk.refusals >= 3);
    const whileFull = await checkpointedButNotLanded(stream, sink);
    const landedWhileFull = (await readLanded(sink)).events.length;
    await sleep(200);
    disk.capacity = Number.POSITIVE_INFINITY;
    const stats = await running;

    // Assess
    expect(warnings.some((w) => /could not land batch.*no space left on device/i.test(w))).toBe(true);
    expect(landedWhileFull).toBeGreaterThan(0);
    expect(landedWhileFull).toBeLessThan(ids.length);
    expect(whileFull).toEqual([]);
    expect(stats.failedToDestination).toBe(0);
    const landed = (await readLanded(sink)).events.map((e) => e.event_id as string);
    expect(duplicates(landed)).toEqual(new Map());
    expect(landed.sort()).toEqual(ids.sort());
    await stream.close();
  });
});

/**
 * A directory store on a disk of `capacity` bytes: a put that does not fit fails as a full disk does,
 * with the kernel's own ENOSPC (from writing to /dev/full where there is one), wrapped as the
 * directory store wraps it.
 */
class FillingStore implements ObjectStore {
  used = 0;
  refusals = 0;
  readonly #sizes = new Map<string, number>();

  constructor(
    readonly inner: DirectoryStore,
    public capacity: number,
  ) {}

  get url() {
    return this.inner.url;
  }

  connect() {
    return this.inner.connect();
  }

  async put(key: string, body: Uint8Array, options: PutObjectOptions) {
    const growth = body.byteLength - (this.#sizes.get(key) ?? 0);
    if (this.used + growth > this.capacity) {
      this.refusals++;
      throw new StoreError('fs_enospc', `could not put ${key}: ${(await enospc()).message}`, {
        retriable: true,
      });
    }
    await this.inner.put(key, body, options);
    this.#sizes.set(key, body.byteLength);
    this.used += growth;
  }

  get(key: string) {
    return this.inner.get(key);
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix);
  }

  async delete(key: string) {
    await this.inner.delete(key);
    this.used -= this.#sizes.get(key) ?? 0;
    this.#sizes.delete(key);
  }

  close() {
    return this.inner.close();
  }
}

async function enospc(): Promise<Error> {
  try {
    await writeFile('/dev/full', 'x');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOSPC') return error as Error;
  }
  return Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
}
