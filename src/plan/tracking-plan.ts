import type { ValidateFunction } from 'ajv';
import { ConfigError } from '../core/errors.js';
import type { ActivityEvent, JsonValue } from '../event/index.js';
import { newAjv } from './ajv.js';
import { describeAjvError } from './messages.js';
import {
  DEFAULT_POLICIES,
  escapePointer,
  type JsonSchema,
  type PlanFile,
  type PlanPolicies,
  readPlanJson,
  validatePlanFile,
} from './plan-file.js';

/** Why the plan refused (or flagged) an event: each a reason code of `errors/` lines too. */
export type PlanReason = 'schema_violation' | 'unplanned_event' | 'unplanned_property';

export const PLAN_REASONS: readonly PlanReason[] = [
  'schema_violation',
  'unplanned_event',
  'unplanned_property',
];

/** One way an event disagrees with the plan. */
export interface Violation {
  reason: PlanReason;
  /** Where, as a JSON pointer into the event without the leading slash: `properties/amount`. */
  pointer: string;
  /** The JSON Schema keyword broken (`type`, `required`, …), or the plan policy applied. */
  rule: string;
  /** One line: the pointer, the rule and the given value. */
  message: string;
}

/**
 * What the plan says of one event. `ok` with the event to land: the same object when nothing changed,
 * a copy without `dropped` properties, or (policy `flag`) a copy with its `violations` in `context`.
 * Otherwise the violations that refuse it.
 */
export type PlanVerdict =
  | { ok: true; event: ActivityEvent; dropped: readonly string[]; flagged: readonly Violation[] }
  | { ok: false; violations: readonly Violation[] };

/** The key of `context` under which a flagged event carries its violations. */
export const VIOLATIONS_CONTEXT_KEY = 'violations';

interface CompiledEvent {
  properties: ValidateFunction | undefined;
  traits: ValidateFunction | undefined;
  /** The top-level properties the schema names: any other is unplanned. */
  planned: ReadonlySet<string>;
  schema: JsonSchema | undefined;
}

const NOTHING: readonly string[] = [];
const NONE: readonly Violation[] = [];

/**
 * A tracking plan, compiled once: for each planned event a validator of its `properties` (and, for
 * `identify`, of `context.traits`), and the plan-wide policies. `check` is the one rule every path
 * applies.
 */
export class TrackingPlan {
  readonly policies: PlanPolicies;
  /** Where the plan came from, for messages. */
  readonly source: string;
  private readonly events: ReadonlyMap<string, CompiledEvent>;
  readonly file: PlanFile;

  private constructor(file: PlanFile, source: string, events: Map<string, CompiledEvent>) {
    this.file = file;
    this.source = source;
    this.policies = { ...DEFAULT_POLICIES, ...file.policies };
    this.events = events;
  }

  /** Checks and compiles a parsed plan; `source` names it in errors. */
  static fromPlan(value: unknown, source = 'tracking plan'): TrackingPlan {
    const file = validatePlanFile(value, source);
    const ajv = newAjv();
    const events = new Map<string, CompiledEvent>();
    for (const [name, planned] of Object.entries(file.events)) {
      const compile = (schema: JsonSchema | undefined, part: string) => {
        if (schema === undefined) return undefined;
        try {
          return ajv.compile(schema);
        } catch (error) {
          throw new ConfigError(
            `${source}: /events/${escapePointer(name)}/${part}: ${(error as Error).message}`,
            error,
          );
        }
      };
      events.set(name, {
        properties: compile(planned.properties, 'properties'),
        traits: compile(planned.traits, 'traits'),
        planned: new Set(Object.keys(schemaProperties(planned.properties))),
        schema: planned.properties,
      });
    }
    return new TrackingPlan(file, source, events);
  }

  /** Reads, checks and compiles a plan file. */
  static async fromFile(file: string): Promise<TrackingPlan> {
    return TrackingPlan.fromPlan(await readPlanJson(file), file);
  }

  /** The planned event names, in the plan's order. */
  get eventNames(): string[] {
    return [...this.events.keys()];
  }

  /** The top-level property schemas the plan gives an event, by name; empty for an unplanned one. */
  propertiesOf(name: string): { [property: string]: JsonSchema } {
    return schemaProperties(this.events.get(name)?.schema);
  }

  /** The properties an event's schema requires. */
  requiredOf(name: string): readonly string[] {
    const required = this.events.get(name)?.schema?.required;
    return Array.isArray(required) ? (required as string[]) : [];
  }

  /** The schema violations of a planned event, whatever the policies; none for an unplanned one. */
  violationsOf(event: ActivityEvent): Violation[] {
    const compiled = this.events.get(event.event);
    return compiled === undefined ? [] : schemaViolations(compiled, event);
  }

  /** What the plan says of `event`. Never throws. */
  check(event: ActivityEvent): PlanVerdict {
    const compiled = this.events.get(event.event);
    if (compiled === undefined) {
      if (this.policies.unplanned_events === 'allow')
        return { ok: true, event, dropped: NOTHING, flagged: NONE };
      return {
        ok: false,
        violations: [
          {
            reason: 'unplanned_event',
            pointer: 'event',
            rule: 'unplanned_events',
            message: `event ${JSON.stringify(event.event)} is not in the tracking plan`,
          },
        ],
      };
    }
    let landed = event;
    let dropped = NOTHING;
    const refused: Violation[] = [];
    const properties = event.properties;
    const policy = this.policies.unplanned_properties;
    if (policy !== 'allow' && properties !== undefined) {
      for (const key in properties) {
        if (compiled.planned.has(key)) continue;
        if (policy === 'drop') {
          if (dropped === NOTHING) dropped = [];
          (dropped as string[]).push(key);
        } else {
          refused.push({
            reason: 'unplanned_property',
            pointer: `properties/${escapePointer(key)}`,
            rule: 'unplanned_properties',
            message: `properties/${escapePointer(key)} is not in the tracking plan for ${JSON.stringify(event.event)}`,
          });
        }
      }
      if (dropped.length > 0) {
        const kept: { [key: string]: JsonValue } = {};
        for (const key in properties) if (compiled.planned.has(key)) kept[key] = properties[key] as JsonValue;
        landed = { ...event, properties: kept };
      }
    }
    const broken = schemaViolations(compiled, landed);
    if (refused.length === 0 && broken.length === 0)
      return { ok: true, event: landed, dropped, flagged: NONE };
    if (refused.length > 0 || this.policies.violations === 'reject') {
      return { ok: false, violations: [...refused, ...broken] };
    }
    const flags = broken.map(({ reason, message }) => ({ reason, message }));
    const context = { ...landed.context, [VIOLATIONS_CONTEXT_KEY]: flags };
    return { ok: true, event: { ...landed, context }, dropped, flagged: broken };
  }
}

/** The violations of an `errors/` line: the first one's reason, every message in one line. */
export function describeViolations(violations: readonly Violation[]): {
  reason: PlanReason;
  message: string;
} {
  const first = violations[0];
  return {
    reason: first?.reason ?? 'schema_violation',
    message: violations.map((v) => v.message).join('; '),
  };
}

function schemaViolations(compiled: CompiledEvent, event: ActivityEvent): Violation[] {
  const found: Violation[] = [];
  const run = (validate: ValidateFunction | undefined, value: unknown, base: string) => {
    if (validate === undefined || validate(value)) return;
    for (const error of validate.errors ?? []) {
      // A missing or unknown property is pointed at itself, not at the object that holds it.
      const params = error.params as { missingProperty?: string; additionalProperty?: string };
      const key =
        error.keyword === 'required'
          ? params.missingProperty
          : error.keyword === 'additionalProperties'
            ? params.additionalProperty
            : undefined;
      found.push({
        reason: 'schema_violation',
        pointer: `${base}${error.instancePath}${key === undefined ? '' : `/${escapePointer(key)}`}`,
        rule: error.keyword,
        message: describeAjvError(error, base),
      });
    }
  };
  run(compiled.properties, event.properties ?? {}, 'properties');
  // `identify`'s traits have a column of their own; events landed before it kept them in `context`.
  if (compiled.traits !== undefined) {
    if (event.traits !== undefined) run(compiled.traits, event.traits, 'traits');
    else run(compiled.traits, event.context?.traits ?? {}, 'context/traits');
  }
  return found;
}

function schemaProperties(schema: JsonSchema | undefined): { [property: string]: JsonSchema } {
  const properties = schema?.properties;
  return typeof properties === 'object' && properties !== null
    ? (properties as { [property: string]: JsonSchema })
    : {};
}
