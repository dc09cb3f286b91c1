import { randomFillSync } from 'node:crypto';

/** Where the random bits come from: a `Prng`, or anything with the same `uint32`. */
export interface RandomSource {
  uint32(): number;
}

/** The character codes of the hex digits. */
const DIGITS = Array.from('0123456789abcdef', (digit) => digit.charCodeAt(0));
const HYPHEN = 0x2d;

/** The character code of the hex digit for the low 4 bits of `n`. */
function digit(n: number): number {
  return DIGITS[n & 0xf] ?? 0;
}

/**
 * Formats the 128 bits at `words[offset]` … `words[offset + 3]` (most significant first) as a UUID
 * string. One `String.fromCharCode` call makes a flat string at once, where concatenating pieces would
 * make a rope that `JSON.stringify` must flatten later: this is on the simulator's hot path.
 */
export function formatUuid(words: Uint32Array, offset: number): string {
  const w0 = words[offset] ?? 0;
  const w1 = words[offset + 1] ?? 0;
  const w2 = words[offset + 2] ?? 0;
  const w3 = words[offset + 3] ?? 0;
  // biome-ignore format: one line per group of the UUID reads best
  return String.fromCharCode(
    digit(w0 >>> 28), digit(w0 >>> 24), digit(w0 >>> 20), digit(w0 >>> 16),
    digit(w0 >>> 12), digit(w0 >>> 8), digit(w0 >>> 4), digit(w0), HYPHEN,
    digit(w1 >>> 28), digit(w1 >>> 24), digit(w1 >>> 20), digit(w1 >>> 16), HYPHEN,
    digit(w1 >>> 12), digit(w1 >>> 8), digit(w1 >>> 4), digit(w1), HYPHEN,
    digit(w2 >>> 28), digit(w2 >>> 24), digit(w2 >>> 20), digit(w2 >>> 16), HYPHEN,
    digit(w2 >>> 12), digit(w2 >>> 8), digit(w2 >>> 4), digit(w2),
    digit(w3 >>> 28), digit(w3 >>> 24), digit(w3 >>> 20), digit(w3 >>> 16),
    digit(w3 >>> 12), digit(w3 >>> 8), digit(w3 >>> 4), digit(w3),
  );
}

/**
 * Draws a UUIDv7 (RFC 9562) as four 32-bit words into `out` at `offset`: 48 bits of Unix time in
 * milliseconds, the version (7), 12 bits `rand_a`, the variant (binary 10) and 62 bits `rand_b`, the
 * random bits from `random`. `ms` must be an integer in [0, 2^48).
 */
export function drawUuidv7(ms: number, random: RandomSource, out: Uint32Array, offset: number): void {
  out[offset] = Math.floor(ms / 0x10000);
  out[offset + 1] = ((ms & 0xffff) << 16) | 0x7000 | (random.uint32() & 0xfff);
  out[offset + 2] = 0x80000000 | (random.uint32() >>> 2);
  out[offset + 3] = random.uint32();
}

/** Random words from the operating system's secure generator, fetched a few thousand at a time. */
class SecureRandom implements RandomSource {
  private readonly pool = new Uint32Array(4096);
  private next = this.pool.length;

  uint32(): number {
    if (this.next === this.pool.length) {
      randomFillSync(this.pool);
      this.next = 0;
    }
    return this.pool[this.next++] ?? 0;
  }
}

const secureRandom = new SecureRandom();
const scratch = new Uint32Array(4);

/**
 * A UUIDv7 for the Unix time `ms` (now by default); see `drawUuidv7`. Its random bits come from `random`,
 * or from the operating system's secure generator.
 */
export function uuidv7(ms: number = Date.now(), random: RandomSource = secureRandom): string {
  drawUuidv7(ms, random, scratch, 0);
  return formatUuid(scratch, 0);
}
