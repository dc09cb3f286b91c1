import { MAX_EVENT_DEPTH } from '../event/index.js';

export { MAX_EVENT_DEPTH };

export interface HostileFinding {
  code: 'forbidden_key' | 'too_deep';
  message: string;
}

/**
 * Finds what would make an event harmful downstream, walking it without recursion. `JSON.parse`
 * itself is safe (a `"__proto__"` key becomes an own property), but code that later copies such an
 * object by assignment sets the prototype instead (prototype pollution), so the key is refused, as
 * is `constructor.prototype`; secure-json-parse applies the same two rules. Deep nesting is refused
 * because serialising it again is recursive and would overflow the stack.
 */
export function findHostile(event: object): HostileFinding | undefined {
  // Almost every event is harmless: a walk that keeps no path says so; the walk that names the path
  // runs only for an event it flags.
  return mayBeHostile(event) ? locateHostile(event) : undefined;
}

/**
 * True when `event` may hold what `locateHostile` finds: every key of its objects (`for…in` visits
 * the own keys `Object.keys` gives, and more; `locateHostile` reads no key of an array either), and
 * how deep it nests. It builds nothing for a flat event, and no path for a nested one.
 */
function mayBeHostile(event: object): boolean {
  let values: object[] | undefined;
  let depths: number[] | undefined;
  let item: object | undefined = event;
  let depth = 1;
  while (item !== undefined) {
    if (depth > MAX_EVENT_DEPTH) return true;
    if (Array.isArray(item)) {
      // By index: `for…in` over an array reads each element by a string key, far slower.
      for (let i = 0; i < item.length; i++) {
        const child: unknown = item[i];
        if (typeof child !== 'object' || child === null) continue;
        values ??= [];
        depths ??= [];
        values.push(child);
        depths.push(depth + 1);
      }
    } else {
      for (const key in item) {
        if (key === '__proto__') return true;
        const child: unknown = (item as Record<string, unknown>)[key];
        if (typeof child !== 'object' || child === null) continue;
        if (key === 'constructor' && Object.hasOwn(child, 'prototype')) return true;
        values ??= [];
        depths ??= [];
        values.push(child);
        depths.push(depth + 1);
      }
    }
    item = values?.pop();
    depth = depths?.pop() ?? 0;
  }
  return false;
}

/** The first hostile shape of `event` with the path to it, walking it without recursion. */
function locateHostile(event: object): HostileFinding | undefined {
  const stack: { value: object; depth: number; path: string }[] = [{ value: event, depth: 1, path: '' }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    if (item.depth > MAX_EVENT_DEPTH) {
      return {
        code: 'too_deep',
        message: `${item.path.slice(1) || 'event'} nests deeper than ${MAX_EVENT_DEPTH} levels: flatten it`,
      };
    }
    if (Array.isArray(item.value)) {
      for (let i = 0; i < item.value.length; i++) {
        const child: unknown = item.value[i];
        if (typeof child === 'object' && child !== null) {
          stack.push({ value: child, depth: item.depth + 1, path: `${item.path}[${i}]` });
        }
      }
      continue;
    }
    const record = item.value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const child = record[key];
      if (key === '__proto__') {
        return {
          code: 'forbidden_key',
          message: `${describePath(item.path, key)}: a "__proto__" key is refused (it can pollute prototypes): rename it`,
        };
      }
      if (typeof child !== 'object' || child === null) continue;
      if (key === 'constructor' && Object.hasOwn(child, 'prototype')) {
        return {
          code: 'forbidden_key',
          message: `${describePath(item.path, key)}: "constructor.prototype" is refused (it can pollute prototypes): rename it`,
        };
      }
      stack.push({ value: child, depth: item.depth + 1, path: `${item.path}.${key}` });
    }
  }
  return undefined;
}

function describePath(path: string, key: string): string {
  const full = `${path}.${key}`.slice(1);
  return full.length > 80 ? `${full.slice(0, 77)}...` : full;
}
