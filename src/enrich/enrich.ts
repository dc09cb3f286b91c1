/**
 * Enrichment: what an event's user agent, page URL and referrer tell, landed as columns of their own
 * (`browser` … `referrer_medium` in `EVENT_COLUMNS`), so every path into the stream gets them. Each
 * source is read where the collector's protocols and the tracker put it, and parsed only when present.
 */
import type { ActivityEvent, JsonValue } from '../event/index.js';
import { type CampaignFields, campaignOf } from './campaign.js';
import { hostOf, type ReferrerFields, referrerOf } from './referrer.js';
import { jsonMembers, type ParsedUserAgent, userAgentOf } from './user-agent.js';

type JsonObject = { readonly [key: string]: JsonValue };

const isObject = (value: JsonValue | undefined): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function text(value: JsonValue | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** What enriches one event: its parsed user agent, campaign and referrer, each when found. */
interface Enrichment {
  agent: ParsedUserAgent | undefined;
  campaign: CampaignFields | undefined;
  from: ReferrerFields | undefined;
}

/**
 * What enriches the event, or undefined when nothing does. Sources, first found wins:
 *
 * | column | from |
 * |---|---|
 * | `browser`, `browser_version`, `os`, `device_type`, `is_bot` | `context.user_agent` (the collector, Snowplow's `ua`), `context.userAgent` (Segment) |
 * | `utm_source` … `utm_content` | `context.page.url` (the tracker, Segment, Snowplow's `url`), `properties.url` (Segment's page calls, the simulator) |
 * | `referrer_host`, `referrer_medium` | `context.page.referrer`, `properties.referrer`, against the page URL's host |
 */
function enrichmentOf(event: ActivityEvent): Enrichment | undefined {
  const { context, properties } = event;
  const page = context === undefined ? undefined : context.page;
  const pageObject = isObject(page) ? page : undefined;
  const userAgent = context === undefined ? undefined : (text(context.user_agent) ?? text(context.userAgent));
  const url = text(pageObject?.url) ?? text(properties?.url);
  const referrer = text(pageObject?.referrer) ?? text(properties?.referrer);
  if (userAgent === undefined && url === undefined && referrer === undefined) return undefined;

  const agent = userAgent === undefined ? undefined : userAgentOf(userAgent);
  const campaign = url === undefined ? undefined : campaignOf(url);
  const from =
    referrer === undefined ? undefined : referrerOf(referrer, url === undefined ? undefined : hostOf(url));
  if (agent === undefined && campaign === undefined && from === undefined) return undefined;
  return { agent, campaign, from };
}

/**
 * The event with its enrichment columns (`enrichmentOf`), or the event itself when nothing in it
 * enriches (no new object then). The event given is not changed.
 */
export function enrich(event: ActivityEvent): ActivityEvent {
  const found = enrichmentOf(event);
  if (found === undefined) return event;
  return { ...event, ...found.agent?.fields, ...found.campaign, ...found.from };
}

/**
 * The NDJSON line of the enriched event: the bytes of `JSON.stringify(enrich(event))`, without the
 * copy. The event's members are followed by the enrichment's, which are other keys (enrichment columns
 * are never input), and a user agent's members are written once, when it is parsed: most events add
 * nothing but that to the line of the event itself.
 */
export function enrichedLine(event: ActivityEvent): string {
  const line = JSON.stringify(event);
  const found = enrichmentOf(event);
  if (found === undefined) return line;
  const { agent, campaign, from } = found;
  let members = agent === undefined ? '' : agent.members;
  if (campaign !== undefined) members += members === '' ? jsonMembers(campaign) : `,${jsonMembers(campaign)}`;
  if (from !== undefined) members += members === '' ? jsonMembers(from) : `,${jsonMembers(from)}`;
  return members === '' ? line : `${line.slice(0, -1)},${members}}`;
}
