import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { campaignOf, enrich, LruCache, parseUserAgent, referrerOf } from '../../src/enrich/index.js';
import type { ActivityEvent } from '../../src/event/index.js';

const UA = {
  chromeDesktop:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  safariIphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  firefoxAndroid: 'Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0',
  safariIpad:
    'Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1',
  googlebot: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  bingbot:
    'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36',
  curl: 'curl/8.5.0',
};

function event(context?: ActivityEvent['context'], properties?: ActivityEvent['properties']): ActivityEvent {
  return {
    event_id: '0193a000-0000-7000-8000-000000000001',
    user_id: 'user_1',
    event: 'page_view',
    timestamp: '2026-11-25T19:31:12.000Z',
    received_at: '2026-11-25T19:31:12.041Z',
    ...(properties === undefined ? {} : { properties }),
    ...(context === undefined ? {} : { context }),
  };
}

describe('user agents', () => {
  it('names the browser, its version, the OS and the device type of known browsers', () => {
    expect(parseUserAgent(UA.chromeDesktop)).toEqual({
      browser: 'Chrome',
      browser_version: '131.0.0.0',
      os: 'Windows',
      device_type: 'desktop',
      is_bot: false,
    });
    expect(parseUserAgent(UA.safariIphone)).toEqual({
      browser: 'Mobile Safari',
      browser_version: '18.1',
      os: 'iOS',
      device_type: 'mobile',
      is_bot: false,
    });
    expect(parseUserAgent(UA.firefoxAndroid)).toEqual({
      browser: 'Firefox',
      browser_version: '133.0',
      os: 'Android',
      device_type: 'mobile',
      is_bot: false,
    });
    expect(parseUserAgent(UA.safariIpad)).toMatchObject({ os: 'iOS', device_type: 'tablet', is_bot: false });
  });

  it('flags crawlers and scripts as bots, whatever browser they claim to be', () => {
    for (const agent of [UA.googlebot, UA.bingbot, UA.curl, 'python-requests/2.32.3', 'Go-http-client/2.0']) {
      expect(parseUserAgent(agent), agent).toMatchObject({ is_bot: true, device_type: 'bot' });
    }
  });

  it('tells nothing of an empty or blank user agent', () => {
    expect(parseUserAgent('')).toBeUndefined();
    expect(parseUserAgent('   ')).toBeUndefined();
  });

  it('parses each distinct user agent once while it stays among the recent ones', () => {
    const first = parseUserAgent(UA.chromeDesktop);
    expect(parseUserAgent(UA.chromeDesktop)).toBe(first);
    // A user agent longer than the parser reads is cached under its first 500 characters.
    const long = `${UA.chromeDesktop} ${'x'.repeat(600)}`;
    expect(parseUserAgent(long)).toBe(parseUserAgent(`${long}yz`));
  });
});

describe('a bounded LRU cache', () => {
  it('forgets the least recently used entry when full', () => {
    const cache = new LruCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1); // `b` is now the least recently used
    cache.set('c', 3);

    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe(1);
    expect(cache.get('c')).toBe(3);
    expect(cache.size).toBe(2);
    expect(() => new LruCache(0)).toThrow('cache capacity must be a positive integer (given 0)');
  });

  it('keeps what a list in order of use keeps, for any sequence of gets and sets', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 6 })), { maxLength: 60 }),
        (capacity, steps) => {
          const cache = new LruCache<number, number>(capacity);
          // The model: keys from least to most recently used.
          let model: number[] = [];
          steps.forEach(([isSet, key], value) => {
            if (isSet) {
              cache.set(key, value);
              model = [...model.filter((k) => k !== key), key].slice(-capacity);
            } else {
              const found = cache.get(key) !== undefined;
              expect(found).toBe(model.includes(key));
              if (found) model = [...model.filter((k) => k !== key), key];
            }
          });
          expect(cache.size).toBe(model.length);
          for (const key of model) expect(cache.get(key)).toBeDefined();
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('campaigns', () => {
  it("reads the page URL's utm parameters, and only those present", () => {
    expect(
      campaignOf(
        'https://shop.example/deals?utm_source=newsletter&utm_medium=email&utm_campaign=winter%20sale&utm_term=mugs&utm_content=hero&x=1',
      ),
    ).toEqual({
      utm_source: 'newsletter',
      utm_medium: 'email',
      utm_campaign: 'winter sale',
      utm_term: 'mugs',
      utm_content: 'hero',
    });
    expect(campaignOf('/products/sku_1001?utm_source=google&utm_medium=cpc')).toEqual({
      utm_source: 'google',
      utm_medium: 'cpc',
    });
  });

  it('finds none in URLs without utm parameters, with empty ones, or in what is not a URL', () => {
    expect(campaignOf('https://shop.example/deals?ref=home')).toBeUndefined();
    expect(campaignOf('https://shop.example/?utm_source=')).toBeUndefined();
    expect(campaignOf('https://shop.example/utm_source/page')).toBeUndefined();
    expect(campaignOf('http://[::1/?utm_source=x')).toBeUndefined();
  });
});

describe('referrers', () => {
  const page = 'shop.example';

  it('names the medium of each referrer by its host', () => {
    expect(referrerOf('https://www.google.com/', page)).toEqual({
      referrer_host: 'www.google.com',
      referrer_medium: 'search',
    });
    expect(referrerOf('https://www.google.co.uk/search?q=mug', page)?.referrer_medium).toBe('search');
    expect(referrerOf('https://duckduckgo.com/', page)?.referrer_medium).toBe('search');
    expect(referrerOf('https://l.facebook.com/l.php?u=x', page)).toEqual({
      referrer_host: 'l.facebook.com',
      referrer_medium: 'social',
    });
    expect(referrerOf('https://t.co/abc', page)?.referrer_medium).toBe('social');
    expect(referrerOf('https://WWW.Shop.Example:443/cart', page)).toEqual({
      referrer_host: 'www.shop.example',
      referrer_medium: 'internal',
    });
    expect(referrerOf('https://blog.example.org/post', page)).toEqual({
      referrer_host: 'blog.example.org',
      referrer_medium: 'other',
    });
    // Not a search engine for sharing a suffix with one.
    expect(referrerOf('https://notbing.com/', page)?.referrer_medium).toBe('other');
  });

  it("takes a path for the page's own site, and tells nothing of an empty or non-web referrer", () => {
    expect(referrerOf('/category/books', page)).toEqual({ referrer_host: page, referrer_medium: 'internal' });
    expect(referrerOf('/category/books', undefined)).toBeUndefined();
    expect(referrerOf('', page)).toBeUndefined();
    expect(referrerOf('android-app://com.google.android.gm/', page)).toBeUndefined();
  });
});

describe('enrich', () => {
  it('adds the columns from where the collector, the tracker and Segment put their sources', () => {
    const tracked = event({
      user_agent: UA.safariIphone,
      page: {
        url: 'https://shop.example/?utm_source=ig&utm_medium=social',
        referrer: 'https://instagram.com/',
      },
    });
    expect(enrich(tracked)).toEqual({
      ...tracked,
      browser: 'Mobile Safari',
      browser_version: '18.1',
      os: 'iOS',
      device_type: 'mobile',
      is_bot: false,
      utm_source: 'ig',
      utm_medium: 'social',
      referrer_host: 'instagram.com',
      referrer_medium: 'social',
    });
    const segment = event({ userAgent: UA.googlebot, page: { url: 'https://shop.example/' } });
    expect(enrich(segment)).toMatchObject({ is_bot: true, device_type: 'bot' });
    const pageCall = event(undefined, { url: 'https://shop.example/b', referrer: 'https://shop.example/a' });
    expect(enrich(pageCall)).toMatchObject({ referrer_host: 'shop.example', referrer_medium: 'internal' });
  });

  it('leaves an event with nothing to enrich as it is, and never changes the one given', () => {
    const plain = event({ page: { url: 'https://shop.example/' } }, { path: '/' });
    expect(enrich(plain)).toBe(plain);
    expect(enrich(event())).toEqual(event());
    const odd = event({ user_agent: 42, page: 'not an object' }, { url: ['x'] });
    expect(enrich(odd)).toBe(odd);

    const tracked = event({ user_agent: UA.curl });
    const copy = structuredClone(tracked);
    expect(enrich(tracked)).not.toBe(tracked);
    expect(tracked).toEqual(copy);
  });
});
