import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { campaignOf, parseUserAgent, referrerOf } from '../../src/enrich/index.js';
import { TrackingPlan } from '../../src/plan/index.js';
import { type SimulatedEvent, Simulator, uuidv7 } from '../../src/producer/simulator/index.js';

const START = Date.UTC(2026, 10, 25, 19, 31, 12);
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const SHOP = 'https://shop.example';
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
    if (!('device' in event.context)) {
      // A bot: page views only, a new session id now and then, never a login.
      if (event.event !== 'page_view') violations.push(`${where}: a bot's ${event.event}`);
      if (session?.id !== event.session_id) {
        if (seenSessionIds.has(event.session_id)) violations.push(`${where}: session id reused`);
        seenSessionIds.add(event.session_id);
        session = { id: event.session_id, cents: 0, items: 0, purchased: false, context };
        open.set(event.user_id, session);
      } else if (props.referrer !== `${SHOP}${session.path}`) violations.push(`${where}: bot referrer`);
      session.path = String(props.path);
      continue;
    }
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
        if (expected !== undefined && props.referrer !== `${SHOP}${expected}`)
          violations.push(`${where}: referrer`);
        if (expected !== undefined && props.url !== `${SHOP}${props.path}`) violations.push(`${where}: url`);
        if (expected === undefined && !String(props.url).startsWith(`${SHOP}${props.path}`))
          violations.push(`${where}: landing url ${props.url}`);
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

describe('a simulated day', () => {
  const DAY = 86_400_000;
  const END = Date.UTC(2026, 11, 3, 12, 0, 0);

  it('gives users real browsers and a few % bots, each its device, as the enrichment reads them', () => {
    const events = take(new Simulator({ users: 5_000, seed: 'agents', now: steppingClock() }), 50_000);
    const byUser = new Map(events.map((event) => [event.user_id, event.context]));
    const parsed = [...byUser.values()].map((context) => ({
      context,
      agent: parseUserAgent(String(context.user_agent)),
    }));
    const bots = parsed.filter(({ agent }) => agent?.is_bot === true);

    expect(parsed.every(({ agent }) => agent !== undefined)).toBe(true);
    expect(bots.length / parsed.length).toBeGreaterThan(0.01);
    expect(bots.length / parsed.length).toBeLessThan(0.06);
    // A person's device is the one the user agent tells; bots have none.
    const mismatched = parsed.filter(
      ({ context, agent }) => (context.device ?? 'bot') !== agent?.device_type,
    );
    expect(mismatched.slice(0, 3)).toEqual([]);
    const browsers = new Set(parsed.map(({ agent }) => agent?.browser));
    expect(browsers).toEqual(expect.objectContaining(new Set(['Chrome', 'Mobile Safari', 'Safari', 'Edge'])));
    for (const device of ['mobile', 'desktop', 'tablet']) {
      expect(
        parsed.some(({ context }) => context.device === device),
        device,
      ).toBe(true);
    }
  });

  it('brings sessions from search, social, campaigns, other sites and directly', () => {
    const events = take(new Simulator({ users: 2_000, seed: 'arrivals', now: steppingClock() }), 100_000);
    const mediums = new Map<string, number>();
    let landings = 0;
    let campaigns = 0;
    for (const event of events) {
      if (event.event !== 'page_view') continue;
      const url = String(event.properties.url);
      const referrer = event.properties.referrer;
      const medium =
        referrer === undefined ? 'direct' : referrerOf(String(referrer), 'shop.example')?.referrer_medium;
      mediums.set(String(medium), (mediums.get(String(medium)) ?? 0) + 1);
      if (medium === 'internal') continue;
      landings++;
      if (campaignOf(url) !== undefined) campaigns++;
    }

    expect([...mediums.keys()].sort()).toEqual(['direct', 'internal', 'other', 'search', 'social']);
    expect(campaigns / landings).toBeGreaterThan(0.15);
    expect(campaigns / landings).toBeLessThan(0.45);
    expect((mediums.get('search') ?? 0) / landings).toBeGreaterThan(0.2);
  });

  it('spreads a span over the day: every event in it, busy evenings, quiet nights, sessions of minutes', () => {
    const events = take(new Simulator({ users: 1_000, seed: 'day', span: DAY, now: () => END }), 100_000);
    const times = events.map((event) => Date.parse(event.timestamp));
    const hours = new Map<string, number>();
    for (const ms of times) {
      const hour = new Date(ms).toISOString().slice(0, 13);
      hours.set(hour, (hours.get(hour) ?? 0) + 1);
    }
    const byHourOfDay = (hour: number) => times.filter((ms) => new Date(ms).getUTCHours() === hour).length;
    const sessions = new Map<string, { first: number; last: number; previous: number; backwards: number }>();
    for (const [i, event] of events.entries()) {
      const ms = times[i] as number;
      const session = sessions.get(event.session_id);
      if (session === undefined)
        sessions.set(event.session_id, { first: ms, last: ms, previous: ms, backwards: 0 });
      else {
        if (ms < session.previous) session.backwards++;
        session.last = ms;
        session.previous = ms;
      }
    }
    const durations = [...sessions.values()]
      .filter((s) => s.last > s.first)
      .map((s) => s.last - s.first)
      .sort((a, b) => a - b);
    const median = durations[Math.floor(durations.length / 2)] ?? 0;

    expect(Math.min(...times)).toBeGreaterThanOrEqual(END - DAY);
    expect(Math.max(...times)).toBeLessThanOrEqual(END);
    expect(hours.size).toBeGreaterThanOrEqual(24);
    expect(byHourOfDay(19)).toBeGreaterThan(4 * byHourOfDay(4));
    expect(median).toBeGreaterThan(60_000);
    expect(median).toBeLessThan(30 * 60_000);
    expect([...sessions.values()].filter((s) => s.backwards > 0)).toEqual([]);
    // Event ids still carry their event's time.
    expect(events.every((event) => uuidMs(event.event_id) === Date.parse(event.timestamp))).toBe(true);
  });

  it('is deterministic under a seed with a span too', () => {
    const run = () =>
      take(new Simulator({ users: 100, seed: 's', span: DAY, violations: 0.1, now: () => END }), 2_000);
    expect(run()).toEqual(run());
  });

  it("passes the shop's tracking plan, but for the share of deliberate violations asked for", async () => {
    const file = JSON.parse(await readFile(path.resolve('examples/shop-tracking-plan.json'), 'utf8'));
    // Refusing violations rather than flagging them, so that each one shows in the verdict.
    const plan = TrackingPlan.fromPlan({ ...file, policies: { ...file.policies, violations: 'reject' } });
    const failing = (violations: number) => {
      const simulator = new Simulator({ users: 1_000, seed: 'plan', span: DAY, violations, now: () => END });
      const reasons = new Map<string, number>();
      for (const event of take(simulator, 20_000)) {
        const verdict = plan.check({ ...event, received_at: event.timestamp });
        if (!verdict.ok) {
          for (const v of verdict.violations) reasons.set(v.reason, (reasons.get(v.reason) ?? 0) + 1);
        }
      }
      return reasons;
    };

    expect(failing(0)).toEqual(new Map());
    const some = failing(0.05);
    const total = [...some.values()].reduce((sum, n) => sum + n, 0);
    expect([...some.keys()]).toEqual(['schema_violation']);
    // Logouts have nothing to break: a little under 5 % of all events.
    expect(total / 20_000).toBeGreaterThan(0.03);
    expect(total / 20_000).toBeLessThan(0.06);
  });

  it('refuses a span or a share of violations out of range, naming the value', () => {
    expect(() => new Simulator({ users: 1, span: 0 })).toThrow(
      'span must be above 0 and at most 366 days (given 0 ms)',
    );
    expect(() => new Simulator({ users: 1, span: 400 * DAY })).toThrow(ConfigError);
    expect(() => new Simulator({ users: 1, violations: 1.5 })).toThrow(
      'violations must be a share between 0 and 1 (given 1.5)',
    );
    expect(() => new Simulator({ users: 1, violations: Number.NaN })).toThrow('(given NaN)');
  });
});
