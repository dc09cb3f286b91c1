import {
  findIllFormed,
  findUnsafeNumbers,
  invalidUnicode,
  mayHoldLoneSurrogate,
  mayHoldUnsafeNumber,
  type Refusal,
  unsafeNumber,
  type ValuePath,
} from '../../event/index.js';

/**
 * Where a value of a protocol's body lands in the event: the index of the message it belongs to
 * (`'all'` for a batch-wide field every message inherits) and its path inside the event, or undefined
 * for a value that does not land as it was sent.
 */
export type LandedPath = (bodyPath: ValuePath) => { index: number | 'all'; path: ValuePath } | undefined;

/**
 * A JSON text values were parsed from, and how its paths map into the events. `numbersLand: false`
 * says no number of it lands as written (every field it holds is mapped), so only its escapes are
 * looked at: the search for numbers is a scan of the whole text.
 */
export interface UnfaithfulSource {
  text: string;
  landed: LandedPath;
  numbersLand?: boolean;
}

/**
 * The refusals, by message index, of messages that would not land as they were sent, as the consumer
 * judges them: a lone surrogate anywhere in the mapped event, a number in what lands as `properties`
 * or `context` that a double does not hold. `texts` are the JSON texts the values were parsed from
 * (the body, and any JSON a field carried as text), each with how its paths map into the events.
 */
export function findUnfaithful(
  texts: readonly UnfaithfulSource[],
  mapped: ReadonlyMap<number, unknown>,
): Map<number, Refusal> {
  const refused = new Map<number, Refusal>();
  if (texts.some(({ text }) => mayHoldLoneSurrogate(text))) {
    for (const [index, value] of mapped) {
      const path = findIllFormed(value);
      if (path !== undefined) refused.set(index, invalidUnicode(path));
    }
  }
  if (![...mapped.values()].some((value) => mayHoldUnsafeNumber(value))) return refused;
  for (const { text, landed, numbersLand } of texts) {
    if (numbersLand === false) continue;
    for (const number of findUnsafeNumbers(text)) {
      const where = landed(number.path);
      if (where === undefined) continue;
      const refusal = unsafeNumber(number, where.path);
      if (refusal === undefined) continue;
      const indexes = where.index === 'all' ? [...mapped.keys()] : [where.index];
      for (const index of indexes) if (mapped.has(index) && !refused.has(index)) refused.set(index, refusal);
    }
  }
  return refused;
}
