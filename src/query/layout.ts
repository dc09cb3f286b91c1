import type { ObjectStore } from '../core/ports.js';

/** The two datasets of a sink, each a view of `activity query`. */
export type Dataset = 'events' | 'errors';

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
    format: extension === '.parquet' ? 'parquet' : 'ndjson',
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

const COMPACTED_NAME = /^compacted-[0-9a-f]{16}\.parquet$/;

/** True for the name of an object `activity compact` wrote: one row per `event_id` of its hour. */
export function isCompactedKey(key: string): boolean {
  return COMPACTED_NAME.test(key.slice(key.lastIndexOf('/') + 1));
}

/** `dt=YYYY-MM-DD/hour=HH`: the partition of an object, as in its key. */
export function partitionKey(object: { dt: string; hour: number }): string {
  return `dt=${object.dt}/hour=${String(object.hour).padStart(2, '0')}`;
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
