import type { Readable } from 'node:stream';

/**
 * The lines of a byte stream, as raw bytes (no decoding, so invalid UTF-8 survives untouched), with
 * their 1-based line numbers. The `\n` delimiter is removed; empty lines are skipped.
 */
export async function* byteLines(input: Readable): AsyncGenerator<{ line: Buffer; number: number }> {
  let carry: Buffer = Buffer.alloc(0);
  let number = 0;
  for await (const chunk of input) {
    const data: Buffer = carry.length === 0 ? (chunk as Buffer) : Buffer.concat([carry, chunk as Buffer]);
    let start = 0;
    for (let nl = data.indexOf(10, start); nl !== -1; nl = data.indexOf(10, start)) {
      number++;
      if (nl > start) yield { line: data.subarray(start, nl), number };
      start = nl + 1;
    }
    carry = Buffer.from(data.subarray(start));
  }
  if (carry.length > 0) yield { line: carry, number: number + 1 };
}
