import type { ActivityEvent } from '../event/index.js';
import type { PlanReason, TrackingPlan } from './tracking-plan.js';

/** A count of one kind of disagreement, with one message as an example. */
export interface DiffCount {
  count: number;
  example: string;
}

/** Where landed data and a plan disagree. */
export interface PlanDiff {
  /** Events checked. */
  events: number;
  /** Events that the plan passes (maybe flagged or with properties dropped): as the consumer would land them. */
  passing: number;
  /** Event names landed that the plan does not list, with their counts. */
  unplannedEvents: { [name: string]: number };
  /** Planned event names that did not land at all. */
  unseenEvents: string[];
  /** `event` → property → count, of top-level properties the plan does not list for that event. */
  unplannedProperties: { [event: string]: { [property: string]: number } };
  /** Schema violations by `event pointer rule`, as the plan's `check` finds them. */
  violations: {
    [key: string]: DiffCount & { event: string; reason: PlanReason; pointer: string; rule: string };
  };
}

/**
 * Runs every event through `plan.check` with all the plan's rules and counts what disagrees: the
 * events and properties the plan does not know (whatever its policies say of them) and each schema
 * rule broken.
 */
export async function diffPlan(
  plan: TrackingPlan,
  events: Iterable<ActivityEvent> | AsyncIterable<ActivityEvent>,
): Promise<PlanDiff> {
  const diff: PlanDiff = {
    events: 0,
    passing: 0,
    unplannedEvents: {},
    unseenEvents: [],
    unplannedProperties: {},
    violations: {},
  };
  const planned = new Set(plan.eventNames);
  const seen = new Set<string>();
  for await (const event of events) {
    diff.events++;
    seen.add(event.event);
    if (plan.check(event).ok) diff.passing++;
    if (!planned.has(event.event)) {
      diff.unplannedEvents[event.event] = (diff.unplannedEvents[event.event] ?? 0) + 1;
      continue;
    }
    const known = plan.propertiesOf(event.event);
    for (const key in event.properties ?? {}) {
      if (Object.hasOwn(known, key)) continue;
      const counts = diff.unplannedProperties[event.event] ?? {};
      counts[key] = (counts[key] ?? 0) + 1;
      diff.unplannedProperties[event.event] = counts;
    }
    for (const v of plan.violationsOf(event)) {
      const key = `${event.event} ${v.pointer} ${v.rule}`;
      const entry = diff.violations[key] ?? { ...v, event: event.event, count: 0, example: v.message };
      entry.count++;
      diff.violations[key] = entry;
    }
  }
  diff.unseenEvents = plan.eventNames.filter((name) => !seen.has(name));
  return diff;
}

/** The diff as lines for people. */
export function formatDiff(diff: PlanDiff): string {
  const lines = [`${diff.events} events checked; ${diff.passing} pass the plan as its policies stand`];
  const unplanned = Object.entries(diff.unplannedEvents).sort(([, a], [, b]) => b - a);
  lines.push(unplanned.length === 0 ? 'events not in the plan: none' : 'events not in the plan:');
  for (const [name, count] of unplanned) lines.push(`  ${name}  ${count}`);
  if (diff.unseenEvents.length > 0)
    lines.push(`planned events with no data: ${diff.unseenEvents.join(', ')}`);
  const properties = Object.entries(diff.unplannedProperties);
  lines.push(properties.length === 0 ? 'properties not in the plan: none' : 'properties not in the plan:');
  for (const [event, counts] of properties) {
    for (const [key, count] of Object.entries(counts)) lines.push(`  ${event}  properties/${key}  ${count}`);
  }
  const violations = Object.values(diff.violations).sort((a, b) => b.count - a.count);
  lines.push(violations.length === 0 ? 'schema violations: none' : 'schema violations, by rule:');
  for (const v of violations)
    lines.push(`  ${v.event}  ${v.pointer}  ${v.rule}  ${v.count}  e.g. ${v.example}`);
  return `${lines.join('\n')}\n`;
}
