/**
 * Enrichment: what an event's user agent, page URL and referrer tell, landed as columns of their own
 * (`browser` … `referrer_medium` in `EVENT_COLUMNS`), so every path into the stream gets them. Each
 * source is read where the collector's protocols and the tracker put it, and parsed only when present.
 */
import type { ActivityEvent, JsonValue } from '../event/index.js';
import { campaignOf } from './campaign.js';
import { hostOf, referrerOf } from './referrer.js';
import { parseUserAgent } from './user-agent.js';

type JsonObject = { readonly [key: string]: JsonValue };

const isObject = (value: JsonValue | undefined): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function text(value: JsonValue | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * The event with its enrichment columns, or the event itself when nothing in it enriches (no new
 * object then). The event given is not changed. Sources, first found wins:
 *
 * | column | from |
 * |---|---|
 * | `browser`, `browser_version`, `os`, `device_type`, `is_bot` | `context.user_agent` (the collector, Snowplow's `ua`), `context.userAgent` (Segment) |
 * | `utm_source` … `utm_content` | `context.page.url` (the tracker, Segment, Snowplow's `url`), `properties.url` (Segment's page calls, the simulator) |
 * | `referrer_host`, `referrer_medium` | `context.page.referrer`, `properties.referrer`, against the page URL's host |
 */
export function enrich(event: ActivityEvent): ActivityEvent {
  const { context, properties } = event;
  const page = context === undefined ? undefined : context.page;
  const pageObject = isObject(page) ? page : undefined;
  const userAgent = context === undefined ? undefined : (text(context.user_agent) ?? text(context.userAgent));
  const url = text(pageObject?.url) ?? text(properties?.url);
  const referrer = text(pageObject?.referrer) ?? text(properties?.referrer);
  if (userAgent === undefined && url === undefined && referrer === undefined) return event;

  const agent = userAgent === undefined ? undefined : parseUserAgent(userAgent);
  const campaign = url === undefined ? undefined : campaignOf(url);
  const from =
    referrer === undefined ? undefined : referrerOf(referrer, url === undefined ? undefined : hostOf(url));
  if (agent === undefined && campaign === undefined && from === undefined) return event;
  return { ...event, ...agent, ...campaign, ...from };
}
