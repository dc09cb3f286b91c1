import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { type SimulatedEvent, Simulator, uuidv7 } from '../../src/producer/simulator/index.js';

const START = Date.UTC(2026, 10, 25, 19, 31, 12);
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const CURRENCIES = new Set(['USD', 'EUR', 'GBP', 'CAD', 'AUD', 'CHF']);

/** A clock that moves one millisecond every third reading, so events share milliseconds too. */
function steppingClock(start = START): () => number {
  let readings = 0;
  return () => start + Math.floor(readings++ / 3);
}

function take(simulator: Simulator, count: number): SimulatedEvent[] {
  return Array.from({ length: count }, () => simulator.next());
}

/** The milliseconds in a UUIDv7's first 48 bits. */
function uuidMs(uuid: string): number {
  return Number.parseInt(uuid.slice(0, 8) + uuid.slice(9, 13), 16);
}

function hasTwoDecimalsAtMost(value: unknown): boolean {
  return typeof value === 'number' && /^\d+(\.\d{1,2})?$/.test(String(value));
}

interface SessionSummary {
  addedToCart: boolean;
  purchased: boolean;
}

/**
 * Walks every user's events and checks the session structure. Returns the broken rules, and the
 * sessions that ended (with `logout`) for the funnel.
 */
function checkSessions(events: SimulatedEvent[]): { violations: string[]; ended: SessionSummary[] } {
  const violations: string[] = [];
  const ended: SessionSummary[] = [];
  const seenSessionIds = new Set<string>();
  const open = new Map<
    string,
    { id: string; path?: string; cents: number; items: number; purchased: boolean; context: string }
  >();
  const contexts = new Map<string, string>();
  for (const [index, event] of events.entries()) {
    const where = `event ${index} (${event.user_id} ${event.event})`;
    const props = event.properties;
    const context = JSON.stringify(event.context);
    if ((contexts.get(event.user_id) ?? context) !== context) violations.push(`${where}: context changed`);
    contexts.set(event.user_id, context);
    let session = open.get(event.user_id);
    if (event.event === 'login') {
      if (session) violations.push(`${where}: login inside session ${session.id}`);
      if (seenSessionIds.has(event.session_id)) violations.push(`${where}: session id reused`);
      if (!UUID_V7.test(event.session_id)) violations.push(`${where}: session id ${event.session_id}`);
      seenSessionIds.add(event.session_id);
      open.set(event.user_id, { id: event.session_id, cents: 0, items: 0, purchased: false, context });
      continue;
    }
    if (!session) {
      violations.push(`${where}: outside a session`);
      continue;
    }
    if (event.session_id !== session.id) violations.push(`${where}: session id changed within the session`);
    switch (event.event) {
      case 'page_view': {
        if (typeof props.path !== 'string' || typeof props.title !== 'string')
          violations.push(`${where}: page`);
        const expected = session.path;
        if (expected !== undefined && props.referrer !== expected) violations.push(`${where}: referrer`);
        if (
          expected === undefined &&
          props.referrer !== undefined &&
          !String(props.referrer).startsWith('https://')
        ) {
          violations.push(`${where}: first referrer ${props.referrer}`);
        }
        session.path = String(props.path);
        break;
      }
      case 'click':
        if (session.path === undefined || props.path !== session.path)
          violations.push(`${where}: click off page`);
        if (typeof props.element !== 'string') violations.push(`${where}: element`);
        break;
      case 'add_to_cart': {
        const { price, quantity, product_id, name } = props;
        if (session.path !== `/products/${product_id}`)
          violations.push(`${where}: not on the product's page`);
        if (typeof name !== 'string' || name === '') violations.push(`${where}: product name`);
        if (!hasTwoDecimalsAtMost(price) || !(Number(price) > 0)) violations.push(`${where}: price ${price}`);
        if (!Number.isInteger(quantity) || Number(quantity) < 1)
          violations.push(`${where}: quantity ${quantity}`);
        if (!CURRENCIES.has(String(props.currency))) violations.push(`${where}: currency ${props.currency}`);
        session.cents += Math.round(Number(price) * 100) * Number(quantity);
        session.items += Number(quantity);
        break;
      }
      case 'purchase': {
        const { amount, items, order_id, currency } = props;
        if (session.items === 0) violations.push(`${where}: purchase without add_to_cart`);
        if (session.purchased) violations.push(`${where}: second purchase`);
        if (!hasTwoDecimalsAtMost(amount) || !(Number(amount) > 0))
          violations.push(`${where}: amount ${amount}`);
        if (Number(amount) !== session.cents / 100) violations.push(`${where}: amount ${amount} ≠ cart`);
        if (items !== session.items) violations.push(`${where}: items ${items} ≠ ${session.items}`);
        if (!CURRENCIES.has(String(currency))) violations.push(`${where}: currency ${currency}`);
        if (!UUID_V7.test(String(order_id))) violations.push(`${where}: order id ${order_id}`);
        session.purchased = true;
        break;
      }
      case 'logout':
        ended.push({ addedToCart: session.items > 0, purchased: session.purchased });
        open.delete(event.user_id);
        session = undefined;
        break;
      default:
        violations.push(`${where}: unknown event`);
    }
  }
  return { violations, ended };
}

describe('Simulator', () => {
  it('refuses bad options with the bad value in the message', () => {
    for (const users of [0, -1, 1.5, 10_000_001, Number.NaN]) {
      expect(() => new Simulator({ users })).toThrow(ConfigError);
      expect(() => new Simulator({ users })).toThrow(`(given ${users})`);
    }
    expect(() => new Simulator({ users: 0 })).toThrow(
      'users must be an integer between 1 and 10000000 (given 0)',
    );
    expect(() => new Simulator({ users: 1, seed: Number.POSITIVE_INFINITY })).toThrow('(given Infinity)');
    expect(new Simulator({ users: 10_000_000, seed: 1 }).next().user_id).toMatch(/^user_\d+$/);
  });

  it('repeats itself exactly for the same seed and clock, and differs for another seed', () => {
    const first = take(new Simulator({ users: 50, seed: 'alpha', now: steppingClock() }), 5_000);
    const again = take(new Simulator({ users: 50, seed: 'alpha', now: steppingClock() }), 5_000);
    const other = take(new Simulator({ users: 50, seed: 'beta', now: steppingClock() }), 5_000);

    expect(again).toEqual(first);
    expect(other.map((event) => event.event_id)).not.toEqual(first.map((event) => event.event_id));
    expect(other.map((event) => event.user_id)).not.toEqual(first.map((event) => event.user_id));
  });

  it('chooses a random seed when given none, and that seed replays the run', () => {
    const simulator = new Simulator({ users: 20, now: steppingClock() });
    const another = new Simulator({ users: 20, now: steppingClock() });
    const events = take(simulator, 1_000);

    expect(another.seed).not.toBe(simulator.seed);
    expect(take(new Simulator({ users: 20, seed: simulator.seed, now: steppingClock() }), 1_000)).toEqual(
      events,
    );
  });

  it('encodes each event as the UTF-8 JSON of the same event, keyed by user', () => {
    const plain = new Simulator({ users: 100, seed: 7, now: steppingClock() });
    const encoded = new Simulator({ users: 100, seed: 7, now: steppingClock() });
    for (let i = 0; i < 5_000; i++) {
      const event = plain.next();
      const record = encoded.nextEncoded();
      expect(record.partitionKey).toBe(event.user_id);
      expect(record.data.toString('utf8')).toBe(JSON.stringify(event));
    }
  });

  it('stamps events with the clock as ISO 8601 UTC with milliseconds', () => {
    const readings = [START, START, START + 1, START + 999, START + 86_400_000.7];
    let index = 0;
    const simulator = new Simulator({ users: 3, seed: 1, now: () => readings[index++] ?? 0 });
    const timestamps = readings.map(() => simulator.next().timestamp);

    expect(timestamps).toEqual([
      '2026-11-25T19:31:12.000Z',
      '2026-11-25T19:31:12.000Z',
      '2026-11-25T19:31:12.001Z',
      '2026-11-25T19:31:12.999Z',
      '2026-11-26T19:31:12.000Z',
    ]);
  });

  it('gives every event a valid, unique UUIDv7 whose time is the event time', () => {
    // A clock that never moves leaves uniqueness to the 74 random bits alone.
    const frozen = take(new Simulator({ users: 1_000, seed: 'ids', now: () => START }), 100_000);
    const moving = take(
      new Simulator({ users: 1_000, seed: 'ids', now: steppingClock(2 ** 47 + 12_345) }),
      1_000,
    );

    const invalid = [...frozen, ...moving].filter(
      (event) => !UUID_V7.test(event.event_id) || uuidMs(event.event_id) !== Date.parse(event.timestamp),
    );
    expect(invalid.slice(0, 5)).toEqual([]);
    expect(uuidMs(moving[0]?.event_id ?? '')).toBe(2 ** 47 + 12_345);
    expect(new Set(frozen.map((event) => event.event_id)).size).toBe(frozen.length);
  });

  it('makes UUIDv7s from secure random bits when given no source', () => {
    const ids = Array.from({ length: 10_000 }, () => uuidv7(START));

    expect(ids.filter((id) => !UUID_V7.test(id) || uuidMs(id) !== START)).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
    expect(Math.abs(uuidMs(uuidv7()) - Date.now())).toBeLessThan(60_000);
  });

  it('lays out UUIDv7 bits as RFC 9562 does (its test vector)', () => {
    const bits = [0xcc3, 0x63137030, 0x0c07398f];
    const source = { uint32: () => bits.shift() ?? 0 };

    expect(uuidv7(0x017f22e279b0, source)).toBe('017f22e2-79b0-7cc3-98c4-dc0c0c07398f');
  });

  it('keeps every session well formed: login, browsing, cart, purchase only after the cart, logout', () => {
    const events = take(new Simulator({ users: 300, seed: 'sessions', now: steppingClock() }), 100_000);
    const { violations, ended } = checkSessions(events);

    expect(violations.slice(0, 10)).toEqual([]);
    expect(ended.length).toBeGreaterThan(5_000);
  });

  it('follows a realistic funnel: about 30 % of sessions add to cart, about 40 % of those buy', () => {
    const events = take(new Simulator({ users: 2_000, seed: 'funnel', now: steppingClock() }), 200_000);
    const { violations, ended } = checkSessions(events);
    const carts = ended.filter((session) => session.addedToCart).length;
    const purchases = ended.filter((session) => session.purchased).length;

    expect(violations.slice(0, 10)).toEqual([]);
    expect(carts / ended.length).toBeGreaterThan(0.25);
    expect(carts / ended.length).toBeLessThan(0.35);
    expect(purchases / carts).toBeGreaterThan(0.33);
    expect(purchases / carts).toBeLessThan(0.47);
    const kinds = new Set(events.map((event) => event.event));
    expect([...kinds].sort()).toEqual(['add_to_cart', 'click', 'login', 'logout', 'page_view', 'purchase']);
  });

  it('reaches nearly every user, some far more often than others', () => {
    const users = 500;
    const events = take(new Simulator({ users, seed: 'users', now: steppingClock() }), 200_000);
    const counts = new Map<string, number>();
    for (const event of events) counts.set(event.user_id, (counts.get(event.user_id) ?? 0) + 1);
    const sorted = [...counts.values()].sort((a, b) => b - a);
    const median = sorted[Math.floor(sorted.length / 2)] ?? 0;

    expect(counts.size).toBeGreaterThanOrEqual(users * 0.98);
    expect(
      [...counts.keys()].every((id) => /^user_([1-9]\d*)$/.test(id) && Number(id.slice(5)) <= users),
    ).toBe(true);
    expect(sorted[0] ?? 0).toBeGreaterThan(10 * median);
    const contexts = new Set(events.map((event) => JSON.stringify(event.context)));
    expect(contexts.size).toBeGreaterThan(10);
  });
});
