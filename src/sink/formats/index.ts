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
 * `event_id`: JSON `{"min": …, "max": …}`, the least and greatest id in JavaScript's string order. An
 * object without it may hold an id twice. Readers use it to leave out of the deduplication objects
 * whose ids cannot meet another object's (`src/query/skipping.ts`).
 */
export const DISTINCT_EVENT_IDS_KEY = 'activity.distinct_event_ids';

/** The least and greatest `event_id` of an object whose ids are distinct. */
export interface EventIdRange {
  readonly min: string;
  readonly max: string;
}

/** The range of a `DISTINCT_EVENT_IDS_KEY` value, or undefined when it is not one. */
export function parseEventIdRange(text: string): EventIdRange | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return undefined;
    const { min, max } = value as { min?: unknown; max?: unknown };
    return typeof min === 'string' && typeof max === 'string' && min <= max ? { min, max } : undefined;
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
