import { DEFAULT_METRICS_NAMESPACE } from '../consumer/metrics.js';
import { ConfigError } from '../core/errors.js';
import { parseSinkUrl } from '../core/locations.js';
import { type ForgetResult, forget } from '../forget/forget.js';
import { defaultCompactBefore, parseCompactBefore } from './before.js';
import { type CompactResult, compact } from './compact.js';

/** What the scheduled function is asked to do; the schedule sends `{}`: compact the closed hours. */
export interface LifecycleEvent {
  /** Users to erase first (an erasure request), as `activity forget --user`. */
  forget?: string[];
  /** Compact the closed hours (default true). */
  compact?: boolean;
  /** As `activity compact --before` (default: the start of the previous hour). */
  before?: string;
}

export interface LifecycleResult {
  forget?: Omit<ForgetResult, 'objects'>;
  compact?: { hours: number; inputs: number; events: number; forgotten: number; before: string };
}

/**
 * The scheduled lifecycle function on AWS: the same code as `activity forget` and `activity compact`,
 * configured by `SINK_URL`. EventBridge Scheduler invokes it hourly with `{}`; an erasure request is an
 * invocation with `{"forget": ["user_42"]}`. Each run writes one Embedded Metric Format line
 * (namespace `ActivityPipeline`, dimension `FunctionName`): hours compacted, records erased.
 */
export async function handler(event: LifecycleEvent = {}): Promise<LifecycleResult> {
  const url = process.env.SINK_URL;
  if (url === undefined || url === '') {
    throw new ConfigError('SINK_URL must be set to where events land, e.g. s3://BUCKET/PREFIX');
  }
  const location = parseSinkUrl(url);
  const result: LifecycleResult = {};
  const users = event.forget ?? [];
  if (!Array.isArray(users) || users.some((u) => typeof u !== 'string')) {
    throw new ConfigError('forget must be a list of user ids');
  }
  if (users.length > 0) {
    const { objects: _objects, ...receipt } = await forget(location, users);
    result.forget = receipt;
  }
  let compacted: CompactResult | undefined;
  if (event.compact !== false) {
    const before = event.before === undefined ? defaultCompactBefore() : parseCompactBefore(event.before);
    compacted = await compact(location, { before });
    result.compact = {
      hours: compacted.hours.length,
      inputs: compacted.hours.reduce((n, h) => n + h.inputs, 0),
      events: compacted.hours.reduce((n, h) => n + h.events, 0),
      forgotten: compacted.hours.reduce((n, h) => n + h.forgotten, 0),
      before: before.toISOString(),
    };
  }
  process.stdout.write(`${lifecycleEmf(result, Date.now())}\n`);
  return result;
}

/** The run's figures as one EMF document. */
export function lifecycleEmf(result: LifecycleResult, now: number): string {
  const values = {
    CompactionRuns: result.compact === undefined ? 0 : 1,
    HoursCompacted: result.compact?.hours ?? 0,
    ObjectsCompacted: result.compact?.inputs ?? 0,
    UsersForgotten: result.forget?.users ?? 0,
    RecordsErased:
      (result.forget?.removed.events ?? 0) +
      (result.forget?.removed.errors ?? 0) +
      (result.compact?.forgotten ?? 0),
  };
  return JSON.stringify({
    _aws: {
      Timestamp: now,
      CloudWatchMetrics: [
        {
          Namespace: process.env.METRICS_NAMESPACE || DEFAULT_METRICS_NAMESPACE,
          Dimensions: [['FunctionName']],
          Metrics: Object.keys(values).map((Name) => ({ Name, Unit: 'Count' })),
        },
      ],
    },
    FunctionName: process.env.AWS_LAMBDA_FUNCTION_NAME || 'local',
    ...values,
  });
}
