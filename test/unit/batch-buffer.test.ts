import { describe, expect, it } from 'vitest';
import { BatchBuffer } from '../../src/consumer/runner/batch-buffer.js';

describe('the batch buffer', () => {
  it('takes batches within the record and byte limits, always at least one record', () => {
    const buffer = new BatchBuffer<number>(3, 10, (n) => n);
    buffer.push([4, 4, 4, 1, 12, 2]);
    expect(buffer.full).toBe(true);

    expect(buffer.take()).toEqual([4, 4]); // a third 4 would pass 10 bytes
    expect(buffer.take()).toEqual([4, 1]); // the 12 would too
    expect(buffer.take()).toEqual([12]); // alone over the limit, but a batch holds at least one
    expect(buffer.full).toBe(false);
    expect(buffer.take()).toEqual([2]);
    expect(buffer.length).toBe(0);
  });

  it('keeps its byte count as records come and go', () => {
    const buffer = new BatchBuffer<number>(100, 10, (n) => n);
    buffer.push([3, 3, 3]);
    expect(buffer.full).toBe(false);
    buffer.push([1]);
    expect(buffer.full).toBe(true);
    buffer.take();
    expect(buffer.full).toBe(false);
  });
});
