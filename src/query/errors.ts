import { PipelineError } from '../core/errors.js';

/** A query, a report or a compaction could not run: bad SQL, an unreadable object, a sink that kept changing. */
export class QueryError extends PipelineError {
  constructor(code: string, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(code, message, { ...options, stage: 'query' });
    this.name = 'QueryError';
  }
}

const VIEWS_HINT = 'the views are events and errors: see activity query --help';

/** The key of a landed object inside a path DuckDB quotes (in place, or downloaded under its key). */
const OBJECT_KEY =
  /(?:events|errors)\/dt=\d{4}-\d{2}-\d{2}\/hour=\d{2}\/[^/"'\s]+?(?:\.ndjson\.gz|\.parquet)(?=["'\s,;:]|$)/;

/**
 * A DuckDB error as one line: its first line (DuckDB adds the query text and a caret below), the
 * position when it names one, and a hint for errors about names. An error that names a file of the
 * sink (a malformed line, a damaged gzip, a file that is not Parquet) is `unreadable_object`: it
 * names the object by its URL in `sinkUrl` (not the local file DuckDB read, a download for S3) and
 * says how to set it aside.
 */
export function describeDuckDbError(error: unknown, sinkUrl?: string): { code: string; message: string } {
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
  if (sinkUrl !== undefined) {
    const unreadable = unreadableObject(first, sinkUrl);
    if (unreadable !== undefined) return { code: 'unreadable_object', message: unreadable };
  }
  return { code, message: `${first}${hint}` };
}

/** The message for an error about one object of the sink, or undefined when it names none. */
function unreadableObject(line: string, sinkUrl: string): string | undefined {
  const match = OBJECT_KEY.exec(line);
  if (match === null) return undefined;
  const key = match[0];
  // The local path DuckDB quotes ends with the key; it starts after a quote or a space.
  let start = match.index;
  while (start > 0 && !`"' `.includes(line[start - 1] as string)) start--;
  const named = `${line.slice(0, start)}${objectUrl(sinkUrl, key)}${line.slice(match.index + key.length)}`;
  return `${named.trim().replace(/\.$/, '')}: ${setAsideHint(key)}`;
}

/** The URL of an object of a sink. */
export function objectUrl(sinkUrl: string, key: string): string {
  return `${sinkUrl.replace(/\/+$/, '')}/${key}`;
}

/** What to do with an object no reader can read: take it out of what readers list. */
export function setAsideHint(key: string): string {
  const slash = key.lastIndexOf('/');
  const dataset = key.slice(0, key.indexOf('/'));
  return `move that object aside (out of ${dataset}/, or rename it to _${key.slice(slash + 1)} in its folder: readers skip names that begin with "_"), then run again`;
}
