import type { KinesisStreamEvent } from 'aws-lambda';
import type { BatchStats } from './handler.js';

/**
 * The handler's figures as CloudWatch Embedded Metric Format: one JSON log line per invocation, from
 * which CloudWatch Logs makes metrics with no API call (how Lambda functions publish custom metrics).
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */

/** The metrics' namespace unless `METRICS_NAMESPACE` says otherwise. */
export const DEFAULT_METRICS_NAMESPACE = 'ActivityPipeline';

/** Every metric of the line: its name and CloudWatch unit. `Errors_<reason>` are added per reason seen. */
export const HANDLER_METRICS = {
  Records: 'Count',
  EventsLanded: 'Count',
  Errors: 'Count',
  Forgotten: 'Count',
  Objects: 'Count',
  Bytes: 'Bytes',
  BatchAge: 'Milliseconds',
  FailedBatches: 'Count',
} as const;

/** The metric of the errors of one reason: `Errors_invalid_json`, … */
export function errorsMetricName(reason: string): string {
  return `Errors_${reason}`;
}

/** The one dimension: the function's name, so the stacks of one account are told apart. */
export const METRICS_DIMENSION = 'FunctionName';

/** Whether to write the line: on Lambda (`AWS_LAMBDA_FUNCTION_NAME` set), or when `EMF_METRICS` is `1`/`on`; `0`/`off` stops it. */
export function metricsEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const asked = env.EMF_METRICS?.trim().toLowerCase();
  if (asked === '1' || asked === 'on' || asked === 'true') return true;
  if (asked === '0' || asked === 'off' || asked === 'false') return false;
  return env.AWS_LAMBDA_FUNCTION_NAME !== undefined && env.AWS_LAMBDA_FUNCTION_NAME !== '';
}

export interface InvocationFigures {
  event: KinesisStreamEvent;
  /** What the invocation landed; undefined when it failed (its batch is retried). */
  stats: BatchStats | undefined;
  /** Epoch milliseconds at the end of the invocation. */
  now: number;
}

/**
 * The EMF document of one invocation, as one line of JSON: the root holds each metric's value and the
 * dimension's, and `_aws` says which members are metrics, their units and the namespace.
 */
export function emfLine(
  figures: InvocationFigures,
  options: { namespace?: string; functionName?: string } = {},
): string {
  const { event, stats, now } = figures;
  let oldest = Number.POSITIVE_INFINITY;
  for (const r of event.Records) oldest = Math.min(oldest, r.kinesis.approximateArrivalTimestamp * 1000);
  const values: Record<string, number> = {
    Records: event.Records.length,
    EventsLanded: stats?.events ?? 0,
    Errors: stats?.errors ?? 0,
    Forgotten: stats?.forgotten ?? 0,
    Objects: stats?.objects ?? 0,
    Bytes: stats?.bytes ?? 0,
    // How long the oldest record of the batch waited in the stream before it landed.
    BatchAge: Number.isFinite(oldest) ? Math.max(0, Math.round(now - oldest)) : 0,
    FailedBatches: stats === undefined ? 1 : 0,
  };
  const metrics: { Name: string; Unit: string }[] = Object.entries(HANDLER_METRICS).map(([Name, Unit]) => ({
    Name,
    Unit,
  }));
  for (const [reason, count] of Object.entries(stats?.errorsByReason ?? {})) {
    if (count === undefined || count === 0) continue;
    const name = errorsMetricName(reason);
    values[name] = count;
    metrics.push({ Name: name, Unit: 'Count' });
  }
  return emfDocument({
    now,
    namespace: options.namespace ?? DEFAULT_METRICS_NAMESPACE,
    dimensions: { [METRICS_DIMENSION]: options.functionName ?? 'local' },
    metrics,
    values,
  });
}

/**
 * One EMF document as a line of JSON, for any function of the pipeline: the dimensions' values, then
 * the metrics' values at the root, and `_aws` naming the metrics, their units, the dimensions and the
 * namespace.
 */
export function emfDocument(line: {
  now: number;
  namespace: string;
  /** Each dimension's name and value, in order. */
  dimensions: Record<string, string>;
  metrics: readonly { Name: string; Unit: string }[];
  values: Record<string, number>;
}): string {
  return JSON.stringify({
    _aws: {
      Timestamp: line.now,
      CloudWatchMetrics: [
        { Namespace: line.namespace, Dimensions: [Object.keys(line.dimensions)], Metrics: line.metrics },
      ],
    },
    ...line.dimensions,
    ...line.values,
  });
}
