import { randomBytes } from 'node:crypto';
import { ConfigError } from '../../core/errors.js';
import type { ActivityEvent, JsonValue } from '../../event/types.js';
import {
  BROWSE_PAGES,
  CART_SIZES,
  CHECKOUT_PAGE,
  CLICK_ELEMENTS,
  EXTERNAL_REFERRERS,
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

export const MAX_SIMULATED_USERS = 10_000_000;
/** The share of sessions that add something to the cart. */
const ADD_TO_CART_RATE = 0.3;
/** The share of sessions with a full cart that go on to buy. */
const PURCHASE_RATE = 0.4;
/** After a session's first page view, the share of browsing events that are clicks. */
const CLICK_RATE = 0.35;
/** The page views and clicks before a session turns to its cart or leaves: geometric, mean 7. */
const LOG_BROWSE_CONTINUE = Math.log(1 - 1 / 7);

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
  const { users, seed, now } = options;
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
}

/**
 * Simulates users of a web shop. Each user runs sessions: `login`, page views and clicks, sometimes
 * `add_to_cart` (30 % of sessions) and then sometimes `purchase` (40 % of those), then `logout`.
 * Each step picks one user, some far more active than others (a Zipf-like law), and emits that
 * user's next event; a user between sessions starts a new one.
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

  // Per-user state in typed arrays indexed by user number − 1: about 25 bytes a user, so ten million
  // users fit, and memory is only touched for users who have appeared.
  private readonly phase: Uint8Array;
  private readonly left: Uint8Array;
  /** The page the user is on, an index into `PAGES`, or `NO_PAGE`. */
  private readonly page: Uint8Array;
  /** An index into `PROFILES`. */
  private readonly profile: Uint8Array;
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
    this.phase = new Uint8Array(users);
    this.left = new Uint8Array(users);
    this.page = new Uint8Array(users);
    this.profile = new Uint8Array(users);
    this.cartCents = new Uint32Array(users);
    this.cartItems = new Uint8Array(users);
    this.sessionIds = new Uint32Array(users * 4);
  }

  /** The next event. Its objects are new, except `context`, which is shared and frozen. */
  next(): SimulatedEvent {
    const ms = Math.floor(this.now());
    if (ms !== this.lastMs) {
      this.lastMs = ms;
      this.lastTimestamp = new Date(ms).toISOString();
    }
    const user = this.pickUser();
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
        return this.emit(user, 'login', { method: LOGIN_METHODS.pick(prng.float()) });
      }
      case BROWSE: {
        const left = (this.left[user] ?? 1) - 1;
        this.left[user] = left;
        if (left === 0) {
          if (prng.float() < ADD_TO_CART_RATE) {
            this.phase[user] = VIEW_PRODUCT;
            this.left[user] = CART_SIZES.pick(prng.float());
          } else {
            this.phase[user] = LOGOUT;
          }
        }
        const from = this.page[user] ?? NO_PAGE;
        if (from !== NO_PAGE && prng.float() < CLICK_RATE) {
          return this.emit(user, 'click', {
            element: CLICK_ELEMENTS.pick(prng.float()),
            path: pageAt(from).path,
          });
        }
        return this.pageView(user, BROWSE_PAGES.pick(prng.float()));
      }
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

  /** A page view of `to`, from the user's current page, or from outside the shop on a session's first. */
  private pageView(user: number, to: number): SimulatedEvent {
    const from = this.page[user] ?? NO_PAGE;
    this.page[user] = to;
    const { path, title } = pageAt(to);
    if (from !== NO_PAGE) return this.emit(user, 'page_view', { path, referrer: pageAt(from).path, title });
    const referrer = EXTERNAL_REFERRERS.pick(this.prng.float());
    return this.emit(user, 'page_view', referrer === undefined ? { path, title } : { path, referrer, title });
  }

  private emit(user: number, event: SimulatedEventName, properties: Properties): SimulatedEvent {
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
