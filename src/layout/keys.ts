import { createHash } from 'node:crypto';
import type { ObjectStore } from '../core/ports.js';
import type { Dataset } from './datasets.js';
import { assertSafeKey, NDJSON_GZIP, PARQUET } from './names.js';
import { partitionKey } from './partitions.js';

const SHARD_ID = /^shardId-[0-9]{1,20}$/;
const SEQUENCE_NUMBER = /^[0-9]{1,128}$/;

/**
 * The deterministic key of an object: its dataset, partition, shard and the sequence number of the
 * first record in it. A retried batch starts at the same record, so it overwrites the same object
 * instead of adding a duplicate; since the name comes from the first record of this object (not of
 * the batch), a batch retried in smaller pieces (bisected) overwrites too. Only stream positions, never
 * event data, reach the name; odd shard ids or sequence numbers are hashed. `extension` is the
 * format's (`.ndjson.gz`, or `.parquet` for events landed as Parquet).
 */
export function objectKey(
  dataset: Dataset,
  partition: string,
  shardId: string,
  firstSequenceNumber: string,
  suffix = '',
  extension: string = NDJSON_GZIP.extension,
): string {
  const shard = SHARD_ID.test(shardId) ? shardId : `shard-${digest(shardId)}`;
  const seq = SEQUENCE_NUMBER.test(firstSequenceNumber)
    ? firstSequenceNumber
    : `seq-${digest(firstSequenceNumber)}`;
  return `${dataset}/${partition}/${shard}-${seq}${suffix}${extension}`;
}

/** The deterministic key of the compacted object of a set of inputs: the same inputs, the same key. */
export function compactedKey(partition: string, inputKeys: readonly string[]): string {
  return `events/${partition}/compacted-${digest([...inputKeys].sort().join('\n'))}${PARQUET.extension}`;
}

const COMPACTED_NAME = /^compacted-[0-9a-f]{16}\.parquet$/;

/** True for the name of an object `activity compact` wrote: one row per `event_id` of its hour. */
export function isCompactedKey(key: string): boolean {
  return COMPACTED_NAME.test(key.slice(key.lastIndexOf('/') + 1));
}

/** Where redrive manifests live: a hidden name, so readers of the sink (and `list`) never take them for data. */
export const MANIFEST_PREFIX = '_redrive';

/** Manifests are gzipped JSON: positions repeat so much that they shrink about twentyfold. */
export const MANIFEST_EXTENSION = '.json.gz';

/**
 * The key of the redrive manifest of an `errors/` object: `_redrive/<its key>.json.gz`, built only from
 * the store's own (already safe) key; one too long for a key is named by its digest instead.
 */
export function manifestKeyOf(objectKey: string): string {
  const key = `${MANIFEST_PREFIX}/${objectKey}${MANIFEST_EXTENSION}`;
  try {
    assertSafeKey(key);
    return key;
  } catch {
    const full = createHash('sha256').update(objectKey).digest('hex');
    return `${MANIFEST_PREFIX}/by-digest/${full}${MANIFEST_EXTENSION}`;
  }
}

/** One landed object, with its partition and format read from its key. */
export interface LandedObject {
  key: string;
  size: number;
  dataset: Dataset;
  /** `YYYY-MM-DD`, UTC. */
  dt: string;
  /** 0-23, UTC. */
  hour: number;
  format: 'ndjson' | 'parquet';
}

const LANDED_KEY = /^(events|errors)\/dt=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\/[^/]+?(\.ndjson\.gz|\.parquet)$/;

/**
 * The partition and format of a landed object's key, or undefined for a key outside the landed layout
 * (`<dataset>/dt=YYYY-MM-DD/hour=HH/<name>.ndjson.gz|.parquet`), which readers leave alone.
 */
export function parseLandedKey(key: string, size = 0): LandedObject | undefined {
  const match = LANDED_KEY.exec(key);
  if (match === null) return undefined;
  const [, dataset, dt, hour, extension] = match;
  const h = Number(hour);
  if (h > 23) return undefined;
  return {
    key,
    size,
    dataset: dataset as Dataset,
    dt: dt as string,
    hour: h,
    format: extension === PARQUET.extension ? 'parquet' : 'ndjson',
  };
}

/** Every finished object of a dataset, in key order; hidden names are skipped by the store. */
export async function listLanded(
  store: ObjectStore,
  dataset: Dataset,
  signal?: AbortSignal,
): Promise<LandedObject[]> {
  const objects: LandedObject[] = [];
  for await (const { key, size } of store.list(dataset, signal)) {
    const landed = parseLandedKey(key, size);
    if (landed?.dataset === dataset) objects.push(landed);
  }
  return objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Objects grouped by partition, in partition order. */
export function byPartition(objects: readonly LandedObject[]): Map<string, LandedObject[]> {
  const groups = new Map<string, LandedObject[]>();
  for (const object of objects) {
    const id = partitionKey(object);
    const group = groups.get(id);
    if (group === undefined) groups.set(id, [object]);
    else group.push(object);
  }
  return new Map([...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}
