import { readFile } from 'node:fs/promises';
import type { ErrorObject } from 'ajv';
import { ConfigError } from '../core/errors.js';
import { MAX_NAME_LENGTH } from '../event/schema.js';
import { newAjv } from './ajv.js';
import { describeAjvError } from './messages.js';

/** What to do with an event whose name the plan does not list. */
export type UnplannedEventPolicy = 'allow' | 'reject';
/** What to do with a top-level property its event's schema does not list. */
export type UnplannedPropertyPolicy = 'allow' | 'drop' | 'reject';
/** What to do with an event that breaks its schema: refuse it, or land it with its violations. */
export type ViolationPolicy = 'reject' | 'flag';

export interface PlanPolicies {
  unplanned_events: UnplannedEventPolicy;
  unplanned_properties: UnplannedPropertyPolicy;
  violations: ViolationPolicy;
}

export const DEFAULT_POLICIES: PlanPolicies = {
  unplanned_events: 'allow',
  unplanned_properties: 'allow',
  violations: 'reject',
};

/** A JSON Schema (draft 2020-12), as written in the plan. */
export type JsonSchema = { [keyword: string]: unknown };

export interface PlannedEvent {
  description?: string;
  /** The schema of the event's `properties`. */
  properties?: JsonSchema;
  /** `identify` only: the schema of `context.traits`. */
  traits?: JsonSchema;
}

/** A tracking plan file, as written. */
export interface PlanFile {
  $schema?: string;
  description?: string;
  policies?: Partial<PlanPolicies>;
  events: { [name: string]: PlannedEvent };
}

/**
 * The strict schema of a plan file: unknown keys are refused at every level, so a misspelt policy or
 * section is an error rather than silently ignored. Each event's schemas are then checked against the
 * JSON Schema 2020-12 meta-schema.
 */
export const PLAN_FILE_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  additionalProperties: false,
  required: ['events'],
  properties: {
    $schema: { type: 'string' },
    description: { type: 'string' },
    policies: {
      type: 'object',
      additionalProperties: false,
      properties: {
        unplanned_events: { enum: ['allow', 'reject'] },
        unplanned_properties: { enum: ['allow', 'drop', 'reject'] },
        violations: { enum: ['reject', 'flag'] },
      },
    },
    events: {
      type: 'object',
      propertyNames: { minLength: 1, maxLength: MAX_NAME_LENGTH },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: {
          description: { type: 'string' },
          properties: { type: 'object' },
          traits: { type: 'object' },
        },
      },
    },
  },
} as const;

let checkPlanFile: ReturnType<ReturnType<typeof newAjv>['compile']> | undefined;

/**
 * Checks a parsed plan file: its shape, then each schema against the meta-schema. Throws a
 * `ConfigError` naming the file, the JSON pointer and what is wrong.
 */
export function validatePlanFile(value: unknown, source: string): PlanFile {
  checkPlanFile ??= newAjv().compile(PLAN_FILE_SCHEMA);
  if (!checkPlanFile(value)) throw planError(source, checkPlanFile.errors ?? []);
  const plan = value as PlanFile;
  const meta = newAjv();
  for (const [name, planned] of Object.entries(plan.events)) {
    const at = `/events/${escapePointer(name)}`;
    if (planned.traits !== undefined && name !== 'identify') {
      throw new ConfigError(`${source}: ${at}/traits is only for the "identify" event`);
    }
    for (const part of ['properties', 'traits'] as const) {
      const schema = planned[part];
      if (schema === undefined) continue;
      if (!meta.validateSchema(schema)) {
        throw planError(source, meta.errors ?? [], `${at}/${part}`);
      }
      const type = schema.type;
      if (type !== undefined && type !== 'object') {
        throw new ConfigError(
          `${source}: ${at}/${part}/type must be "object": ${part} is a JSON object (given ${JSON.stringify(type)})`,
        );
      }
    }
  }
  return plan;
}

/** Reads and checks a plan file (JSON). */
export async function readPlanFile(file: string): Promise<PlanFile> {
  return validatePlanFile(await readPlanJson(file), file);
}

/** Reads a plan file's JSON, unchecked; errors name the file. */
export async function readPlanJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(
      code === 'ENOENT'
        ? `tracking plan ${file} does not exist`
        : `cannot read tracking plan ${file} (${code})`,
      error,
    );
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${file} is not valid JSON: ${(error as Error).message}`, error);
  }
}

/** A JSON pointer segment (RFC 6901). */
export function escapePointer(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}

function planError(source: string, errors: readonly ErrorObject[], base = ''): ConfigError {
  const first = errors[0];
  const what = first === undefined ? `${base || '/'} is invalid` : describeAjvError(first, base || '');
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  return new ConfigError(`${source}: ${what}${more}`);
}
