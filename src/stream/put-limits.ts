import { StreamError } from '../core/errors.js';
import {
  MAX_PARTITION_KEY_LENGTH,
  MAX_PUT_BYTES,
  MAX_PUT_RECORDS,
  MAX_RECORD_BYTES,
} from '../core/limits.js';
import type { RecordToPut } from '../core/ports.js';

/** Why Kinesis would refuse one record of a put: its code and message; undefined when it would take it. */
export function recordRefusal(
  record: RecordToPut,
  size = recordBytes(record),
): { code: 'invalid_partition_key' | 'record_too_large'; message: string } | undefined {
  const key = record.partitionKey;
  // Kinesis counts Unicode characters; counting code points is only needed for long keys.
  const keyLength = key.length <= MAX_PARTITION_KEY_LENGTH ? key.length : [...key].length;
  if (keyLength < 1 || keyLength > MAX_PARTITION_KEY_LENGTH) {
    return {
      code: 'invalid_partition_key',
      message: `partition key must be 1 to ${MAX_PARTITION_KEY_LENGTH} characters (given ${keyLength})`,
    };
  }
  if (size > MAX_RECORD_BYTES) {
    return {
      code: 'record_too_large',
      message: `record is ${size} bytes (data plus partition key); a stream record may be at most ${MAX_RECORD_BYTES} bytes`,
    };
  }
  return undefined;
}

/** What a record counts against Kinesis' limits: its data and its partition key, in bytes. */
export function recordBytes(record: RecordToPut): number {
  return record.data.byteLength + Buffer.byteLength(record.partitionKey);
}

/**
 * Kinesis' limits on a `PutRecords` call, checked before calling AWS so a bad put fails at once,
 * whole and non-retriable, with the same codes and messages in every stream adapter.
 */
export function checkPut(records: readonly RecordToPut[]): void {
  if (records.length > MAX_PUT_RECORDS) {
    throw new StreamError(
      'too_many_records',
      `a put may carry at most ${MAX_PUT_RECORDS} records (given ${records.length})`,
    );
  }
  let total = 0;
  records.forEach((record, i) => {
    const size = recordBytes(record);
    const refused = recordRefusal(record, size);
    if (refused !== undefined) throw new StreamError(refused.code, `record ${i}: ${refused.message}`);
    total += size;
  });
  if (total > MAX_PUT_BYTES) {
    throw new StreamError(
      'put_too_large',
      `a put may carry at most ${MAX_PUT_BYTES} bytes of data and partition keys (given ${total})`,
    );
  }
}
