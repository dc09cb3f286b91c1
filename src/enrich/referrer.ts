/** Where a visit came from: the referrer's host, and its medium by that host. */

/** The columns `referrer_host` and `referrer_medium` of `events`. */
export interface ReferrerFields {
  readonly referrer_host: string;
  /** `internal` (the page's own host), `search`, `social` or `other`. */
  readonly referrer_medium: ReferrerMedium;
}

export type ReferrerMedium = 'internal' | 'search' | 'social' | 'other';

/** Search engines by domain; a subdomain counts as its domain. Google's country domains are matched apart. */
const SEARCH = new Set([
  'bing.com',
  'duckduckgo.com',
  'yahoo.com',
  'search.yahoo.com',
  'baidu.com',
  'yandex.ru',
  'yandex.com',
  'ecosia.org',
  'qwant.com',
  'startpage.com',
  'search.brave.com',
  'naver.com',
  'seznam.cz',
]);
const GOOGLE = /(^|\.)google\.[a-z]{2,3}(\.[a-z]{2})?$/;

const SOCIAL = new Set([
  'facebook.com',
  'fb.com',
  'instagram.com',
  't.co',
  'twitter.com',
  'x.com',
  'linkedin.com',
  'lnkd.in',
  'reddit.com',
  'pinterest.com',
  'youtube.com',
  'tiktok.com',
  'news.ycombinator.com',
  'threads.net',
  'bsky.app',
  'mastodon.social',
  'vk.com',
  'weibo.com',
]);

/** The host of an absolute http(s) URL, lowercased, without user, port or a trailing dot. */
const HOST = /^https?:\/\/(?:[^/?#@]*@)?([^/?#:]+)/i;

/** The host of `url` when it is absolute http(s); undefined for a path, an empty string or another scheme. */
export function hostOf(url: string): string | undefined {
  const match = HOST.exec(url);
  const host = match?.[1]?.toLowerCase();
  if (host === undefined || host === '') return undefined;
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

/** `host` or one of its parent domains is in `domains`. */
function within(host: string, domains: ReadonlySet<string>): boolean {
  let rest = host;
  for (;;) {
    if (domains.has(rest)) return true;
    const dot = rest.indexOf('.');
    if (dot < 0) return false;
    rest = rest.slice(dot + 1);
  }
}

/** Drops `www.`, so `www.shop.example` and `shop.example` are one site. */
const site = (host: string): string => (host.startsWith('www.') ? host.slice(4) : host);

/**
 * The referrer's host and medium. A relative referrer (a path) is the page's own site: `internal`,
 * with the page's host when it is known. Undefined when the referrer is empty or not a web URL.
 */
export function referrerOf(referrer: string, pageHost: string | undefined): ReferrerFields | undefined {
  if (referrer === '') return undefined;
  const host = hostOf(referrer);
  if (host === undefined) {
    if (!referrer.startsWith('/') || pageHost === undefined) return undefined;
    return { referrer_host: pageHost, referrer_medium: 'internal' };
  }
  return { referrer_host: host, referrer_medium: mediumOf(host, pageHost) };
}

function mediumOf(host: string, pageHost: string | undefined): ReferrerMedium {
  if (pageHost !== undefined && site(host) === site(pageHost)) return 'internal';
  if (GOOGLE.test(host) || within(host, SEARCH)) return 'search';
  if (within(host, SOCIAL)) return 'social';
  return 'other';
}
