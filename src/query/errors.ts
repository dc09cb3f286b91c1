import { PipelineError } from '../core/errors.js';

/** A query, a report or a compaction could not run: bad SQL, an unreadable object, a sink that kept changing. */
export class QueryError extends PipelineError {
  constructor(code: string, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(code, message, { ...options, stage: 'query' });
    this.name = 'QueryError';
  }
}

const VIEWS_HINT = 'the views are events and errors: see activity query --help';

/**
 * A DuckDB error as one line: its first line (DuckDB adds the query text and a caret below), the
 * position when it names one, and a hint for errors about names.
 */
export function describeDuckDbError(error: unknown): { code: string; message: string } {
  const text = error instanceof Error ? error.message : String(error);
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const line = lines[0] ?? text;
  // DuckDB may wrap the error in a phrase of its own ("Failed to extract statements: Parser Error: …").
  const match = /([A-Z][A-Za-z]*(?: [A-Z][A-Za-z]*)*) Error: (.*)$/.exec(line);
  const kind = match?.[1] ?? '';
  const first = match === null ? line : `${kind} Error: ${match[2]}`;
  const code =
    kind === 'Parser'
      ? 'invalid_sql'
      : kind === 'Binder' || kind === 'Catalog'
        ? 'unknown_name'
        : kind === 'IO'
          ? 'unreadable_object'
          : kind === 'Interrupt'
            ? 'interrupted'
            : 'query_failed';
  const hint = code === 'unknown_name' || code === 'invalid_sql' ? `; ${VIEWS_HINT}` : '';
  return { code, message: `${first}${hint}` };
}
