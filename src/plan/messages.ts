import type { ErrorObject } from 'ajv';

/** The longest text of a given value shown in a message. */
const MAX_SHOWN = 64;

/** A value as a message shows it: short JSON for scalars, the type for objects and arrays. */
export function showValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (value !== null && typeof value === 'object') return 'an object';
  const text = JSON.stringify(value);
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text;
}

/**
 * One ajv error as one line naming the JSON pointer (under `base`), the rule and the given value:
 * `properties/amount must be number (given "12")`, `properties/currency is required`.
 */
export function describeAjvError(error: ErrorObject, base: string): string {
  const at = `${base}${error.instancePath}` || '/';
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return `${at === '/' ? '' : at}/${String(params.missingProperty)} is required`;
    case 'additionalProperties':
      return `${at === '/' ? '' : at}/${String(params.additionalProperty)} is not allowed (unknown key)`;
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ');
      return `${at} must be one of ${allowed} (given ${showValue(error.data)})`;
    }
    default:
      return `${at} ${error.message ?? `breaks rule ${error.keyword}`} (given ${showValue(error.data)})`;
  }
}
