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

  /** Binary search of the cumulative weights: the profile table has hundreds of entries. */
  pick(u: number): T {
    const entries = this.entries;
    let low = 0;
    let high = entries.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (u < (entries[mid] as { upTo: number }).upTo) high = mid;
      else low = mid + 1;
    }
    // Past the last cumulative weight only through rounding.
    return low < entries.length ? (entries[low] as { item: T }).item : this.last;
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
  /** The page's address on the shop's site, `SHOP_ORIGIN` + `path`. */
  url: string;
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

/** The shop's site: page URLs and internal referrers are made of it. */
export const SHOP_ORIGIN = 'https://shop.example';

/** Every page of the shop; events store indices into it. */
export const PAGES: Page[] = GENERAL_PAGES.map(([path, title]) => ({
  path,
  title,
  url: SHOP_ORIGIN + path,
}));

const browseChoices: [number, number][] = GENERAL_PAGES.map(([, , weight], index) => [index, weight]);
const productChoices: [number, number][] = [];
let sku = 1001;
for (const [slug, title, products] of CATEGORIES) {
  browseChoices.push([PAGES.length, CATEGORY_PAGES_WEIGHT / CATEGORIES.length]);
  PAGES.push({ path: `/category/${slug}`, title, url: `${SHOP_ORIGIN}/category/${slug}` });
  for (const [name, priceCents] of products) {
    const id = `sku_${sku++}`;
    // Popularity falls off with the rank in the catalogue: a few best sellers, a long tail.
    productChoices.push([PAGES.length, 1 / (productChoices.length + 1)]);
    const path = `/products/${id}`;
    PAGES.push({ path, title: name, url: SHOP_ORIGIN + path, product: { id, name, priceCents } });
  }
}
const productWeightTotal = productChoices.reduce((sum, [, weight]) => sum + weight, 0);
for (const [index, weight] of productChoices) {
  browseChoices.push([index, (PRODUCT_PAGES_WEIGHT * weight) / productWeightTotal]);
}

export const CHECKOUT_PAGE = PAGES.length;
PAGES.push({ path: '/checkout', title: 'Checkout', url: `${SHOP_ORIGIN}/checkout` });

/** A page users browse to, by popularity. */
export const BROWSE_PAGES = new Weighted(browseChoices);
/** A product page, by the product's popularity. */
export const PRODUCT_PAGES = new Weighted(productChoices);

/** How a session arrives: the first page view's referrer (none for direct and e-mail) and campaign. */
export interface Arrival {
  referrer?: string;
  /** The query string of the landing page's URL, `?utm_source=…`, or empty. */
  query: string;
}

const utm = (source: string, medium: string, campaign: string, extra = ''): string =>
  `?utm_source=${source}&utm_medium=${medium}&utm_campaign=${campaign}${extra}`;

/** Where sessions come from: search, social, campaigns, other sites, and direct visits. */
export const ARRIVALS = new Weighted<Arrival>([
  [{ query: '' }, 24],
  [{ referrer: 'https://www.google.com/', query: '' }, 28],
  [{ referrer: 'https://www.bing.com/', query: '' }, 4],
  [{ referrer: 'https://duckduckgo.com/', query: '' }, 2],
  [{ referrer: 'https://www.google.com/', query: utm('google', 'cpc', 'winter_sale', '&utm_term=gifts') }, 8],
  [
    { referrer: 'https://www.google.com/', query: utm('google', 'cpc', 'brand', '&utm_term=shop+example') },
    3,
  ],
  [
    {
      referrer: 'https://l.facebook.com/',
      query: utm('facebook', 'social', 'winter_sale', '&utm_content=carousel'),
    },
    6,
  ],
  [
    {
      referrer: 'https://www.instagram.com/',
      query: utm('instagram', 'social', 'winter_sale', '&utm_content=story'),
    },
    4,
  ],
  [{ referrer: 'https://t.co/', query: '' }, 3],
  [{ referrer: 'https://www.reddit.com/', query: '' }, 2],
  [{ query: utm('newsletter', 'email', 'weekly_digest', '&utm_content=hero') }, 6],
  [{ referrer: 'https://news.ycombinator.com/', query: '' }, 2],
  [{ referrer: 'https://blog.example.org/gift-guide', query: utm('blog', 'referral', 'gift_guide') }, 3],
  [{ referrer: 'https://www.example-deals.com/', query: '' }, 3],
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

/**
 * User agents of real browsers, by their share of a shop's visitors (mostly phones), each with its
 * device; and crawlers and scripts, about 3 % of visitors, which browse without logging in or buying.
 */
const AGENTS: readonly (readonly [userAgent: string, device: string | undefined, weight: number])[] = [
  [
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
    'mobile',
    24,
  ],
  [
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1',
    'mobile',
    6,
  ],
  [
    'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
    'mobile',
    19,
  ],
  [
    'Mozilla/5.0 (Linux; Android 14; SM-S928B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/27.0 Chrome/125.0.0.0 Mobile Safari/537.36',
    'mobile',
    4,
  ],
  ['Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0', 'mobile', 1],
  [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    'desktop',
    14,
  ],
  [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
    'desktop',
    5,
  ],
  [
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
    'desktop',
    5,
  ],
  [
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    'desktop',
    5,
  ],
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0', 'desktop', 2],
  [
    'Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1',
    'tablet',
    6,
  ],
  [
    'Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    'tablet',
    2,
  ],
  ['Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', undefined, 1.2],
  [
    'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36',
    undefined,
    0.6,
  ],
  ['Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)', undefined, 0.4],
  ['facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)', undefined, 0.3],
  ['curl/8.5.0', undefined, 0.3],
  ['python-requests/2.32.3', undefined, 0.2],
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
  /** A crawler or script: it browses pages only, with no login, cart or logout. */
  bot: boolean;
}

/** Every combination of browser, locale and app version, and one profile per bot. */
export const PROFILES: Profile[] = [];
const profileChoices: [number, number][] = [];
const localeVersionWeight =
  LOCALES.reduce((sum, [, , weight]) => sum + weight, 0) *
  APP_VERSIONS.reduce((sum, [, weight]) => sum + weight, 0);
const addProfile = (
  context: { [key: string]: JsonValue },
  currency: string,
  bot: boolean,
  weight: number,
) => {
  profileChoices.push([PROFILES.length, weight]);
  PROFILES.push({ context: Object.freeze(context), contextJson: JSON.stringify(context), currency, bot });
};
for (const [userAgent, device, agentWeight] of AGENTS) {
  if (device === undefined) {
    addProfile({ user_agent: userAgent }, 'USD', true, agentWeight * localeVersionWeight);
    continue;
  }
  for (const [locale, currency, localeWeight] of LOCALES) {
    for (const [appVersion, versionWeight] of APP_VERSIONS) {
      const context = { device, locale, app_version: appVersion, user_agent: userAgent };
      addProfile(context, currency, false, agentWeight * localeWeight * versionWeight);
    }
  }
}
/** An index into `PROFILES`, by each profile's share of users. */
export const PROFILE_SHARES = new Weighted(profileChoices);

/**
 * The share of sessions that start in each hour of the day (UTC): quiet at night, rising through the
 * morning, peaking in the evening. The largest is 1.
 */
export const HOURLY_RHYTHM: readonly number[] = [
  0.4, 0.3, 0.2, 0.14, 0.1, 0.1, 0.14, 0.25, 0.42, 0.58, 0.68, 0.75, 0.82, 0.85, 0.84, 0.82, 0.84, 0.9, 0.97,
  1, 1, 0.92, 0.75, 0.55,
];
