/**
 * Orders two sequence numbers (decimal strings, as Kinesis and the embedded log give them) without
 * parsing them: a shorter number is smaller, equal lengths compare as text. Negative when `a` comes
 * first. Any string is accepted, so an odd identifier cannot make a caller throw.
 */
export function compareSequenceNumbers(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
