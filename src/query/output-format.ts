import { ConfigError } from '../core/errors.js';

/** How `activity query` prints a result. */
export type OutputFormat = 'table' | 'json' | 'csv';

export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'json', 'csv'];

export function parseOutputFormat(text: string): OutputFormat {
  const value = text.trim().toLowerCase();
  if (value === 'table' || value === 'json' || value === 'csv') return value;
  throw new ConfigError(`--output must be table, json or csv (given "${text}")`);
}
