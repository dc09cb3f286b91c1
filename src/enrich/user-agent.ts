/**
 * The user agent parsed into browser, version, operating system and device type (ua-parser-js 1.x,
 * MIT), and bots and crawlers flagged (isbot-fast, MIT). Parsing costs tens of microseconds, but a
 * site sees few distinct user agents, so results are kept per user-agent string in a bounded LRU.
 */
import isBot from 'isbot-fast';
import UAParser from 'ua-parser-js';
import { LruCache } from './lru.js';

/** What the user agent tells: the columns `browser` … `is_bot` of `events`. */
export interface UserAgentFields {
  readonly browser?: string;
  readonly browser_version?: string;
  readonly os?: string;
  /** `desktop`, `mobile`, `tablet`, `smarttv`, `console`, `wearable`, `embedded`, or `bot`. */
  readonly device_type?: string;
  readonly is_bot: boolean;
}

/** Distinct user agents whose parse is kept: a few hundred cover nearly all traffic of a site. */
export const USER_AGENT_CACHE_SIZE = 1_000;

/** ua-parser-js reads at most 500 characters; a longer string is cut there, so it is cached once. */
const MAX_USER_AGENT_LENGTH = 500;

/** Programs that fetch pages without a browser, which isbot-fast's list leaves out. */
isBot.extend(['headless', 'httpclient', 'okhttp', 'go-http-client', 'axios', 'node-fetch', 'lighthouse']);

/** A parsed user agent, and its fields as JSON members (`"browser":"Chrome",…,"is_bot":false`). */
export interface ParsedUserAgent {
  readonly fields: UserAgentFields;
  readonly members: string;
}

const cache = new LruCache<string, ParsedUserAgent>(USER_AGENT_CACHE_SIZE);

/** The parsed user agent, from the cache when this string was seen lately; undefined when blank. */
export function parseUserAgent(userAgent: string): UserAgentFields | undefined {
  return userAgentOf(userAgent)?.fields;
}

/**
 * `parseUserAgent` with its fields written once as JSON members, which every event of that user agent
 * then lands with as they are (`enrichedLine`).
 */
export function userAgentOf(userAgent: string): ParsedUserAgent | undefined {
  const key =
    userAgent.length > MAX_USER_AGENT_LENGTH ? userAgent.slice(0, MAX_USER_AGENT_LENGTH) : userAgent;
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  if (key.trim() === '') return undefined;
  const fields = Object.freeze(parseUncached(key));
  const parsed = Object.freeze({ fields, members: jsonMembers(fields) });
  cache.set(key, parsed);
  return parsed;
}

/** `{"a":1,"b":2}` as `"a":1,"b":2`: an object's members, to append to another object's. */
export function jsonMembers(fields: object): string {
  return JSON.stringify(fields).slice(1, -1);
}

function parseUncached(userAgent: string): UserAgentFields {
  const { browser, os, device } = new UAParser(userAgent).getResult();
  const bot = isBot(userAgent);
  // ua-parser-js names no type for desktops: a browser it recognised, on no handheld, is one.
  const type = bot ? 'bot' : (device.type ?? (browser.name === undefined ? undefined : 'desktop'));
  // Set in the order of the columns, which is the order an NDJSON line lists them in.
  return {
    ...(browser.name === undefined ? {} : { browser: browser.name }),
    ...(browser.version === undefined ? {} : { browser_version: browser.version }),
    ...(os.name === undefined ? {} : { os: os.name }),
    ...(type === undefined ? {} : { device_type: type }),
    is_bot: bot,
  };
}
