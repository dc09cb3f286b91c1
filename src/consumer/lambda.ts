import path from 'node:path';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { ConfigError } from '../core/errors.js';
import { parseSinkUrl } from '../core/locations.js';
import { TrackingPlan } from '../plan/index.js';
import { DEFAULT_LANDING_FORMAT, parseLandingFormat } from '../sink/formats/index.js';
import { openStore } from '../sink/open-store.js';
import { type ActivityHandler, createHandler } from './handler.js';

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
  return createHandler({ store, format, ...(plan === undefined ? {} : { plan }) });
}

/**
 * The AWS Lambda entry point, configured by the environment: `SINK_URL` names the sink, `FORMAT`
 * (`ndjson`, the default, or `parquet`) how events land in it, `TRACKING_PLAN` (optional) the path of
 * a tracking plan file to check events against, read and compiled at the first invocation. The store is
 * opened once per execution environment and reused across invocations.
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
