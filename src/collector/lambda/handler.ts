import awsLambdaFastify from '@fastify/aws-lambda';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { metricsEnabled } from '../../consumer/metrics.js';
import { describeError } from '../../core/errors.js';
import { createKinesisClient, openKinesisStream } from '../../stream/kinesis/index.js';
import { type Collector, createCollector } from '../server.js';
import { CollectorEmf } from './emf.js';
import { type CollectorLambdaSettings, clientIpOptions, readLambdaSettings } from './settings.js';
import { readWriteKey } from './write-key.js';

/** The Lambda function behind API Gateway's HTTP API: payload format 2.0 in, 2.0 out. */
export type CollectorLambdaHandler = (
  event: APIGatewayProxyEventV2,
  context?: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/** Responses API Gateway must pass on as bytes: Snowplow's 1×1 GIF (and gzipped assets, by their encoding). */
const BINARY_TYPES = ['image/gif'];

export interface CollectorLambda {
  handler: CollectorLambdaHandler;
  collector: Collector;
}

/**
 * The collector as a Lambda function: the same Fastify app `activity collect` serves (every route, every
 * protocol, the same answers), driven by `@fastify/aws-lambda` instead of a socket. Each request is
 * answered only once the stream has accepted its valid events (or refused them: 429 when Kinesis throttles
 * past `putTimeoutMs`), and the producer holds nothing when an invocation returns, so a frozen or
 * recycled execution environment has nothing to lose.
 */
export async function createCollectorLambda(
  settings: CollectorLambdaSettings,
  writeKey: string,
  warn: (message: string) => void = (message) => process.stderr.write(`activity collector: ${message}\n`),
): Promise<CollectorLambda> {
  // The producer owns the retries (one owner per retry layer): one attempt per put, never longer than a
  // record may wait, so a request is answered well inside the function's timeout even if Kinesis hangs.
  const client = createKinesisClient({
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: 1_000,
      requestTimeout: settings.putTimeoutMs,
      // Without it, a request past its timeout is only warned about, and waits on.
      throwOnRequestTimeout: true,
    }),
  });
  const collector = await createCollector({
    stream: openKinesisStream(settings.streamName, { client }),
    writeKey,
    corsOrigins: settings.corsOrigins,
    maxBodyBytes: settings.maxBodyBytes,
    segmentMaxMessageBytes: settings.segmentMaxMessageBytes,
    segmentMaxBatchBytes: settings.segmentMaxBatchBytes,
    ...clientIpOptions(settings.clientIp),
    putTimeoutMs: settings.putTimeoutMs,
    // One request at a time per execution environment: nothing else to linger for.
    producer: { lingerMs: 0 },
    warn,
  });
  const proxy = awsLambdaFastify(collector.app, {
    binaryMimeTypes: BINARY_TYPES,
    decorateRequest: false,
    parseCommaSeparatedQueryParams: false,
  });
  const emf = metricsEnabled()
    ? new CollectorEmf(collector.metrics, {
        namespace: settings.metricsNamespace,
        functionName: settings.functionName,
      })
    : undefined;

  const handler: CollectorLambdaHandler = async (event, context) => {
    const response = (await proxy(
      withRawQuery(event),
      context as Context,
    )) as APIGatewayProxyStructuredResultV2;
    // Every record of the request was settled before it was answered; this only proves it.
    await collector.producer.flush();
    if (emf !== undefined) {
      // Straight to stdout: an EMF document must be the whole log event, without console's prefix.
      for (const line of await emf.lines(response.statusCode ?? 200)) process.stdout.write(`${line}\n`);
    }
    return response;
  };
  return { handler, collector };
}

/**
 * The request's query string as the client sent it, parsed by Fastify as a local request's is: API
 * Gateway's `queryStringParameters` join repeated keys with commas, which a URL or a title may hold too.
 */
function withRawQuery(event: APIGatewayProxyEventV2): APIGatewayProxyEventV2 {
  if (!event.rawQueryString) return event;
  const { queryStringParameters: _joined, ...rest } = event;
  return { ...rest, rawPath: `${event.rawPath}?${event.rawQueryString}` };
}

let ready: Promise<CollectorLambda> | undefined;

async function init(): Promise<CollectorLambda> {
  const settings = readLambdaSettings();
  const writeKey = await readWriteKey(settings.writeKeySecretArn);
  return createCollectorLambda(settings, writeKey);
}

/**
 * The AWS Lambda entry point, configured by the environment (see `readLambdaSettings`): `STREAM_NAME`,
 * `WRITE_KEY_SECRET_ARN` (the write key is read from Secrets Manager at the first invocation and kept
 * for the execution environment's life), `CORS_ORIGINS`, `MAX_BODY_BYTES`, `SEGMENT_MAX_MESSAGE_BYTES`,
 * `SEGMENT_MAX_BATCH_BYTES`, `CLIENT_IP`, `PUT_TIMEOUT_MS`. On Lambda (or with `EMF_METRICS=1`) each
 * request writes its figures as CloudWatch Embedded Metric Format lines.
 */
export async function handler(
  event: APIGatewayProxyEventV2,
  context?: Context,
): Promise<APIGatewayProxyStructuredResultV2> {
  ready ??= init().catch((error) => {
    ready = undefined;
    process.stderr.write(`activity collector: cannot start: ${describeError(error)}\n`);
    throw error;
  });
  return (await ready).handler(event, context);
}
