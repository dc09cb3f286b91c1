import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { ConfigError } from '../core/errors.js';
import { parseSinkUrl } from '../core/locations.js';
import { ForgottenList } from '../forget/forgotten-list.js';
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
  const store = await openStore(parseSinkUrl(url));
  await store.connect();
  return createHandler({ store, format, forgotten: new ForgottenList(store) });
}

/**
 * The AWS Lambda entry point, configured by the environment: `SINK_URL` names the sink, `FORMAT`
 * (`ndjson`, the default, or `parquet`) how events land in it; `FORGET_KEY` (or the sink's
 * `_forgotten/key`) is the key of the sink's list of forgotten users, whose records it drops. The store is
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
