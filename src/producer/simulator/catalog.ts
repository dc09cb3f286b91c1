/** The shop the simulated users browse: its pages, products, and who the users are. */
import type { JsonValue } from '../../event/types.js';

/** Picks items in proportion to fixed weights, given a uniform number in [0, 1). */
export class Weighted<T> {
  private readonly entries: { item: T; upTo: number }[] = [];
  private readonly last: T;

  constructor(choices: readonly (readonly [T, number])[]) {
    const total = choices.reduce((sum, [, weight]) => sum + weight, 0);
    let upTo = 0;
    for (const [item, weight] of choices) {
      upTo += weight / total;
      this.entries.push({ item, upTo });
    }
    const last = choices.at(-1);
    if (last === undefined) throw new Error('Weighted needs at least one choice');
    this.last = last[0];
  }

  pick(u: number): T {
    for (const entry of this.entries) if (u < entry.upTo) return entry.item;
    return this.last; // only reached through rounding in the last cumulative weight
  }
}

export interface Product {
  id: string;
  name: string;
  priceCents: number;
}

export interface Page {
  path: string;
  title: string;
  /** Set on a product's page. */
  product?: Product;
}

const CATEGORIES: readonly (readonly [slug: string, title: string, products: [string, number][]])[] = [
  [
    'electronics',
    'Electronics',
    [
      ['Wireless Mouse', 2499],
      ['USB-C Charger', 1999],
      ['Noise-Cancelling Headphones', 19900],
      ['Mechanical Keyboard', 8950],
      ['27-inch 4K Monitor', 32999],
    ],
  ],
  [
    'home',
    'Home & Kitchen',
    [
      ['Ceramic Mug', 1200],
      ['Scented Candle', 1875],
      ['Throw Blanket', 3990],
      ['Desk Lamp', 4500],
    ],
  ],
  [
    'apparel',
    'Apparel',
    [
      ['Running Shoes', 11995],
      ['Rain Jacket', 8900],
      ['Wool Socks', 1450],
      ['Baseball Cap', 2200],
    ],
  ],
  [
    'books',
    'Books',
    [
      ['Programming TypeScript', 3999],
      ['The Pragmatic Programmer', 4495],
      ['Designing Data-Intensive Applications', 4999],
    ],
  ],
  [
    'sports',
    'Sports & Outdoors',
    [
      ['Yoga Mat', 2999],
      ['Water Bottle', 1695],
      ['Resistance Bands', 2149],
      ['Tennis Racket', 14900],
    ],
  ],
];

const GENERAL_PAGES: readonly (readonly [path: string, title: string, weight: number])[] = [
  ['/', 'Home', 15],
  ['/search', 'Search results', 10],
  ['/deals', "Today's deals", 4],
  ['/account', 'Your account', 3],
  ['/help', 'Help centre', 3],
];

/** Share of browsing page views that land on category pages and on product pages. */
const CATEGORY_PAGES_WEIGHT = 25;
const PRODUCT_PAGES_WEIGHT = 40;

/** Every page of the shop; events store indices into it. */
export const PAGES: Page[] = GENERAL_PAGES.map(([path, title]) => ({ path, title }));

const browseChoices: [number, number][] = GENERAL_PAGES.map(([, , weight], index) => [index, weight]);
const productChoices: [number, number][] = [];
let sku = 1001;
for (const [slug, title, products] of CATEGORIES) {
  browseChoices.push([PAGES.length, CATEGORY_PAGES_WEIGHT / CATEGORIES.length]);
  PAGES.push({ path: `/category/${slug}`, title });
  for (const [name, priceCents] of products) {
    const id = `sku_${sku++}`;
    // Popularity falls off with the rank in the catalogue: a few best sellers, a long tail.
    productChoices.push([PAGES.length, 1 / (productChoices.length + 1)]);
    PAGES.push({ path: `/products/${id}`, title: name, product: { id, name, priceCents } });
  }
}
const productWeightTotal = productChoices.reduce((sum, [, weight]) => sum + weight, 0);
for (const [index, weight] of productChoices) {
  browseChoices.push([index, (PRODUCT_PAGES_WEIGHT * weight) / productWeightTotal]);
}

export const CHECKOUT_PAGE = PAGES.length;
PAGES.push({ path: '/checkout', title: 'Checkout' });

/** A page users browse to, by popularity. */
export const BROWSE_PAGES = new Weighted(browseChoices);
/** A product page, by the product's popularity. */
export const PRODUCT_PAGES = new Weighted(productChoices);

/** Where a session's first page view comes from; `undefined` is a direct visit. */
export const EXTERNAL_REFERRERS = new Weighted<string | undefined>([
  ['https://www.google.com/', 45],
  [undefined, 30],
  ['https://www.facebook.com/', 10],
  ['https://www.bing.com/', 5],
  ['https://t.co/', 5],
  ['https://news.ycombinator.com/', 5],
]);

export const CLICK_ELEMENTS = new Weighted([
  ['product_card', 25],
  ['nav_menu', 15],
  ['search_box', 12],
  ['banner', 10],
  ['filter', 10],
  ['sort', 8],
  ['image_gallery', 8],
  ['pagination', 6],
  ['footer_link', 6],
] as const);

export const LOGIN_METHODS = new Weighted([
  ['password', 60],
  ['google', 25],
  ['apple', 10],
  ['magic_link', 5],
] as const);

export const QUANTITIES = new Weighted([
  [1, 75],
  [2, 18],
  [3, 7],
] as const);

/** How many products a session that adds to its cart adds. */
export const CART_SIZES = new Weighted([
  [1, 60],
  [2, 28],
  [3, 12],
] as const);

const DEVICES: readonly (readonly [string, number])[] = [
  ['mobile', 55],
  ['desktop', 35],
  ['tablet', 10],
];

/** Locales and the currency a user of that locale pays in: mostly USD, EUR and GBP. */
const LOCALES: readonly (readonly [locale: string, currency: string, weight: number])[] = [
  ['en-US', 'USD', 40],
  ['en-GB', 'GBP', 12],
  ['de-DE', 'EUR', 12],
  ['fr-FR', 'EUR', 10],
  ['es-ES', 'EUR', 7],
  ['it-IT', 'EUR', 5],
  ['nl-NL', 'EUR', 4],
  ['en-CA', 'CAD', 4],
  ['en-AU', 'AUD', 3],
  ['de-CH', 'CHF', 3],
];

const APP_VERSIONS: readonly (readonly [string, number])[] = [
  ['3.6.0', 45],
  ['3.5.2', 30],
  ['3.5.0', 15],
  ['3.4.1', 10],
];

/** Who a user is, the same in every event of theirs: the event's `context`, and their currency. */
export interface Profile {
  /** Frozen: it is shared by every event of the users with this profile. */
  context: Readonly<{ [key: string]: JsonValue }>;
  /** `context` as JSON, for `Simulator.nextEncoded`. */
  contextJson: string;
  currency: string;
}

/** Every combination of device, locale and app version. */
export const PROFILES: Profile[] = [];
const profileChoices: [number, number][] = [];
for (const [device, deviceWeight] of DEVICES) {
  for (const [locale, currency, localeWeight] of LOCALES) {
    for (const [appVersion, versionWeight] of APP_VERSIONS) {
      profileChoices.push([PROFILES.length, deviceWeight * localeWeight * versionWeight]);
      const context = Object.freeze({ device, locale, app_version: appVersion });
      PROFILES.push({ context, contextJson: JSON.stringify(context), currency });
    }
  }
}
/** An index into `PROFILES`, by each profile's share of users. */
export const PROFILE_SHARES = new Weighted(profileChoices);
