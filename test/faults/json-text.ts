import fc from 'fast-check';

/**
 * JSON as text, for properties that need what a parsed value forgets: how each number was written.
 * A tree of nodes is written to text, and landed text is read back into nodes, numbers kept as their
 * digits; two trees are compared as values (numbers by the decimal they denote, objects by key).
 */
export type Json =
  | { t: 'str'; v: string; escaped: boolean }
  | { t: 'num'; text: string }
  | { t: 'lit'; text: 'true' | 'false' | 'null' }
  | { t: 'arr'; items: Json[] }
  | { t: 'obj'; entries: [string, Json][] };

/** The JSON text of a tree. Strings are written by `JSON.stringify`, or with every code unit escaped. */
export function write(node: Json): string {
  switch (node.t) {
    case 'str':
      return node.escaped ? escapeAll(node.v) : JSON.stringify(node.v);
    case 'num':
    case 'lit':
      return node.text;
    case 'arr':
      return `[${node.items.map(write).join(',')}]`;
    case 'obj':
      return `{${node.entries.map(([k, v]) => `${JSON.stringify(k)}:${write(v)}`).join(',')}}`;
  }
}

function escapeAll(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) out += `\\u${text.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return `${out}"`;
}

/** Reads JSON text (as DuckDB gives it back) into a tree, keeping each number's digits. */
export function read(text: string): Json {
  let i = 0;
  const space = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  const value = (): Json => {
    space();
    const c = text[i];
    if (c === '{') {
      i++;
      const entries: [string, Json][] = [];
      space();
      if (text[i] === '}') {
        i++;
        return { t: 'obj', entries };
      }
      for (;;) {
        space();
        const key = value();
        if (key.t !== 'str') throw new Error(`a key expected at ${i} in ${text}`);
        space();
        i++; // ':'
        entries.push([key.v, value()]);
        space();
        if (text[i++] === '}') return { t: 'obj', entries };
      }
    }
    if (c === '[') {
      i++;
      const items: Json[] = [];
      space();
      if (text[i] === ']') {
        i++;
        return { t: 'arr', items };
      }
      for (;;) {
        items.push(value());
        space();
        if (text[i++] === ']') return { t: 'arr', items };
      }
    }
    if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const v = JSON.parse(text.slice(i, end + 1)) as string;
      i = end + 1;
      return { t: 'str', v, escaped: false };
    }
    for (const lit of ['true', 'false', 'null'] as const) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return { t: 'lit', text: lit };
      }
    }
    const match = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (match === null) throw new Error(`unexpected ${JSON.stringify(text.slice(i, i + 20))} in ${text}`);
    i += match[0].length;
    return { t: 'num', text: match[0] };
  };
  const node = value();
  space();
  if (i !== text.length) throw new Error(`trailing text in ${text}`);
  return node;
}

/** A decimal number as an exact integer times a power of ten. */
function exact(text: string): { digits: bigint; exponent: number } {
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (match === null) throw new Error(`not a JSON number: ${text}`);
  const [, sign, whole = '', fraction = '', exponent = '0'] = match;
  return { digits: BigInt(`${sign}${whole}${fraction}`), exponent: Number(exponent) - fraction.length };
}

/** True when two JSON numbers denote the same decimal value (`-0` and `0` are the same). */
export function sameNumber(a: string, b: string): boolean {
  const x = exact(a);
  const y = exact(b);
  if (x.exponent > y.exponent) return x.digits * 10n ** BigInt(x.exponent - y.exponent) === y.digits;
  return y.digits * 10n ** BigInt(y.exponent - x.exponent) === x.digits;
}

/** True when a double holds the number as written: what JavaScript writes back denotes the same value. */
export function faithful(text: string): boolean {
  const value = Number(text);
  return Number.isFinite(value) && sameNumber(text, String(value));
}

/** A difference between what was sent and what came back, or undefined when they are the same value. */
export function difference(sent: Json, landed: Json, at = ''): string | undefined {
  if (sent.t !== landed.t) return `${at}: sent ${write(sent)}, landed ${write(landed)}`;
  if (sent.t === 'str' && landed.t === 'str')
    return sent.v === landed.v ? undefined : `${at}: sent ${write(sent)}, landed ${write(landed)}`;
  if (sent.t === 'num' && landed.t === 'num')
    return sameNumber(sent.text, landed.text) ? undefined : `${at}: sent ${sent.text}, landed ${landed.text}`;
  if (sent.t === 'lit' && landed.t === 'lit')
    return sent.text === landed.text ? undefined : `${at}: sent ${sent.text}, landed ${landed.text}`;
  if (sent.t === 'arr' && landed.t === 'arr') {
    if (sent.items.length !== landed.items.length)
      return `${at}: ${sent.items.length} items, landed ${landed.items.length}`;
    for (let k = 0; k < sent.items.length; k++) {
      const d = difference(sent.items[k] as Json, landed.items[k] as Json, `${at}[${k}]`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  if (sent.t === 'obj' && landed.t === 'obj') {
    // Objects are unordered (JavaScript puts integer-like keys first): compare by key.
    const back = new Map(landed.entries);
    if (back.size !== sent.entries.length) return `${at}: keys ${write(sent)}, landed ${write(landed)}`;
    for (const [key, value] of sent.entries) {
      const other = back.get(key);
      if (other === undefined) return `${at}: key ${JSON.stringify(key)} missing from ${write(landed)}`;
      const d = difference(value, other, `${at}.${JSON.stringify(key)}`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  return `${at}: unlike nodes`;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** True when a string is not Unicode text: it holds half of a surrogate pair alone. */
export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}

/** Every string and key of a tree. */
export function* strings(node: Json): Generator<string> {
  if (node.t === 'str') yield node.v;
  else if (node.t === 'arr') for (const item of node.items) yield* strings(item);
  else if (node.t === 'obj')
    for (const [key, value] of node.entries) {
      yield key;
      yield* strings(value);
    }
}

/** Every number of a tree, as written. */
export function* numbers(node: Json): Generator<string> {
  if (node.t === 'num') yield node.text;
  else if (node.t === 'arr') for (const item of node.items) yield* numbers(item);
  else if (node.t === 'obj') for (const [, value] of node.entries) yield* numbers(value);
}

/** Levels of objects and arrays, the node itself being the first. */
export function depth(node: Json): number {
  if (node.t === 'arr') return 1 + Math.max(0, ...node.items.map(depth));
  if (node.t === 'obj') return 1 + Math.max(0, ...node.entries.map(([, v]) => depth(v)));
  return 0;
}

// Generators.

/** One character: any code point, or a control or ASCII character. */
const anyUnit = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x9f }).map((c) => String.fromCharCode(c)) },
);
/** Half of a surrogate pair. */
export const halfPair = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
/** Any text, control characters included; lone surrogates sometimes (`surrogates`). */
export const anyText = (maxLength: number, surrogates = false) =>
  fc.string({
    unit: surrogates
      ? fc.oneof({ weight: 8, arbitrary: anyUnit }, { weight: 1, arbitrary: halfPair })
      : anyUnit,
    maxLength,
  });
/** Text the schema takes for a name: no control characters. */
export const nameText = (minLength: number, maxLength: number) =>
  fc.string({
    // biome-ignore lint/suspicious/noControlCharactersInRegex: names must not hold control characters
    unit: anyUnit.filter((c) => !/[\u0000-\u001f\u007f-\u009f]/.test(c)),
    minLength,
    maxLength,
  });

/** Numbers as written: most a double holds, some at its edges and past them. */
export const numberText = fc.oneof(
  { weight: 4, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)) },
  { weight: 3, arbitrary: fc.integer().map(String) },
  { weight: 1, arbitrary: fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String) },
  { weight: 1, arbitrary: fc.stringMatching(/^-?(0|[1-9]\d{0,24})(\.\d{1,25})?([eE][+-]?\d{1,3})?$/) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '9007199254740991',
      '9007199254740993',
      '12345678901234567890',
      '1152921504606846976',
      '1e400',
      '-1e400',
      '1e-400',
      '5e-324',
      '2e-324',
      '1.7976931348623157e308',
      '1.7976931348623159e308',
      '-0',
      '0.0',
      '1E2',
      '0.30000000000000004',
      '1.0000000000000001',
      '123456789012345.6',
    ),
  },
);

const key = fc.oneof(
  { weight: 3, arbitrary: anyText(8) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', ' ', '0', '10', '__proto__', 'constructor', 'prototype', 'a.b', '"', '\\'),
  },
);

const leaf: fc.Arbitrary<Json> = fc.oneof(
  fc.record({ t: fc.constant('str' as const), v: anyText(12), escaped: fc.boolean() }),
  numberText.map((text) => ({ t: 'num' as const, text })),
  fc.constantFrom('true', 'false', 'null').map((text) => ({ t: 'lit' as const, text })),
);

function jsonValue(levels: number): fc.Arbitrary<Json> {
  if (levels === 0) return leaf;
  const inner = jsonValue(levels - 1);
  return fc.oneof(
    { weight: 3, arbitrary: leaf },
    {
      weight: 1,
      arbitrary: fc.array(inner, { maxLength: 4 }).map((items) => ({ t: 'arr' as const, items })),
    },
    { weight: 1, arbitrary: objectOf(inner) },
  );
}

function objectOf(value: fc.Arbitrary<Json>): fc.Arbitrary<Json> {
  return fc
    .uniqueArray(fc.tuple(key, value), { selector: ([k]) => k, maxLength: 5 })
    .map((entries) => ({ t: 'obj' as const, entries }));
}

/** Objects and arrays nested `levels` deep around a leaf, under odd keys. */
const chain = (levels: number): fc.Arbitrary<Json> =>
  fc
    .tuple(fc.array(fc.tuple(fc.boolean(), key), { minLength: levels, maxLength: levels }), leaf)
    .map(([steps, end]) =>
      steps.reduce<Json>(
        (inner, [array, k]) => (array ? { t: 'arr', items: [inner] } : { t: 'obj', entries: [[k, inner]] }),
        end,
      ),
    );

/** A `properties` or `context` object: small and varied, or with a chain nested to about the limit. */
export const customObject = (limit: number): fc.Arbitrary<Json> =>
  fc.oneof(
    { weight: 6, arbitrary: objectOf(jsonValue(3)) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(objectOf(leaf), fc.integer({ min: limit - 3, max: limit }).chain(chain))
        .map(([object, deep]) =>
          object.t === 'obj'
            ? {
                t: 'obj' as const,
                entries: [...object.entries.filter(([k]) => k !== 'deep'), ['deep', deep] as [string, Json]],
              }
            : object,
        ),
    },
  );
