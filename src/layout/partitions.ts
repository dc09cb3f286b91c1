import { columnTable } from './columns.js';

/**
 * The partition columns: the `dt=YYYY-MM-DD/hour=HH` segments of every key, in UTC (event time for
 * `events/`, arrival time for `errors/`). Not stored in the objects: as in Hive, they are the path.
 */
export const PARTITION_COLUMNS = columnTable([
  { name: 'dt', type: 'date', description: 'YYYY-MM-DD, UTC' },
  { name: 'hour', type: 'integer', description: '0-23, UTC' },
]);

const HOUR_MS = 3_600_000;

/** `dt=YYYY-MM-DD/hour=HH` of an instant, in UTC. */
export function partitionOf(epochMs: number): string {
  const iso = new Date(epochMs).toISOString();
  return `dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}`;
}

/** `dt=YYYY-MM-DD/hour=HH`: the partition of an object, as in its key. */
export function partitionKey(object: { dt: string; hour: number }): string {
  return `dt=${object.dt}/hour=${String(object.hour).padStart(2, '0')}`;
}

/**
 * `partitionOf` that keeps its last answer: nearly every event of a batch falls in the hour of the one
 * before, and formatting a date is most of the cost of partitioning. One per batch (or invocation).
 */
export class Partitioner {
  #hour = Number.NaN;
  #partition = '';

  of(epochMs: number): string {
    const hour = Math.floor(epochMs / HOUR_MS);
    if (hour !== this.#hour) {
      this.#partition = partitionOf(hour * HOUR_MS);
      this.#hour = hour;
    }
    return this.#partition;
  }
}
