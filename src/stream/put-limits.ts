import { StreamError } from '../core/errors.js';
import {
  MAX_PARTITION_KEY_LENGTH,
  MAX_PUT_BYTES,
  MAX_PUT_RECORDS,
  MAX_RECORD_BYTES,
} from '../core/limits.js';
import type { RecordToPut } from '../core/ports.js';

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
    const key = record.partitionKey;
    // Kinesis counts Unicode characters; counting code points is only needed for long keys.
    const keyLength = key.length <= MAX_PARTITION_KEY_LENGTH ? key.length : [...key].length;
    if (keyLength < 1 || keyLength > MAX_PARTITION_KEY_LENGTH) {
      throw new StreamError(
        'invalid_partition_key',
        `record ${i}: partition key must be 1 to ${MAX_PARTITION_KEY_LENGTH} characters (given ${keyLength})`,
      );
    }
    const size = record.data.byteLength + Buffer.byteLength(key);
    if (size > MAX_RECORD_BYTES) {
      throw new StreamError(
        'record_too_large',
        `record ${i} is ${size} bytes (data plus partition key); a record may be at most ${MAX_RECORD_BYTES} bytes`,
      );
    }
    total += size;
  });
  if (total > MAX_PUT_BYTES) {
    throw new StreamError(
      'put_too_large',
      `a put may carry at most ${MAX_PUT_BYTES} bytes of data and partition keys (given ${total})`,
    );
  }
}
