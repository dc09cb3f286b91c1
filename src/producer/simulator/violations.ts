/**
 * Deliberate mistakes, one per event name, each breaking one rule of the shop's tracking plan
 * (`examples/shop-tracking-plan.json`), as real senders get them wrong: a number sent as text, a
 * required property left out, a value outside its enum or below its minimum.
 */
import type { JsonValue } from '../../event/types.js';

type Properties = { [key: string]: JsonValue };

const BREAK: { readonly [event: string]: (properties: Properties) => Properties } = {
  /** `method` outside its enum. */
  login: (p) => ({ ...p, method: 'sms' }),
  /** `title` is required. */
  page_view: ({ title: _, ...rest }) => rest,
  /** `path` must begin with `/`. */
  click: (p) => ({ ...p, path: String(p.path).slice(1) }),
  /** `quantity` is at least 1. */
  add_to_cart: (p) => ({ ...p, quantity: 0 }),
  /** `amount` is a number, not text. */
  purchase: (p) => ({ ...p, amount: String(p.amount) }),
};

/** `properties` with one rule of the plan broken, or as given for an event with nothing to break (`logout`). */
export function violate(event: string, properties: Properties): Properties {
  const breaker = BREAK[event];
  return breaker === undefined ? properties : breaker(properties);
}
