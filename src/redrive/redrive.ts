import { promisify } from 'node:util';
import { gunzip as gunzipCallback } from 'node:zlib';
import { ConfigError, describeError, StoreError } from '../core/errors.js';
import type { ObjectStore, StreamWriter } from '../core/ports.js';
import { type ForgottenUsers, NOBODY, userIdInBytes } from '../forget/forgotten-list.js';
import { type ErrorLine, manifestKeyOf, NDJSON_GZIP, readErrorLine } from '../layout/index.js';
import { type AcceptedRecord, BatchingProducer, type BatchingProducerOptions } from '../producer/index.js';
import { retry } from '../util/backoff.js';
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
  /** Users whose records are never sent (the sink's list of forgotten users); counted in `forgotten`. */
  forgotten?: ForgottenUsers;
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
  /** Selected records not sent because they belong to a forgotten user. */
  forgotten: number;
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

/** A line of an `errors/` object chosen to be sent. */
interface Selected {
  /** 1-based. */
  line: number;
  record: ErrorRecord;
}

/** What one `errors/` object holds for this run: the records to send, and what was passed over. */
interface ObjectSelection {
  key: string;
  selected: Selected[];
  /** Records an earlier run sent (from this object), or that came back to `errors/` after one. */
  skipped: number;
  /** Of `skipped`: records that came back to `errors/` after an earlier redrive. */
  relanded: number;
  /** Records of forgotten users, never sent. */
  forgotten: number;
  /** Lines that are not error records, with why. */
  unreadableLines: { line: number; why: string }[];
  /** Why the object itself could not be read, when it could not. */
  unreadable?: string;
}

/** What earlier runs did, read from every manifest before anything is sent. */
interface History {
  /** The `errors/` objects, in listing order. */
  keys: string[];
  manifests: Map<string, RedriveManifest>;
  /** Stream positions that earlier runs sent records to (`positionId`). */
  sentTo: Set<string>;
}

/** Which records a run takes: by reason, and whether it takes records that came back after a redrive. */
interface Selection {
  reasons: ReadonlySet<string> | undefined;
  includeRelanded: boolean;
  forgotten: ForgottenUsers;
}

interface Send extends Selected {
  outcome: Promise<{ ok: true; accepted: AcceptedRecord } | { ok: false; error: unknown }>;
}

/**
 * Puts records kept in `errors/` back on the stream: each selected line's original bytes, with its
 * original partition key, through a `BatchingProducer`. The stream writer must be connected; it is
 * left open. Once every selected line of an `errors/` object has been answered, the lines the stream
 * accepted are recorded in that object's manifest (`_redrive/<key>.json.gz`), and later runs skip them.
 * A dry run reads the manifests, selects and counts, and needs no stream.
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
  const { signal } = options;
  const selection: Selection = {
    reasons: reasons === undefined ? undefined : new Set(reasons),
    includeRelanded: options.includeRelanded ?? false,
    forgotten: options.forgotten ?? NOBODY,
  };
  const stats = emptyStats();
  const result = (stopped: boolean): RedriveResult => ({
    ...stats,
    byReason: { ...stats.byReason },
    dryRun,
    stream: options.streamName,
    reasons: reasons ?? 'all',
    stopped,
  });

  // Every manifest is read before anything is sent: a record that came back to errors/ after an
  // earlier redrive may sit in any object, before or after the one whose manifest names it.
  const history = await readHistory(store, signal);
  stats.objects = history.keys.length;
  if (signal?.aborted) return result(true);
  options.onProgress?.(stats);

  const objects = selectEach(store, history, selection, signal);
  const warn = options.warn ?? (() => undefined);
  if (stream === undefined || dryRun) await countSelected(objects, stats, warn);
  else await sendSelected(objects, { store, stream, history, stats, options, reasons, warn });
  // The signal stops the run between objects: it stopped early if some were left unread.
  return result(signal?.aborted === true && stats.objectsRead < stats.objects);
}

function emptyStats(): RedriveStats {
  return {
    objects: 0,
    objectsRead: 0,
    objectsSent: 0,
    sent: 0,
    byReason: {},
    skipped: 0,
    relanded: 0,
    rejected: 0,
    forgotten: 0,
    unreadableLines: 0,
    unreadableObjects: 0,
    manifests: 0,
  };
}

function countSent(stats: RedriveStats, reason: string): void {
  stats.sent++;
  stats.byReason[reason] = (stats.byReason[reason] ?? 0) + 1;
}

/** Lists the `errors/` objects and reads their manifests. */
async function readHistory(store: ObjectStore, signal: AbortSignal | undefined): Promise<History> {
  const keys: string[] = [];
  for await (const { key } of store.list(ERRORS_PREFIX, signal)) {
    if (key.endsWith(NDJSON_GZIP.extension)) keys.push(key);
  }
  const manifests = new Map<string, RedriveManifest>();
  const sentTo = new Set<string>();
  await forEachLimit(keys, MANIFEST_READS, async (key) => {
    if (signal?.aborted) return;
    const manifest = await readManifest(store, key, signal);
    if (manifest === undefined) return;
    manifests.set(key, manifest);
    for (const run of manifest.runs) {
      if (run.stream_arn === undefined) continue;
      for (const r of run.records) sentTo.add(positionId(run.stream_arn, r.sent_to));
    }
  });
  return { keys, manifests, sentTo };
}

/** Reads the `errors/` objects one after another, selecting from each; stops when the signal aborts. */
async function* selectEach(
  store: ObjectStore,
  history: History,
  selection: Selection,
  signal: AbortSignal | undefined,
): AsyncGenerator<ObjectSelection> {
  for (const key of history.keys) {
    if (signal?.aborted) return;
    let lines: string[];
    try {
      lines = await readLines(store, key, signal);
    } catch (error) {
      if (error instanceof StoreError) throw error;
      yield {
        key,
        selected: [],
        skipped: 0,
        relanded: 0,
        forgotten: 0,
        unreadableLines: [],
        unreadable: describeError(error),
      };
      continue;
    }
    yield { key, ...selectLines(lines, doneIn(history.manifests.get(key)), history.sentTo, selection) };
  }
}

/** The lines of one object to send, and what is passed over: those `done` names, or that came back. */
function selectLines(
  lines: readonly string[],
  done: ReadonlySet<string>,
  sentTo: ReadonlySet<string>,
  selection: Selection,
): Omit<ObjectSelection, 'key'> {
  const chosen: Omit<ObjectSelection, 'key'> = {
    selected: [],
    skipped: 0,
    relanded: 0,
    forgotten: 0,
    unreadableLines: [],
  };
  for (const [i, text] of lines.entries()) {
    if (text.trim() === '') continue;
    const line = i + 1;
    const record = parseErrorRecord(text);
    if (typeof record === 'string') {
      chosen.unreadableLines.push({ line, why: record });
      continue;
    }
    if (selection.reasons !== undefined && !selection.reasons.has(record.reason)) continue;
    if (selection.forgotten.size > 0 && isForgotten(selection.forgotten, record)) {
      chosen.forgotten++;
      continue;
    }
    if (done.has(recordId(record))) {
      chosen.skipped++;
      continue;
    }
    const cameBack =
      record.event_source_arn !== undefined &&
      sentTo.has(
        positionId(record.event_source_arn, {
          shard_id: record.shard_id,
          sequence_number: record.sequence_number,
        }),
      );
    if (cameBack && !selection.includeRelanded) {
      chosen.skipped++;
      chosen.relanded++;
      continue;
    }
    chosen.selected.push({ line, record });
  }
  return chosen;
}

/** Adds what was read and passed over in one object to the counts, and warns about what is unreadable. */
function tallyRead(stats: RedriveStats, object: ObjectSelection, warn: (message: string) => void): void {
  stats.objectsRead++;
  if (object.unreadable !== undefined) {
    stats.unreadableObjects++;
    warn(`${object.key}: not a gzip NDJSON object (${object.unreadable}); skipped`);
  }
  for (const { line, why } of object.unreadableLines) {
    stats.unreadableLines++;
    warn(`${object.key} line ${line}: ${why}; skipped`);
  }
  stats.skipped += object.skipped;
  stats.relanded += object.relanded;
  stats.forgotten += object.forgotten;
}

/** A record of a forgotten user: by its partition key, or by the `user_id` of its bytes. */
function isForgotten(forgotten: ForgottenUsers, record: ErrorRecord): boolean {
  if (forgotten.has(record.partition_key)) return true;
  const id = userIdInBytes(Buffer.from(record.data, 'base64'));
  return id !== undefined && forgotten.has(id);
}

/** A dry run: what would be sent, counted by reason, with nothing sent or written. */
async function countSelected(
  objects: AsyncIterable<ObjectSelection>,
  stats: RedriveStats,
  warn: (message: string) => void,
): Promise<void> {
  for await (const object of objects) {
    tallyRead(stats, object, warn);
    for (const { record } of object.selected) countSent(stats, record.reason);
    if (object.selected.length > 0) stats.objectsSent++;
  }
}

interface SendContext {
  store: ObjectStore;
  stream: StreamWriter;
  history: History;
  stats: RedriveStats;
  options: RedriveOptions;
  reasons: string[] | undefined;
  warn: (message: string) => void;
}

/**
 * Sends each object's selected records, and records what the stream accepted in the object's manifest
 * once all of them are answered, with up to `OBJECTS_IN_FLIGHT` objects waiting for their answers.
 * Whatever ends the loop (the signal, a manifest that cannot be written), what was accepted is recorded.
 */
async function sendSelected(objects: AsyncIterable<ObjectSelection>, context: SendContext): Promise<void> {
  const { stats, warn } = context;
  const producer = new BatchingProducer(context.stream, context.options.producer);
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  try {
    for await (const object of objects) {
      if (failure !== undefined) break;
      tallyRead(stats, object, warn);
      if (object.selected.length === 0) continue;
      const sends = await send(producer, object.selected);
      const task = recordSent(context, object.key, sends)
        .catch((error: unknown) => {
          failure ??= error;
        })
        .finally(() => inFlight.delete(task));
      inFlight.add(task);
      if (inFlight.size >= OBJECTS_IN_FLIGHT) await Promise.race(inFlight);
    }
  } finally {
    await producer.flush();
    await Promise.all(inFlight);
  }
  if (failure !== undefined) throw failure;
}

/** Puts the records on the stream, waiting whenever the producer is full; their answers come later. */
async function send(producer: BatchingProducer, selected: readonly Selected[]): Promise<Send[]> {
  const sends: Send[] = [];
  for (const { line, record } of selected) {
    const put = { partitionKey: record.partition_key, data: Buffer.from(record.data, 'base64') };
    const outcome = producer.put(put).then(
      (accepted) => ({ ok: true as const, accepted }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    sends.push({ line, record, outcome });
    await producer.ready();
  }
  return sends;
}

/** Waits for every answer of one object's records, counts them, and writes its manifest. */
async function recordSent(context: SendContext, key: string, sends: readonly Send[]): Promise<void> {
  const { store, history, stats, options } = context;
  const records: RedrivenRecord[] = [];
  for (const { line, record, outcome } of sends) {
    const answer = await outcome;
    if (!answer.ok) {
      stats.rejected++;
      options.onRejected?.({ object: key, line, reason: record.reason, error: answer.error });
      continue;
    }
    countSent(stats, record.reason);
    records.push(redrivenRecord(line, record, answer.accepted));
  }
  if (records.length === 0) return;
  stats.objectsSent++;
  const run: RedriveRun = {
    at: new Date((options.now ?? Date.now)()).toISOString(),
    stream: options.streamName,
    ...(options.streamArn === undefined ? {} : { stream_arn: options.streamArn }),
    reasons: context.reasons ?? 'all',
    records,
  };
  const previous = history.manifests.get(key);
  const manifest: RedriveManifest = { version: 1, object: key, runs: [...(previous?.runs ?? []), run] };
  await putManifest(store, key, manifest, records.length);
  history.manifests.set(key, manifest);
  stats.manifests++;
}

function redrivenRecord(line: number, record: ErrorRecord, accepted: AcceptedRecord): RedrivenRecord {
  return {
    line,
    reason: record.reason,
    shard_id: record.shard_id,
    sequence_number: record.sequence_number,
    ...(record.sub_sequence_number === undefined ? {} : { sub_sequence_number: record.sub_sequence_number }),
    sent_to: { shard_id: accepted.shardId, sequence_number: accepted.sequenceNumber },
  };
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
  try {
    await retry(() => store.put(key, body, MANIFEST_CONTENT), {
      attempts: MANIFEST_PUT_ATTEMPTS,
      backoff: { baseMs: 100, maxMs: 1_000 },
    });
  } catch (error) {
    throw new StoreError(
      'manifest_not_written',
      `could not record the ${records} records re-driven from ${objectKey} in ${key} (${describeError(error)}): the next run sends them again`,
      { cause: error },
    );
  }
}

async function forEachLimit<T>(items: readonly T[], limit: number, action: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await action(items[next++] as T); // next < items.length
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
