export { type CampaignFields, campaignOf } from './campaign.js';
export { enrich, enrichedLine } from './enrich.js';
export { LruCache } from './lru.js';
export { hostOf, type ReferrerFields, type ReferrerMedium, referrerOf } from './referrer.js';
export { parseUserAgent, USER_AGENT_CACHE_SIZE, type UserAgentFields } from './user-agent.js';
