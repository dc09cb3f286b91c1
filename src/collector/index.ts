export { Access } from './access.js';
export { ASSET_NAMES, type AssetName, loadAssets } from './assets.js';
export { anonymizeIp } from './client-ip.js';
export { type ConsumerLag, ConsumerLagProbe, type LagSource, STALLED_AFTER_MS } from './consumer-lag.js';
export { type CollectorContext, type DashboardSnapshot, MAX_EVENTS_PER_REQUEST } from './context.js';
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
export {
  type AcceptedEvent,
  type BatchOutcome,
  type BatchStatus,
  batchStatus,
  ingestBatch,
  type PutRecord,
  type Rejection,
} from './ingest-batch.js';
export { LIVE_WINDOW_SECONDS, type LiveSnapshot, LiveStats } from './live-stats.js';
export {
  INGEST_PROTOCOLS,
  type IngestProtocol,
  type IngestResponse,
  type ParsedBody,
} from './routes/index.js';
export {
  type Collector,
  type CollectorOptions,
  createCollector,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_PENDING_RECORDS,
  DEFAULT_PUT_TIMEOUT_MS,
  MAX_MAX_BODY_BYTES,
} from './server.js';
