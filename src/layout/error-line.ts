import { columnNames, rowProblem } from './columns.js';
import { ERROR_COLUMNS, type ErrorLine } from './datasets.js';

/** A record as it sat in the stream: what `errors/` keeps of a record that did not land as an event. */
export interface RawRecord {
  shardId: string;
  sequenceNumber: string;
  /** The user record's index in its KPL aggregate; absent for a plain record. */
  subSequenceNumber?: number;
  /** The user record's own key, for a user record of a KPL aggregate. */
  partitionKey: string;
  /** Epoch milliseconds. */
  arrivalMs: number;
  /** base64, as Lambda delivers it; for a user record of a KPL aggregate, that user record's bytes. */
  data: string;
}

// JSON.stringify writes the keys of a replacer list in the list's order: the table's.
const ERROR_LINE_KEYS = columnNames(ERROR_COLUMNS);

/** One line of an `errors/` object: its fields in the order of `ERROR_COLUMNS`. */
export function errorLine(record: RawRecord, reason: string, message: string, streamArn: string): string {
  // The record's bytes are kept in `data`; the texts beside them must be Unicode, or a lone surrogate
  // (a partition key any producer chose, a message quoting one) would make the object unreadable.
  const line: ErrorLine = {
    reason,
    message: message.toWellFormed(),
    shard_id: record.shardId,
    sequence_number: record.sequenceNumber,
    // Left out of plain records' lines: JSON.stringify drops undefined values.
    sub_sequence_number: record.subSequenceNumber,
    partition_key: record.partitionKey.toWellFormed(),
    approximate_arrival_timestamp: new Date(record.arrivalMs).toISOString(),
    event_source_arn: streamArn,
    data: record.data,
  };
  return JSON.stringify(line, ERROR_LINE_KEYS);
}

/**
 * An `errors/` line read back: the columns in `required` are there, and every column present has its
 * type in `ERROR_COLUMNS`; or why the line is not one.
 */
export function readErrorLine<K extends keyof ErrorLine>(
  text: string,
  required: ReadonlySet<K>,
): (Partial<ErrorLine> & Pick<ErrorLine, K>) | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const row = value as Record<string, unknown>;
  return rowProblem(ERROR_COLUMNS, row, required) ?? (row as Partial<ErrorLine> & Pick<ErrorLine, K>);
}
