export {
  fromKinesisRecord,
  type RecordSource,
  rawOfStreamRecord,
  shardIdOf,
  toLambdaEvent,
  toLambdaRecord,
} from './envelope.js';
export { errorsDestination } from './failure-destination.js';
export {
  type ActivityHandler,
  type BatchStats,
  createHandler,
  type HandlerOptions,
  type InvocationContext,
} from './handler.js';
export { deaggregateKpl, isKplAggregate, KPL_MAGIC, type KplUserRecord } from './kpl.js';
export { handler } from './lambda.js';
export { DEFAULT_COMPRESSION_LEVEL, type ErrorReason } from './landing.js';
export {
  DEFAULT_METRICS_NAMESPACE,
  emfLine,
  errorsMetricName,
  HANDLER_METRICS,
  type InvocationFigures,
  METRICS_DIMENSION,
  metricsEnabled,
} from './metrics.js';
export {
  DEFAULT_BATCH_SIZE,
  DEFAULT_BATCH_WINDOW_MS,
  DEFAULT_CONSUMER_NAME,
  DEFAULT_INVOCATION_TIMEOUT_MS,
  EventSourceRunner,
  type FailureDestination,
  MAX_INVOCATION_TIMEOUT_MS,
  type RunnerOptions,
  type RunnerStats,
  type ShardProgress,
} from './runner/event-source-runner.js';
export { DEFAULT_LEASE_DURATION_MS, newLeaseOwner } from './runner/lease-keeper.js';
