import type { ActivityEvent } from '../event/index.js';
import type { ResultTable } from '../query/index.js';
import { diffPlan, type PlanDiff } from './diff.js';
import { draftPlan, type KeyObservation, OBSERVATIONS_SQL, TOTALS_SQL } from './infer.js';
import type { PlanFile } from './plan-file.js';
import type { TrackingPlan } from './tracking-plan.js';

/** What `infer` and `diff` need of `activity query`'s `LandedData`: SQL over its `events` view. */
export interface EventsQuery {
  query(sql: string): Promise<ResultTable>;
}

function rows(table: ResultTable): { [column: string]: unknown }[] {
  const names = table.columns.map((c) => c.name);
  return table.rows.map((row) => Object.fromEntries(names.map((name, i) => [name, row[i]])));
}

/** A draft plan from the landed events (see `draftPlan`). */
export async function inferPlan(data: EventsQuery, description?: string): Promise<PlanFile> {
  const totals = new Map<string, number>();
  for (const row of rows(await data.query(TOTALS_SQL))) totals.set(String(row.event), Number(row.count));
  const observations: KeyObservation[] = rows(await data.query(OBSERVATIONS_SQL)).map((row) => ({
    event: String(row.event),
    part: row.part === 'traits' ? 'traits' : 'properties',
    key: String(row.key),
    jsonType: String(row.json_type),
    count: Number(row.count),
    examples: (row.examples as (string | null)[]).filter((e): e is string => e !== null),
  }));
  return draftPlan(totals, observations, description);
}

/** The SQL of the events a diff checks in one hour: each landed event's name, properties and context. */
function hourSql(dt: string, hour: number): string {
  return `SELECT event_id, user_id, event, timestamp::VARCHAR AS timestamp, properties::VARCHAR AS properties,
  context::VARCHAR AS context FROM events WHERE dt = DATE '${dt}' AND hour = ${hour}`;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Where the landed events and `plan` disagree (see `diffPlan`). Read one hour partition at a time,
 * so memory holds one hour's events, however many hours have landed.
 */
export async function diffWithLanded(plan: TrackingPlan, data: EventsQuery): Promise<PlanDiff> {
  const hours = rows(await data.query('SELECT DISTINCT dt::VARCHAR AS dt, hour FROM events ORDER BY 1, 2'));
  async function* events(): AsyncGenerator<ActivityEvent> {
    for (const { dt, hour } of hours) {
      const day = String(dt);
      if (!DATE.test(day) || !Number.isInteger(hour))
        throw new Error(`unexpected partition ${day} ${String(hour)}`);
      for (const row of rows(await data.query(hourSql(day, hour as number)))) {
        const event: ActivityEvent = {
          event_id: String(row.event_id),
          user_id: String(row.user_id),
          event: String(row.event),
          timestamp: String(row.timestamp),
          received_at: String(row.timestamp),
        };
        if (typeof row.properties === 'string') event.properties = JSON.parse(row.properties);
        if (typeof row.context === 'string') event.context = JSON.parse(row.context);
        yield event;
      }
    }
  }
  return diffPlan(plan, events());
}
