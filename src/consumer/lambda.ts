import path from 'node:path';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { ConfigError } from '../core/errors.js';
import { parseSinkUrl } from '../core/locations.js';
import { ForgottenList } from '../forget/forgotten-list.js';
import { TrackingPlan } from '../plan/index.js';
import { DEFAULT_LANDING_FORMAT, parseLandingFormat } from '../sink/formats/index.js';
import { openStore } from '../sink/open-store.js';
import { type ActivityHandler, type BatchStats, createHandler } from './handler.js';
import { emfLine, metricsEnabled } from './metrics.js';

let ready: Promise<ActivityHandler> | undefined;

async function init(): Promise<ActivityHandler> {
  const url = process.env.SINK_URL;
  if (url === undefined || url === '') {
    throw new ConfigError('SINK_URL must be set to where events land, e.g. s3://BUCKET/PREFIX');
  }
  const format = parseLandingFormat(process.env.FORMAT || DEFAULT_LANDING_FORMAT, 'FORMAT');
  const planFile = process.env.TRACKING_PLAN;
  // A relative path is read from the function's directory; the CDK app ships the plan as a layer (/opt).
  const plan =
    planFile === undefined || planFile === ''
      ? undefined
      : await TrackingPlan.fromFile(path.resolve(process.env.LAMBDA_TASK_ROOT ?? process.cwd(), planFile));
  const store = await openStore(parseSinkUrl(url));
  await store.connect();
  const settings = {
    store,
    format,
    forgotten: new ForgottenList(store),
    ...(plan === undefined ? {} : { plan }),
  };
  if (!metricsEnabled()) return createHandler(settings);
  // One invocation at a time per execution environment: the figures of the one in hand.
  let stats: BatchStats | undefined;
  const inner = createHandler({
    ...settings,
    onBatch: (s) => {
      stats = s;
    },
  });
  const options = {
    ...(process.env.METRICS_NAMESPACE ? { namespace: process.env.METRICS_NAMESPACE } : {}),
    ...(process.env.AWS_LAMBDA_FUNCTION_NAME ? { functionName: process.env.AWS_LAMBDA_FUNCTION_NAME } : {}),
  };
  return async (event, context) => {
    stats = undefined;
    const response = await inner(event, context);
    // Straight to stdout, not console.log: Lambda's console prefixes each line, and an EMF document
    // must be the whole log event.
    process.stdout.write(`${emfLine({ event, stats, now: Date.now() }, options)}\n`);
    return response;
  };
}

/**
 * The AWS Lambda entry point, configured by the environment: `SINK_URL` names the sink, `FORMAT`
 * (`ndjson`, the default, or `parquet`) how events land in it, `TRACKING_PLAN` (optional) the path of
 * a tracking plan file to check events against, read and compiled at the first invocation;
 * `FORGET_KEY` (or the sink's `_forgotten/key`) is the key of the sink's list of forgotten users, whose
 * records it drops. On Lambda (or with `EMF_METRICS=1`) each invocation writes its figures as one
 * CloudWatch Embedded Metric Format line, in the namespace `METRICS_NAMESPACE` (default
 * `ActivityPipeline`). The store is opened once per execution environment and reused across
 * invocations.
 */
export async function handler(
  event: KinesisStreamEvent,
  context?: Context,
): Promise<KinesisStreamBatchResponse> {
  ready ??= init().catch((error) => {
    ready = undefined;
    throw error;
  });
  return (await ready)(event, context);
}
