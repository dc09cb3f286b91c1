import { ConfigError } from '../../core/errors.js';
import type { ActivityEvent } from '../../event/types.js';

/**
 * How events land: `ndjson` (gzip-compressed NDJSON, `.ndjson.gz`) or `parquet` (`.parquet`). Error
 * lines always land as NDJSON gzip: they keep a record's original bytes for `activity redrive`, which
 * reads them line by line, and they are few.
 */
export type LandingFormat = 'ndjson' | 'parquet';

export const LANDING_FORMATS: readonly LandingFormat[] = ['ndjson', 'parquet'];

export const DEFAULT_LANDING_FORMAT: LandingFormat = 'ndjson';

/**
 * Rows per row group: DuckDB's default, large enough for good compression and statistics, small
 * enough that a reader can skip whole groups by their `timestamp` range.
 */
export const PARQUET_ROW_GROUP_SIZE = 122_880;

/**
 * The gzip level of the consumer's Parquet pages. Level 1 left objects within a few per cent of level
 * 6's size at a fraction of the CPU time (BENCHMARKS.md, "Parquet").
 */
export const PARQUET_GZIP_LEVEL = 1;

/**
 * The Parquet key-value metadata the consumer writes when no two events of an object share an
 * `event_id` (and every id is a range id, `isRangeId`): JSON `{"min": …, "max": …}`, the least and
 * greatest id. An object without it may hold an id twice. Readers use it to leave out of the
 * deduplication objects whose ids cannot meet another object's (`src/query/skipping.ts`). NDJSON
 * objects carry the same JSON in their gzip header (`./ndjson.ts`).
 */
export const DISTINCT_EVENT_IDS_KEY = 'activity.distinct_event_ids';

/** The least and greatest `event_id` of an object whose ids are distinct. */
export interface EventIdRange {
  readonly min: string;
  readonly max: string;
}

/** The longest `event_id` an id range names: the longest the event schema takes. */
export const MAX_RANGE_ID_LENGTH = 128;

/**
 * The ids an id range may name: printable ASCII without `"` or `\`. Their JSON is their own text, so a
 * range's size is bounded, and their order is the same in UTF-16 (JavaScript), UTF-8 bytes (DuckDB)
 * and code points; two ids that differ as JavaScript strings differ in the file too, which a lone
 * surrogate, written as U+FFFD, would not. An object with any other id declares no range.
 */
const PLAIN_ID = new RegExp(`^[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]{1,${MAX_RANGE_ID_LENGTH}}$`);

/** True for an id a range may name (`PLAIN_ID`). */
export function isRangeId(id: unknown): id is string {
  return typeof id === 'string' && PLAIN_ID.test(id);
}

/**
 * The least and greatest of ids that are all distinct and all range ids (`isRangeId`), or undefined
 * when two are equal (a client sent an event twice in one batch), one is not a range id, or there are
 * none.
 */
export function distinctIdRange(ids: Iterable<unknown>): EventIdRange | undefined {
  const seen = new Set<string>();
  let min: string | undefined;
  let max: string | undefined;
  for (const id of ids) {
    if (!isRangeId(id) || seen.has(id)) return undefined;
    seen.add(id);
    if (min === undefined || id < min) min = id;
    if (max === undefined || id > max) max = id;
  }
  return min === undefined || max === undefined ? undefined : { min, max };
}

/** The range of a `DISTINCT_EVENT_IDS_KEY` value, or undefined when it is not one. */
export function parseEventIdRange(text: string): EventIdRange | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return undefined;
    const { min, max } = value as { min?: unknown; max?: unknown };
    return isRangeId(min) && isRangeId(max) && min <= max ? { min, max } : undefined;
  } catch {
    return undefined;
  }
}

/** Parses `--format` or `FORMAT`: `ndjson` or `parquet`, in any case. */
export function parseLandingFormat(text: string, what = 'format'): LandingFormat {
  const value = text.trim().toLowerCase();
  if (value === 'ndjson' || value === 'parquet') return value;
  throw new ConfigError(`${what} must be ndjson or parquet (given "${text}")`);
}

/** `--format` in a command's help. */
export const FORMAT_FLAG_HELP =
  'how events land: ndjson (gzip NDJSON, .ndjson.gz) or parquet (.parquet); errors/ is NDJSON gzip either way';

let encoder: Promise<(events: readonly ActivityEvent[]) => Uint8Array> | undefined;

/** The Parquet encoder, loaded on first use so that NDJSON-only processes never load the writer. */
export function loadParquetEncoder(): Promise<(events: readonly ActivityEvent[]) => Uint8Array> {
  encoder ??= import('./parquet.js').then((m) => m.encodeEventsParquet);
  return encoder;
}
