import type { ObjectStore } from '../src/core/ports.js';
import type { ActivityEvent } from '../src/event/index.js';
import { partitionOf } from '../src/layout/index.js';
import type { Simulator } from '../src/producer/index.js';

/** A store that takes every object and keeps none of them, so only the writer's own work is timed. */
export const discardStore: ObjectStore = {
  url: 'discard://',
  connect: async () => undefined,
  put: async () => undefined,
  get: async () => {
    throw new Error('discard store keeps nothing');
  },
  delete: async () => undefined,
  list: async function* () {},
  close: async () => undefined,
};

/**
 * The next `count` simulated events as they would land (received 40 ms after they happened), grouped
 * by their `dt=…/hour=…` partition, for benches that write a landed sink directly.
 */
export function landedByPartition(simulator: Simulator, count: number): Map<string, ActivityEvent[]> {
  const groups = new Map<string, ActivityEvent[]>();
  for (let i = 0; i < count; i++) {
    const e = simulator.next();
    const ms = Date.parse(e.timestamp);
    const event: ActivityEvent = {
      ...e,
      context: { ...e.context },
      received_at: new Date(ms + 40).toISOString(),
    };
    const partition = partitionOf(ms);
    const group = groups.get(partition);
    if (group === undefined) groups.set(partition, [event]);
    else group.push(event);
  }
  return groups;
}

/** The middle of `values` (the mean of the two middle ones for an even count): a figure over rounds. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
