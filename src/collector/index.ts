export { ASSET_NAMES, type AssetName, loadAssets } from './assets.js';
export { type ConsumerLag, ConsumerLagProbe, STALLED_AFTER_MS } from './consumer-lag.js';
export { CollectorError } from './errors.js';
export { findHostile, type HostileFinding, MAX_EVENT_DEPTH } from './hostile.js';
export {
  type BodyFormat,
  type BodyItem,
  type DecodedBody,
  decodeBody,
  type PreparedEvent,
  prepareEvent,
  type RequestFacts,
} from './ingest.js';
export { LIVE_WINDOW_SECONDS, type LiveSnapshot, LiveStats } from './live-stats.js';
export {
  type Collector,
  type CollectorOptions,
  createCollector,
  type DashboardSnapshot,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_PENDING_RECORDS,
  DEFAULT_PUT_TIMEOUT_MS,
  type IngestResponse,
  MAX_EVENTS_PER_REQUEST,
  MAX_MAX_BODY_BYTES,
  type Rejection,
} from './server.js';
