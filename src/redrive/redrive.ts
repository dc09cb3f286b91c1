import { promisify } from 'node:util';
import { gunzip as gunzipCallback } from 'node:zlib';
import { ConfigError, describeError, isRetriable, StoreError } from '../core/errors.js';
import type { ObjectStore, StreamWriter } from '../core/ports.js';
import { type ErrorLine, manifestKeyOf, NDJSON_GZIP, readErrorLine } from '../layout/index.js';
import { type AcceptedRecord, BatchingProducer, type BatchingProducerOptions } from '../producer/index.js';
import { backoffDelay, sleep } from '../util/backoff.js';
import {
  encodeManifest,
  MANIFEST_CONTENT,
  type RedriveManifest,
  type RedrivenRecord,
  type RedriveRun,
  readManifest,
} from './manifest.js';
import { parseReasons } from './reasons.js';

const gunzip = promisify(gunzipCallback);

/** Where the consumer keeps records that did not land as events. */
const ERRORS_PREFIX = 'errors/';
/** Manifest reads in flight at once while looking for what earlier runs sent. */
const MANIFEST_READS = 8;
/** `errors/` objects whose records may be in flight at once, each waiting to write its manifest. */
const OBJECTS_IN_FLIGHT = 16;
/** Tries of a manifest write when the store fails retriably. */
const MANIFEST_PUT_ATTEMPTS = 3;

export interface RedriveOptions {
  /** Names the stream in manifests and messages: a URL such as `kinesis://NAME` or `file:///…`. */
  streamName: string;
  /**
   * The stream's ARN (`StreamReader.streamArn`). With it, the manifest keeps where each record went,
   * and records that come back to `errors/` from there are recognised and not sent again.
   */
  streamArn?: string;
  /** Reason codes to re-drive (each may be comma-separated); every reason when absent. */
  reasons?: readonly string[];
  /** Count what would be sent, without sending or writing anything. */
  dryRun?: boolean;
  /** Also send records that landed in `errors/` again after an earlier redrive. */
  includeRelanded?: boolean;
  /** Stops after the object in hand: what was sent is still recorded. */
  signal?: AbortSignal;
  producer?: Omit<BatchingProducerOptions, 'signal'>;
  /** Each record the stream did not accept; it is not recorded, so the next run tries it again. */
  onRejected?: (rejected: RejectedRecord) => void;
  /** Lines or objects of `errors/` that cannot be read as error records. */
  warn?: (message: string) => void;
  /** Given the running counts once the manifests are read; they are updated in place from then on. */
  onProgress?: (stats: Readonly<RedriveStats>) => void;
  /** The clock for manifests, in epoch milliseconds (default `Date.now`). */
  now?: () => number;
}

export interface RejectedRecord {
  object: string;
  line: number;
  reason: string;
  error: unknown;
}

/** Running counts; the result of `redrive` is the final one. */
export interface RedriveStats {
  /** `errors/` objects in the sink. */
  objects: number;
  /** Of those, read so far. */
  objectsRead: number;
  /** Objects from which at least one record was sent (or, dry, would be). */
  objectsSent: number;
  /** Records the stream accepted (or, dry, that would be sent). */
  sent: number;
  /** `sent` by reason. */
  byReason: Record<string, number>;
  /** Selected records not sent because an earlier run sent them. */
  skipped: number;
  /** Of `skipped`: records that landed in `errors/` again after an earlier redrive. */
  relanded: number;
  /** Records the stream did not accept. */
  rejected: number;
  /** Lines of `errors/` objects that are not error records. */
  unreadableLines: number;
  /** `errors/` objects that could not be decompressed. */
  unreadableObjects: number;
  /** Manifests written. */
  manifests: number;
}

export interface RedriveResult extends RedriveStats {
  dryRun: boolean;
  stream: string;
  /** The reasons selected: a list, or every reason. */
  reasons: string[] | 'all';
  /** True when the signal stopped the run before every object was read. */
  stopped: boolean;
}

/** The columns of an `errors/` line that re-driving it needs: its reason, position, key and bytes. */
type Needed = 'reason' | 'shard_id' | 'sequence_number' | 'partition_key' | 'data';
const NEEDED: ReadonlySet<Needed> = new Set([
  'reason',
  'shard_id',
  'sequence_number',
  'partition_key',
  'data',
]);

/** One line of an `errors/` object, as `errorLine()` writes it, read back. */
type ErrorRecord = Partial<ErrorLine> & Pick<ErrorLine, Needed>;

interface Send {
  line: number;
  record: ErrorRecord;
  outcome: Promise<{ ok: true; accepted: AcceptedRecord } | { ok: false; error: unknown }>;
}

/**
 * Puts records kept in `errors/` back on the stream: each selected line's original bytes, with its
 * original partition key, through a `BatchingProducer`. The stream writer must be connected; it is
 * left open. Once every selected line of an `errors/` object has been answered, the lines the stream
 * accepted are recorded in that object's manifest (`_redrive/<key>.json.gz`), and later runs skip them.
 *
 * A crash after records were accepted but before their manifest was written sends them again on the
 * next run: at least once, like the rest of the pipeline. Events with an `event_id` are deduplicated by
 * it downstream; records without one get a new id from their new stream position.
 */
export async function redrive(
  store: ObjectStore,
  stream: StreamWriter | undefined,
  options: RedriveOptions,
): Promise<RedriveResult> {
  const reasons = options.reasons === undefined ? undefined : parseReasons(options.reasons);
  if (reasons?.length === 0) throw new ConfigError('no reason selected: give --reason CODE, or none for all');
  const dryRun = options.dryRun ?? false;
  if (!dryRun && stream === undefined)
    throw new ConfigError('redrive needs a stream writer to send to (or dryRun: true to only count)');
  const selected = reasons === undefined ? undefined : new Set<string>(reasons);
  const now = options.now ?? Date.now;
  const warn = options.warn ?? (() => undefined);
  const signal = options.signal;
  const stats: RedriveStats = {
    objects: 0,
    objectsRead: 0,
    objectsSent: 0,
    sent: 0,
    byReason: {},
    skipped: 0,
    relanded: 0,
    rejected: 0,
    unreadableLines: 0,
    unreadableObjects: 0,
    manifests: 0,
  };
  const result = (stopped: boolean): RedriveResult => ({
    ...stats,
    byReason: { ...stats.byReason },
    dryRun,
    stream: options.streamName,
    reasons: reasons ?? 'all',
    stopped,
  });
  const count = (reason: string) => {
    stats.sent++;
    stats.byReason[reason] = (stats.byReason[reason] ?? 0) + 1;
  };

  // Every manifest is read before anything is sent: a record that came back to errors/ after an
  // earlier redrive may sit in any object, before or after the one whose manifest names it.
  const keys: string[] = [];
  for await (const { key } of store.list(ERRORS_PREFIX, signal)) {
    if (key.endsWith(NDJSON_GZIP.extension)) keys.push(key);
  }
  stats.objects = keys.length;
  const manifests = new Map<string, RedriveManifest>();
  const relanded = new Set<string>();
  await forEachLimit(keys, MANIFEST_READS, async (key) => {
    if (signal?.aborted) return;
    const manifest = await readManifest(store, key, signal);
    if (manifest === undefined) return;
    manifests.set(key, manifest);
    for (const run of manifest.runs) {
      if (run.stream_arn === undefined) continue;
      for (const r of run.records) relanded.add(positionId(run.stream_arn, r.sent_to));
    }
  });
  if (signal?.aborted) return result(true);
  options.onProgress?.(stats);

  const producer =
    stream === undefined || dryRun ? undefined : new BatchingProducer(stream, options.producer);
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let stopped = false;

  const finish = async (key: string, sends: Send[]): Promise<void> => {
    const records: RedrivenRecord[] = [];
    for (const send of sends) {
      const outcome = await send.outcome;
      const { record, line } = send;
      if (!outcome.ok) {
        stats.rejected++;
        options.onRejected?.({ object: key, line, reason: record.reason, error: outcome.error });
        continue;
      }
      count(record.reason);
      records.push({
        line,
        reason: record.reason,
        shard_id: record.shard_id,
        sequence_number: record.sequence_number,
        ...(record.sub_sequence_number === undefined
          ? {}
          : { sub_sequence_number: record.sub_sequence_number }),
        sent_to: { shard_id: outcome.accepted.shardId, sequence_number: outcome.accepted.sequenceNumber },
      });
    }
    if (records.length === 0) return;
    stats.objectsSent++;
    const run: RedriveRun = {
      at: new Date(now()).toISOString(),
      stream: options.streamName,
      ...(options.streamArn === undefined ? {} : { stream_arn: options.streamArn }),
      reasons: reasons ?? 'all',
      records,
    };
    const previous = manifests.get(key);
    const manifest: RedriveManifest = { version: 1, object: key, runs: [...(previous?.runs ?? []), run] };
    await putManifest(store, key, manifest, records.length);
    manifests.set(key, manifest);
    stats.manifests++;
  };

  try {
    for (const key of keys) {
      if (failure !== undefined) break;
      if (signal?.aborted) {
        stopped = true;
        break;
      }
      const lines = await readLines(store, key, signal).catch((error: unknown) => {
        if (error instanceof StoreError) throw error;
        stats.unreadableObjects++;
        warn(`${key}: not a gzip NDJSON object (${describeError(error)}); skipped`);
        return [];
      });
      stats.objectsRead++;
      const done = doneIn(manifests.get(key));
      const sends: Send[] = [];
      let wouldSend = 0;
      for (let i = 0; i < lines.length; i++) {
        const text = lines[i] as string; // i < lines.length
        if (text.trim() === '') continue;
        const line = i + 1;
        const record = parseErrorRecord(text);
        if (typeof record === 'string') {
          stats.unreadableLines++;
          warn(`${key} line ${line}: ${record}; skipped`);
          continue;
        }
        if (selected !== undefined && !selected.has(record.reason)) continue;
        if (done.has(recordId(record))) {
          stats.skipped++;
          continue;
        }
        const cameBack =
          record.event_source_arn !== undefined &&
          relanded.has(
            positionId(record.event_source_arn, {
              shard_id: record.shard_id,
              sequence_number: record.sequence_number,
            }),
          );
        if (cameBack && !options.includeRelanded) {
          stats.skipped++;
          stats.relanded++;
          continue;
        }
        if (producer === undefined) {
          count(record.reason);
          wouldSend++;
          continue;
        }
        const put = { partitionKey: record.partition_key, data: Buffer.from(record.data, 'base64') };
        const outcome = producer.put(put).then(
          (accepted) => ({ ok: true as const, accepted }),
          (error: unknown) => ({ ok: false as const, error }),
        );
        sends.push({ line, record, outcome });
        await producer.ready();
      }
      if (wouldSend > 0) stats.objectsSent++;
      if (sends.length === 0) continue;
      const task = finish(key, sends)
        .catch((error: unknown) => {
          failure ??= error;
        })
        .finally(() => inFlight.delete(task));
      inFlight.add(task);
      if (inFlight.size >= OBJECTS_IN_FLIGHT) await Promise.race(inFlight);
    }
  } finally {
    // Whatever stopped the loop, what the stream accepted is still recorded.
    await producer?.flush();
    await Promise.all(inFlight);
  }
  if (failure !== undefined) throw failure;
  return result(stopped);
}

/** The decompressed lines of an `errors/` object, without the empty one after the last newline. */
async function readLines(
  store: ObjectStore,
  key: string,
  signal: AbortSignal | undefined,
): Promise<string[]> {
  const body = await store.get(key, signal);
  const lines = (await gunzip(body)).toString('utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** An error record, or why the line is not one: the columns it needs are there, and only `data` may be empty. */
function parseErrorRecord(text: string): ErrorRecord | string {
  const record = readErrorLine(text, NEEDED);
  if (typeof record === 'string') return record;
  for (const field of NEEDED) {
    if (field !== 'data' && record[field] === '') return `${field} is missing or not a string`;
  }
  return record;
}

/** Where a record sat in the stream: identifies a line across runs even if its object were rewritten. */
function recordId(r: Pick<ErrorLine, 'shard_id' | 'sequence_number' | 'sub_sequence_number'>): string {
  return `${r.shard_id}\n${r.sequence_number}\n${r.sub_sequence_number ?? ''}`;
}

function positionId(streamArn: string, p: { shard_id: string; sequence_number: string }): string {
  return `${streamArn}\n${p.shard_id}\n${p.sequence_number}`;
}

/** The records of an object that earlier runs sent. */
function doneIn(manifest: RedriveManifest | undefined): Set<string> {
  const done = new Set<string>();
  for (const run of manifest?.runs ?? []) for (const r of run.records) done.add(recordId(r));
  return done;
}

async function putManifest(
  store: ObjectStore,
  objectKey: string,
  manifest: RedriveManifest,
  records: number,
): Promise<void> {
  const key = manifestKeyOf(objectKey);
  const body = await encodeManifest(manifest);
  for (let attempt = 1; ; attempt++) {
    try {
      await store.put(key, body, MANIFEST_CONTENT);
      return;
    } catch (error) {
      if (attempt < MANIFEST_PUT_ATTEMPTS && isRetriable(error)) {
        await sleep(backoffDelay(attempt, { baseMs: 100, maxMs: 1_000 }));
        continue;
      }
      throw new StoreError(
        'manifest_not_written',
        `could not record the ${records} records re-driven from ${objectKey} in ${key} (${describeError(error)}): the next run sends them again`,
        { cause: error },
      );
    }
  }
}

async function forEachLimit<T>(items: readonly T[], limit: number, action: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await action(items[next++] as T); // next < items.length
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
