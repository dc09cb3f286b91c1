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
