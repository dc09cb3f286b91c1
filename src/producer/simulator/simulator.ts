import { randomBytes } from 'node:crypto';
import { ConfigError } from '../../core/errors.js';
import type { ActivityEvent, JsonValue } from '../../event/types.js';
import {
  ARRIVALS,
  BROWSE_PAGES,
  CART_SIZES,
  CHECKOUT_PAGE,
  CLICK_ELEMENTS,
  HOURLY_RHYTHM,
  LOGIN_METHODS,
  PAGES,
  type Page,
  PRODUCT_PAGES,
  PROFILE_SHARES,
  PROFILES,
  type Product,
  type Profile,
  QUANTITIES,
} from './catalog.js';
import { hashSeed, mix32, Prng } from './prng.js';
import { drawUuidv7, formatUuid, uuidv7 } from './uuid.js';
import { violate } from './violations.js';

export const MAX_SIMULATED_USERS = 10_000_000;
/** The share of sessions that add something to the cart. */
const ADD_TO_CART_RATE = 0.3;
/** The share of sessions with a full cart that go on to buy. */
const PURCHASE_RATE = 0.4;
/** After a session's first page view, the share of browsing events that are clicks. */
const CLICK_RATE = 0.35;
/** The page views and clicks before a session turns to its cart or leaves: geometric, mean 7. */
const LOG_BROWSE_CONTINUE = Math.log(1 - 1 / 7);
/** The longest `span`: a year. */
export const MAX_SPAN_MS = 366 * 86_400_000;
/** Within a session, the time between events: at least a second, then exponential, mean 30 s. */
const MIN_THINK_MS = 1_000;
const MEAN_EXTRA_THINK_MS = 29_000;
const MAX_THINK_MS = 15 * 60_000;

type Properties = { [key: string]: JsonValue };

export type SimulatedEventName = 'login' | 'page_view' | 'click' | 'add_to_cart' | 'purchase' | 'logout';

/** An `ActivityEvent` as a producer sends it: without `received_at`, which the pipeline sets. */
export interface SimulatedEvent extends Omit<ActivityEvent, 'received_at' | 'sent_at'> {
  event: SimulatedEventName;
  session_id: string;
  properties: Properties;
  /** Shared by the user's events and frozen: copy it before changing it. */
  context: Readonly<{ [key: string]: JsonValue }>;
}

export interface SimulatorOptions {
  /** How many users, named `user_1` … `user_U`: 1 to 10,000,000. */
  users: number;
  /** Makes the run reproducible (`42` and `'42'` are the same seed); a random one when absent. */
  seed?: string | number;
  /** The clock, in epoch milliseconds; `Date.now` by default. */
  now?: () => number;
  /**
   * Spreads event times over this many milliseconds before the clock's first reading, with the
   * rhythm of a day (`HOURLY_RHYTHM`): each session starts at such a time and its events follow a
   * few seconds to minutes apart. Without it, every event's time is the clock's reading.
   */
  span?: number;
  /**
   * The share of events (0 to 1, default 0) given a deliberate mistake against the shop's tracking
   * plan, `examples/shop-tracking-plan.json`, which every other event passes.
   */
  violations?: number;
}

// What each user does next. The default of a fresh typed array, 0, is LOGIN: users start between sessions.
const LOGIN = 0;
const BROWSE = 1; // `left` counts the page views and clicks still to come
const VIEW_PRODUCT = 2; // the page of a product about to go in the cart; `left` counts products to add
const ADD_TO_CART = 3;
const CHECKOUT = 4;
const PURCHASE = 5;
const LOGOUT = 6;
/** `page` of a user who has not viewed a page yet in this session. */
const NO_PAGE = 255;

// The catalogue's tables are constant, so these look-ups cannot miss.
const pageAt = (index: number): Page => PAGES[index] as Page;
const profileAt = (index: number): Profile => PROFILES[index] as Profile;

function productOn(page: Page): Product {
  if (page.product === undefined) throw new Error(`simulator bug: ${page.path} is not a product page`);
  return page.product;
}

function checkOptions(options: SimulatorOptions): void {
  const { users, seed, now, span, violations } = options;
  if (!Number.isInteger(users) || users < 1 || users > MAX_SIMULATED_USERS) {
    throw new ConfigError(`users must be an integer between 1 and ${MAX_SIMULATED_USERS} (given ${users})`);
  }
  if (
    seed !== undefined &&
    !(typeof seed === 'string' || (typeof seed === 'number' && Number.isFinite(seed)))
  ) {
    throw new ConfigError(`seed must be a string or a finite number (given ${String(seed)})`);
  }
  if (now !== undefined && typeof now !== 'function') {
    throw new ConfigError(`now must be a function returning epoch milliseconds (given ${typeof now})`);
  }
  if (span !== undefined && !(Number.isFinite(span) && span > 0 && span <= MAX_SPAN_MS)) {
    throw new ConfigError(`span must be above 0 and at most 366 days (given ${span} ms)`);
  }
  if (violations !== undefined && !(violations >= 0 && violations <= 1)) {
    throw new ConfigError(`violations must be a share between 0 and 1 (given ${violations})`);
  }
}

/**
 * Simulates users of a web shop. Each user runs sessions: `login`, page views and clicks, sometimes
 * `add_to_cart` (30 % of sessions) and then sometimes `purchase` (40 % of those), then `logout`.
 * Each step picks one user, some far more active than others (a Zipf-like law), and emits that
 * user's next event; a user between sessions starts a new one. Each user has a browser's user agent
 * in `context`, or, for about 3 % of them, a crawler's or a script's: those only view pages. Page views
 * carry their `url` and `referrer` (search, social, other sites, the shop's previous page), and a
 * session's first page view may carry a campaign in its URL's `utm_*` parameters.
 *
 * With the same seed and the same clock readings the events are identical, `event_id` included:
 * every random choice, the random bits of the UUIDv7s among them, comes from one seeded generator.
 */
export class Simulator {
  /** The seed in use, given or chosen at random: pass it again to replay the run. */
  readonly seed: string;
  readonly users: number;
  private readonly prng: Prng;
  private readonly now: () => number;
  /** log(U + 1): see `pickUser`. */
  private readonly logUsersPlusOne: number;
  /** Mixed into user numbers to choose each user's profile, so profiles depend on the seed too. */
  private readonly profileSalt: number;
  /** `span`, and the end of the time it covers: the clock's first reading. */
  private readonly spanMs: number | undefined;
  private readonly endMs: number;
  private readonly violationRate: number;

  // Per-user state in typed arrays indexed by user number − 1: about 25 bytes a user, so ten million
  // users fit, and memory is only touched for users who have appeared.
  private readonly phase: Uint8Array;
  private readonly left: Uint8Array;
  /** The page the user is on, an index into `PAGES`, or `NO_PAGE`. */
  private readonly page: Uint8Array;
  /** An index into `PROFILES`. */
  private readonly profile: Uint16Array;
  /** With a span, the time of each user's last event, epoch milliseconds (empty without one). */
  private readonly clock: Float64Array;
  private readonly cartCents: Uint32Array;
  private readonly cartItems: Uint8Array;
  /** The current session's UUID, four 32-bit words per user. */
  private readonly sessionIds: Uint32Array;

  private readonly eventId = new Uint32Array(4);
  /** The last clock reading and its ISO form: many events share a millisecond. */
  private lastMs = Number.NaN;
  private lastTimestamp = '';
  /** The profile of the user of the last event. */
  private lastProfile = profileAt(0);

  constructor(options: SimulatorOptions) {
    checkOptions(options);
    const { users } = options;
    this.seed = options.seed === undefined ? randomBytes(8).toString('hex') : String(options.seed);
    this.users = users;
    this.prng = new Prng(this.seed);
    this.now = options.now ?? Date.now;
    this.logUsersPlusOne = Math.log(users + 1);
    this.profileSalt = hashSeed(`profiles:${this.seed}`)[0];
    this.spanMs = options.span;
    this.endMs = options.span === undefined ? 0 : Math.floor(this.now());
    this.violationRate = options.violations ?? 0;
    this.clock = new Float64Array(options.span === undefined ? 0 : users);
    this.phase = new Uint8Array(users);
    this.left = new Uint8Array(users);
    this.page = new Uint8Array(users);
    this.profile = new Uint16Array(users);
    this.cartCents = new Uint32Array(users);
    this.cartItems = new Uint8Array(users);
    this.sessionIds = new Uint32Array(users * 4);
  }

  /** The next event. Its objects are new, except `context`, which is shared and frozen. */
  next(): SimulatedEvent {
    const user = this.pickUser();
    const ms = this.timeOf(user);
    if (ms !== this.lastMs) {
      this.lastMs = ms;
      this.lastTimestamp = new Date(ms).toISOString();
    }
    const prng = this.prng;
    switch (this.phase[user]) {
      case LOGIN: {
        // The profile comes from a hash of the user number, not from the sequence: it is the user's for good.
        const hash = mix32(Math.imul(user + 1, 0x9e3779b1) ^ this.profileSalt);
        this.profile[user] = PROFILE_SHARES.pick(hash / 4294967296);
        drawUuidv7(ms, prng, this.sessionIds, user * 4);
        this.phase[user] = BROWSE;
        this.left[user] = Math.min(255, 1 + Math.floor(Math.log(1 - prng.float()) / LOG_BROWSE_CONTINUE));
        this.page[user] = NO_PAGE;
        this.cartCents[user] = 0;
        this.cartItems[user] = 0;
        // A bot's visit begins with a page: it does not log in.
        if (this.profileOf(user).bot) return this.browse(user);
        return this.emit(user, 'login', { method: LOGIN_METHODS.pick(prng.float()) });
      }
      case BROWSE:
        return this.browse(user);
      case VIEW_PRODUCT:
        this.phase[user] = ADD_TO_CART;
        return this.pageView(user, PRODUCT_PAGES.pick(prng.float()));
      case ADD_TO_CART: {
        const product = productOn(pageAt(this.page[user] ?? NO_PAGE));
        const quantity = QUANTITIES.pick(prng.float());
        this.cartCents[user] = (this.cartCents[user] ?? 0) + product.priceCents * quantity;
        this.cartItems[user] = (this.cartItems[user] ?? 0) + quantity;
        const left = (this.left[user] ?? 1) - 1;
        this.left[user] = left;
        if (left > 0) this.phase[user] = VIEW_PRODUCT;
        else this.phase[user] = prng.float() < PURCHASE_RATE ? CHECKOUT : LOGOUT;
        return this.emit(user, 'add_to_cart', {
          product_id: product.id,
          name: product.name,
          // Prices are whole cents, so dividing by 100 prints with at most two decimals.
          price: product.priceCents / 100,
          quantity,
          currency: this.profileOf(user).currency,
        });
      }
      case CHECKOUT:
        this.phase[user] = PURCHASE;
        return this.pageView(user, CHECKOUT_PAGE);
      case PURCHASE:
        this.phase[user] = LOGOUT;
        return this.emit(user, 'purchase', {
          order_id: uuidv7(ms, prng),
          amount: (this.cartCents[user] ?? 0) / 100,
          currency: this.profileOf(user).currency,
          items: this.cartItems[user] ?? 0,
        });
      default:
        this.phase[user] = LOGIN;
        return this.emit(user, 'logout', {});
    }
  }

  /**
   * The next event as a record for the stream: partition key `user_id`, data the UTF-8 JSON, the same
   * bytes as `JSON.stringify(next())` in half the time. The envelope's strings are ours (hex, digits,
   * fixed names) and need no escaping; `properties` go through `JSON.stringify`.
   */
  nextEncoded(): { partitionKey: string; data: Buffer } {
    const e = this.next();
    const json =
      `{"event_id":"${e.event_id}","user_id":"${e.user_id}","event":"${e.event}","timestamp":"${e.timestamp}",` +
      `"session_id":"${e.session_id}","properties":${JSON.stringify(e.properties)},` +
      `"context":${this.lastProfile.contextJson}}`;
    return { partitionKey: e.user_id, data: Buffer.from(json, 'utf8') };
  }

  /**
   * A user index in [0, U), drawn as floor((U + 1)^u) − 1 for a uniform u: the user of rank k comes up
   * with probability log(1 + 1/k) / log(U + 1), close to Zipf's 1/k law. `user_1` is the most active.
   */
  private pickUser(): number {
    return Math.min(Math.floor(Math.exp(this.prng.float() * this.logUsersPlusOne)), this.users) - 1;
  }

  private profileOf(user: number): Profile {
    return profileAt(this.profile[user] ?? 0);
  }

  /** A page view or a click; when the session's browsing is done, on to the cart or out (a bot leaves). */
  private browse(user: number): SimulatedEvent {
    const prng = this.prng;
    const bot = this.profileOf(user).bot;
    const left = (this.left[user] ?? 1) - 1;
    this.left[user] = left;
    if (left === 0) {
      if (bot) this.phase[user] = LOGIN;
      else if (prng.float() < ADD_TO_CART_RATE) {
        this.phase[user] = VIEW_PRODUCT;
        this.left[user] = CART_SIZES.pick(prng.float());
      } else {
        this.phase[user] = LOGOUT;
      }
    }
    const from = this.page[user] ?? NO_PAGE;
    if (!bot && from !== NO_PAGE && prng.float() < CLICK_RATE) {
      return this.emit(user, 'click', {
        element: CLICK_ELEMENTS.pick(prng.float()),
        path: pageAt(from).path,
      });
    }
    return this.pageView(user, BROWSE_PAGES.pick(prng.float()));
  }

  /**
   * A page view of `to`, from the user's current page; a session's first comes from outside the shop
   * (search, social, a campaign, or directly), its campaign in the URL's `utm_*` parameters.
   */
  private pageView(user: number, to: number): SimulatedEvent {
    const from = this.page[user] ?? NO_PAGE;
    this.page[user] = to;
    const { path, title, url } = pageAt(to);
    if (from !== NO_PAGE) {
      return this.emit(user, 'page_view', { path, referrer: pageAt(from).url, title, url });
    }
    const arrival = ARRIVALS.pick(this.prng.float());
    if (this.profileOf(user).bot) return this.emit(user, 'page_view', { path, title, url });
    const landing = url + arrival.query;
    return this.emit(
      user,
      'page_view',
      arrival.referrer === undefined
        ? { path, title, url: landing }
        : { path, referrer: arrival.referrer, title, url: landing },
    );
  }

  /**
   * The time of the user's next event, epoch milliseconds: the clock's reading; or, with a span, a
   * new session's start drawn from the day's rhythm, or the user's last event plus a moment to think.
   */
  private timeOf(user: number): number {
    if (this.spanMs === undefined) return Math.floor(this.now());
    const think = MIN_THINK_MS - Math.log(1 - this.prng.float()) * MEAN_EXTRA_THINK_MS;
    const t =
      this.phase[user] === LOGIN
        ? this.sessionStart(this.spanMs)
        : (this.clock[user] ?? this.endMs) + Math.min(think, MAX_THINK_MS);
    const ms = Math.floor(Math.min(t, this.endMs));
    this.clock[user] = ms;
    return ms;
  }

  /** A time in the span, more likely in the busy hours of the day (rejection sampling: two tries on average). */
  private sessionStart(spanMs: number): number {
    for (;;) {
      const t = this.endMs - spanMs * this.prng.float();
      const hour = Math.floor(t / 3_600_000) % 24;
      if (this.prng.float() < (HOURLY_RHYTHM[hour] ?? 1)) return t;
    }
  }

  private emit(user: number, event: SimulatedEventName, given: Properties): SimulatedEvent {
    const properties =
      this.violationRate > 0 && this.prng.float() < this.violationRate ? violate(event, given) : given;
    drawUuidv7(this.lastMs, this.prng, this.eventId, 0);
    this.lastProfile = this.profileOf(user);
    return {
      event_id: formatUuid(this.eventId, 0),
      user_id: `user_${user + 1}`,
      event,
      timestamp: this.lastTimestamp,
      session_id: formatUuid(this.sessionIds, user * 4),
      properties,
      context: this.lastProfile.context,
    };
  }
}
