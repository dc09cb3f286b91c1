/**
 * What an event must be for every reader of the lake to read it back as it was sent: text that is
 * Unicode (no lone UTF-16 surrogate), numbers that a double holds as written, and custom values
 * shallow enough to be written again. Each check starts with a cheap test that almost every event
 * passes at once (of the record's JSON text, or one walk of `properties` and `context`), so the
 * search that finds the offending value runs only for records that may hold one.
 */

// Node.js 20 has both (ES2024); the project's `lib` is ES2023.
declare global {
  interface String {
    isWellFormed(): boolean;
    toWellFormed(): string;
  }
}

/** A path into an event: keys and array indexes. */
export type ValuePath = readonly (string | number)[];

/**
 * A lone surrogate can only come from a `\uD800`–`\uDFFF` escape: the bytes were decoded as UTF-8
 * with a fatal decoder, which refuses an encoded surrogate. A match may be a surrogate pair, or an
 * escaped backslash before `ud8…`: the walk decides.
 */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

/**
 * A number a double may not hold as written: 16 or more digits (15 significant decimal digits always
 * survive a double), or an exponent, which is how out-of-range values (`1e400`, `1e-400`) are
 * written. A JSON number starts after `:`, `,` or `[` and JSON whitespace, so the pattern starts
 * there: hexadecimal ids (`…3e4…`) and other digits inside strings do not trigger it, and the engine
 * skips to those three characters rather than trying every digit (2.3 × faster on simulated events
 * than a pattern that does). A match inside a string is harmless: the scan decides.
 */
const NUMBER_CANDIDATE = /[:,[][ \t\n\r]*-?(?:\d+(?:\.\d*)?[eE]|(?:\d\.?){16})/;

/** False when the JSON text cannot hold a lone surrogate; true when it may (`findIllFormed` decides). */
export function mayHoldLoneSurrogate(json: string): boolean {
  // Most records have no escape at all: a plain search is cheaper than the pattern.
  return json.indexOf('\\u') !== -1 && SURROGATE_ESCAPE.test(json);
}

/** A step of a walk: a value, and how it was reached, so a path is built only for what is found. */
interface Step {
  value: unknown;
  parent: Step | undefined;
  key: string | number;
  depth: number;
}

function pathOf(step: Step | undefined, last?: string | number): ValuePath {
  const path: (string | number)[] = last === undefined ? [] : [last];
  for (let s = step; s?.parent !== undefined; s = s.parent) path.push(s.key);
  return path.reverse();
}

/** Walks `value` without recursion for a string or key with a lone surrogate; its path, or undefined. */
export function findIllFormed(value: unknown): ValuePath | undefined {
  if (typeof value === 'string') return value.isWellFormed() ? undefined : [];
  const stack: Step[] = [{ value, parent: undefined, key: '', depth: 1 }];
  for (let step = stack.pop(); step !== undefined; step = stack.pop()) {
    const current = step.value;
    if (typeof current !== 'object' || current === null) continue;
    if (Array.isArray(current)) {
      for (let i = 0; i < current.length; i++) {
        const child: unknown = current[i];
        if (typeof child === 'string') {
          if (!child.isWellFormed()) return pathOf(step, i);
        } else if (typeof child === 'object' && child !== null) {
          stack.push({ value: child, parent: step, key: i, depth: step.depth + 1 });
        }
      }
      continue;
    }
    for (const key of Object.keys(current)) {
      if (!key.isWellFormed()) return pathOf(step, key);
      const child: unknown = (current as Record<string, unknown>)[key];
      if (typeof child === 'string') {
        if (!child.isWellFormed()) return pathOf(step, key);
      } else if (typeof child === 'object' && child !== null) {
        stack.push({ value: child, parent: step, key, depth: step.depth + 1 });
      }
    }
  }
  return undefined;
}

/** `survey` found a number. */
export const HOLDS_NUMBER = 1;
/** `survey` found objects or arrays nested deeper than asked. */
export const TOO_DEEP = 2;

/**
 * One cheap walk of a value that lands as sent (`properties`, `context`), without recursion: whether
 * it holds a number (`HOLDS_NUMBER`: only then is the text searched for long numbers), and whether
 * it nests more than `maxDepth` levels, the value itself being level 1 (`TOO_DEEP`: writing it
 * again as JSON is recursive and would overflow the stack). Most events carry a few strings here.
 */
export function survey(value: unknown, maxDepth: number): number {
  if (typeof value === 'number') return HOLDS_NUMBER;
  if (typeof value !== 'object' || value === null) return 0;
  let found = 0;
  // The stacks are made only when something nests: most of these objects are flat.
  let values: object[] | undefined;
  let depths: number[] | undefined;
  let item: object | undefined = value;
  let depth = 1;
  while (item !== undefined) {
    if (depth > maxDepth) return found | TOO_DEEP;
    if (Array.isArray(item)) {
      for (const child of item) {
        if (typeof child === 'number') found = HOLDS_NUMBER;
        else if (typeof child === 'object' && child !== null) {
          if (values === undefined || depths === undefined) {
            values = [];
            depths = [];
          }
          values.push(child);
          depths.push(depth + 1);
        }
      }
    } else {
      for (const key in item) {
        const child: unknown = (item as Record<string, unknown>)[key];
        if (typeof child === 'number') found = HOLDS_NUMBER;
        else if (typeof child === 'object' && child !== null) {
          if (values === undefined || depths === undefined) {
            values = [];
            depths = [];
          }
          values.push(child);
          depths.push(depth + 1);
        }
      }
    }
    item = values?.pop();
    depth = depths?.pop() ?? 0;
  }
  return found;
}

/** The path of the first object or array of `value` deeper than `maxDepth` levels. */
export function findTooDeep(value: unknown, maxDepth: number): ValuePath | undefined {
  const stack: Step[] = [{ value, parent: undefined, key: '', depth: 1 }];
  for (let step = stack.pop(); step !== undefined; step = stack.pop()) {
    if (step.depth > maxDepth) return pathOf(step);
    const current = step.value;
    if (typeof current !== 'object' || current === null) continue;
    const entries: [string | number, unknown][] = Array.isArray(current)
      ? current.map((child, i) => [i, child])
      : Object.entries(current);
    for (const [key, child] of entries) {
      if (typeof child === 'object' && child !== null) {
        stack.push({ value: child, parent: step, key, depth: step.depth + 1 });
      }
    }
  }
  return undefined;
}

/** A number of the JSON text that would not land as written. */
export interface UnsafeNumber {
  /** Where it is, from the root of the text. */
  path: ValuePath;
  /** As written. */
  text: string;
  /** What a double makes of it, as it would land: `null` for a value out of range. */
  landed: string;
}

const MAX_PATH_KEPT = 64;

/** Every number of `json` (valid JSON text) that a double does not hold as written. */
export function findUnsafeNumbers(json: string): UnsafeNumber[] {
  if (!NUMBER_CANDIDATE.test(json)) return [];
  return scanNumbers(json);
}

/**
 * A scan of JSON text (already known to be valid) that keeps the path to each value and checks every
 * number token: it lands faithfully when the double's shortest form is the same decimal number.
 * `findUnsafeNumbers` runs it only for text its cheap test flags; alone, it is the reference.
 */
export function scanNumbers(json: string): UnsafeNumber[] {
  const found: UnsafeNumber[] = [];
  const path: (string | number)[] = [];
  const inObject: boolean[] = [];
  let expectKey = false;
  for (let i = 0; i < json.length; ) {
    const c = json.charCodeAt(i);
    if (c === 0x22) {
      const end = stringEnd(json, i);
      if (expectKey && inObject[inObject.length - 1] === true) {
        path[path.length - 1] = JSON.parse(json.slice(i, end)) as string;
        expectKey = false;
      }
      i = end;
    } else if (c === 0x7b || c === 0x5b) {
      inObject.push(c === 0x7b);
      path.push(c === 0x7b ? '' : 0);
      expectKey = c === 0x7b;
      i++;
    } else if (c === 0x7d || c === 0x5d) {
      inObject.pop();
      path.pop();
      i++;
    } else if (c === 0x2c) {
      const last = path.length - 1;
      if (inObject[last] === true) expectKey = true;
      else if (last >= 0) path[last] = (path[last] as number) + 1;
      i++;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let end = i + 1;
      while (end < json.length && isNumberChar(json.charCodeAt(end))) end++;
      const token = json.slice(i, end);
      const landed = JSON.stringify(Number(token));
      if (landed === 'null' || decimalKey(landed) !== decimalKey(token)) {
        // A path is cut short where no message would show it: a record may nest deep and hold many.
        found.push({ path: path.slice(0, MAX_PATH_KEPT), text: token, landed });
      }
      i = end;
    } else i++;
  }
  return found;
}

function stringEnd(json: string, start: number): number {
  for (let j = start + 1; j < json.length; j++) {
    const c = json.charCodeAt(j);
    if (c === 0x5c) j++;
    else if (c === 0x22) return j + 1;
  }
  return json.length;
}

function isNumberChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d;
}

const DECIMAL = /^(-?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * A decimal number's identity: sign, significant digits and the position of the decimal point, so
 * `1.50`, `15e-1` and `1.5` are the same. Zero has no sign (`-0` lands as `0`, the same number).
 */
function decimalKey(text: string): string {
  const match = DECIMAL.exec(text);
  if (match === null) return text;
  const [, sign = '', whole = '', fraction = '', exponent = '0'] = match;
  let digits = whole + fraction;
  let point = whole.length + Number(exponent);
  let lead = 0;
  while (lead < digits.length && digits.charCodeAt(lead) === 0x30) lead++;
  digits = digits.slice(lead).replace(/0+$/, '');
  point -= lead;
  return digits === '' ? '0' : `${sign}${digits}e${point}`;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A path as a reader sees it (`properties.items[2]["a b"]`): ASCII-safe, at most 120 characters. */
export function describePath(path: ValuePath): string {
  let shown = '';
  for (const part of path) {
    if (typeof part === 'number') shown += `[${part}]`;
    else if (IDENTIFIER.test(part)) shown += shown === '' ? part : `.${part}`;
    else shown += `[${JSON.stringify(part)}]`;
  }
  if (shown === '') return 'the event';
  return shown.length > 120 ? `${shown.slice(0, 117)}...` : shown;
}
