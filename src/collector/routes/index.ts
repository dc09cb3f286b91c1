export { assetRoutes } from './assets.js';
export { dashboardRoutes } from './dashboard.js';
export { eventsProtocol, type IngestResponse } from './events.js';
export { INGEST_PROTOCOLS, type IngestProtocol, ingestRoutes, type ParsedBody } from './ingest.js';
export { operationsRoutes } from './operations.js';
