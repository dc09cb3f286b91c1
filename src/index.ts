/** activity-pipeline: the library's public API. */
export * from './collector/index.js';
export * from './compact/index.js';
export * from './consumer/index.js';
export { ConfigError, PipelineError, type Stage, StoreError, StreamError } from './core/errors.js';
export * from './core/limits.js';
export * from './core/locations.js';
export type * from './core/ports.js';
export * from './event/index.js';
export * from './layout/index.js';
export * from './producer/index.js';
export * from './query/index.js';
export * from './redrive/index.js';
export * from './report/index.js';
export {
  DEFAULT_LANDING_FORMAT,
  LANDING_FORMATS,
  type LandingFormat,
  loadParquetEncoder,
  parseLandingFormat,
} from './sink/formats/index.js';
export * from './sink/index.js';
export * from './stream/index.js';
