import { Command, Option } from 'commander';
import { ConfigError } from '../../core/errors.js';
import { DEFAULT_MAX_BODY_BYTES, MAX_MAX_BODY_BYTES } from '../../core/limits.js';
import type { StreamLocation } from '../../core/locations.js';
import { TrackingPlan } from '../../plan/index.js';
import { LocalStream } from '../../stream/local/index.js';
import { integer, options } from '../options.js';
import { connectStream } from '../pipeline.js';
import { formatCount } from '../progress.js';
import { onShutdown } from '../signals.js';

/** The collector's own defaults, repeated here so `--help` shows them without loading the server. */
const DEFAULT_PORT = 8080;
const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_MAX_PENDING_RECORDS = 50_000;
const DEFAULT_PUT_TIMEOUT_MS = 10_000;
const SEGMENT_MAX_MESSAGE_BYTES = 32 * 1024;
const SEGMENT_MAX_BATCH_BYTES = 500 * 1024;
const ORIGIN = /^https?:\/\/[^/?#\s]+$/;

interface CollectFlags {
  stream: StreamLocation;
  shards?: number;
  host: string;
  port: number;
  writeKey?: string;
  corsOrigin?: string[];
  maxBody: number;
  maxPending: number;
  putTimeout: number;
  segmentMaxMessage: number;
  segmentMaxBatch: number;
  clientIp?: boolean;
  ipAnonymize?: boolean;
  trustProxy?: boolean;
  consumer: string;
  trackingPlan?: string;
}

function origin(raw: string, previous: string[] | undefined): string[] {
  const value = raw.trim().replace(/\/$/, '');
  if (value !== '*' && !ORIGIN.test(value)) {
    throw new ConfigError(
      `--cors-origin must be an origin such as https://shop.example or http://localhost:3000, or * for any (given "${raw}")`,
    );
  }
  return [...(previous ?? []), value];
}

export function collectCommand(): Command {
  return new Command('collect')
    .description(
      'run the HTTP collector: events from apps and browsers onto the stream, with a tracker and a live dashboard',
    )
    .addOption(options.stream())
    .addOption(options.shards())
    .addOption(
      new Option('--host <host>', 'address to listen on (0.0.0.0 for every interface)').default(DEFAULT_HOST),
    )
    .addOption(
      new Option('--port <p>', 'port to listen on (0 picks a free one)')
        .argParser(integer('port', 0, 65_535))
        .default(DEFAULT_PORT),
    )
    .addOption(
      new Option(
        '--write-key <key>',
        "require this key: Bearer token or ?write_key= on /v1/events and Snowplow's routes, the Basic user name (a library's writeKey) on Segment's",
      ).env('ACTIVITY_WRITE_KEY'),
    )
    .addOption(
      new Option(
        '--cors-origin <origin>',
        'a browser origin allowed to send events; repeat for more (default: any)',
      ).argParser(origin),
    )
    .addOption(
      new Option('--max-body <bytes>', 'largest request body, in bytes')
        .argParser(integer('max body', 1024, MAX_MAX_BODY_BYTES))
        .default(DEFAULT_MAX_BODY_BYTES),
    )
    .addOption(
      new Option(
        '--max-pending <records>',
        'records waiting for the stream before requests are answered 429 with Retry-After',
      )
        .argParser(integer('max pending', 1, 10_000_000))
        .default(DEFAULT_MAX_PENDING_RECORDS),
    )
    .addOption(
      new Option(
        '--put-timeout <ms>',
        'how long an event may wait for the stream: then 503 (the stream is down) or 429 (it is throttling)',
      )
        .argParser(integer('put timeout', 100, 600_000))
        .default(DEFAULT_PUT_TIMEOUT_MS),
    )
    .addOption(
      new Option(
        '--segment-max-message <bytes>',
        "largest Segment message, decompressed (Segment's own limit)",
      )
        .argParser(integer('segment max message', 1024, MAX_MAX_BODY_BYTES))
        .default(SEGMENT_MAX_MESSAGE_BYTES),
    )
    .addOption(
      new Option('--segment-max-batch <bytes>', "largest Segment batch, decompressed (Segment's own limit)")
        .argParser(integer('segment max batch', 1024, MAX_MAX_BODY_BYTES))
        .default(SEGMENT_MAX_BATCH_BYTES),
    )
    .addOption(new Option('--client-ip', "record each event's client IP address as context.ip"))
    .addOption(
      new Option(
        '--ip-anonymize',
        'with --client-ip: record only the network, IPv4 to /24 and IPv6 to /48, before events reach the stream',
      ),
    )
    .addOption(
      new Option('--trust-proxy', 'take the client address from X-Forwarded-For (behind your own proxy)'),
    )
    .addOption(options.consumer('the consumer whose lag the dashboard shows (embedded stream)'))
    .addOption(options.trackingPlan())
    .addHelpText(
      'after',
      '\nPOST /v1/events takes one event, a JSON array, {"batch": [...]} or NDJSON (application/x-ndjson) and\n' +
        'answers once the stream has accepted the valid events: {"accepted": N, "rejected": [{"index", "code",\n' +
        '"message"}]}.\n' +
        "Segment's HTTP Tracking API: POST /v1/track, /v1/identify, /v1/page, /v1/screen, /v1/group, /v1/alias,\n" +
        '/v1/batch, /v1/import and the short paths /v1/t|i|p|s|g|a|b (JSON, text/plain or gzip; 32 KB a message,\n' +
        "500 KB a batch): point a Segment or RudderStack library's host at this collector.\n" +
        "Snowplow's tracker protocol: POST /com.snowplowanalytics.snowplow/tp2 and GET /i: point a Snowplow\n" +
        "tracker's collector endpoint here. Each message's id (messageId, eid) becomes event_id.\n" +
        'GET /tracker.js is the browser tracker, /demo a page using it, /dashboard the live view, /healthz and\n' +
        '/metrics (Prometheus) are for operations. Ctrl-C stops accepting, puts what was accepted on the stream\n' +
        'and exits.',
    )
    .action((flags: CollectFlags) => collect(flags));
}

async function collect(flags: CollectFlags): Promise<void> {
  // The server and its dependencies load only for this command, keeping the other commands quick to start.
  const { createCollector, ConsumerLagProbe } = await import('../../collector/index.js');
  if (flags.ipAnonymize && !flags.clientIp) {
    throw new ConfigError('--ip-anonymize anonymises the address --client-ip records: give both');
  }
  const plan = flags.trackingPlan === undefined ? undefined : await TrackingPlan.fromFile(flags.trackingPlan);
  const { stream } = await connectStream(flags.stream, flags.shards);
  // The embedded log keeps the consumer's checkpoints, so the dashboard can show how far behind it is.
  const probe = stream instanceof LocalStream ? new ConsumerLagProbe(stream, flags.consumer) : undefined;
  let collector: Awaited<ReturnType<typeof createCollector>>;
  try {
    collector = await createCollector({
      stream,
      ...(flags.writeKey === undefined ? {} : { writeKey: flags.writeKey }),
      corsOrigins: flags.corsOrigin ?? ['*'],
      maxBodyBytes: flags.maxBody,
      maxPendingRecords: flags.maxPending,
      putTimeoutMs: flags.putTimeout,
      ...(plan === undefined ? {} : { trackingPlan: plan }),
      segmentMaxMessageBytes: flags.segmentMaxMessage,
      segmentMaxBatchBytes: flags.segmentMaxBatch,
      recordClientIp: flags.clientIp ?? false,
      anonymizeIp: flags.ipAnonymize ?? false,
      trustProxy: flags.trustProxy ?? false,
      consumerLag: async () =>
        probe === undefined
          ? {
              state: 'unknown',
              consumer: flags.consumer,
              message: 'not measured for Kinesis: see the consumer’s iterator age in CloudWatch',
            }
          : probe.read(),
    });
  } catch (error) {
    await stream.close();
    throw error;
  }
  const started = performance.now();
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  const removeHandlers = onShutdown(() => stop());
  try {
    let base: string;
    try {
      base = await collector.listen({ host: flags.host, port: flags.port });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
        throw new ConfigError(
          `cannot listen on ${flags.host}:${flags.port} (${code}): choose another --port or --host`,
          error,
        );
      }
      throw error;
    }
    const shown = base.replace('://0.0.0.0:', '://127.0.0.1:').replace('://[::]:', '://[::1]:');
    const where = flags.stream.kind === 'local' ? flags.stream.path : `kinesis://${flags.stream.name}`;
    process.stdout.write(
      [
        `activity collect: listening on ${base}, putting events on ${where}`,
        `  events     POST ${shown}/v1/events${flags.writeKey === undefined ? '' : '  (write key required)'}`,
        `  segment    POST ${shown}/v1/batch  (host for Segment and RudderStack libraries: /v1/track, /v1/page, …)`,
        `  snowplow   POST ${shown}/com.snowplowanalytics.snowplow/tp2, GET ${shown}/i`,
        `  tracker    ${shown}/tracker.js`,
        `  demo       ${shown}/demo`,
        `  dashboard  ${shown}/dashboard`,
        `  metrics    ${shown}/metrics`,
        'Press Ctrl-C to stop.',
        '',
      ].join('\n'),
    );
    await stopped;
  } finally {
    removeHandlers();
    await collector.close();
    await stream.close();
  }
  const { accepted, rejected } = collector.snapshot();
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `activity collect: accepted ${formatCount(accepted)} events, rejected ${formatCount(rejected)}, in ${seconds.toFixed(1)} s; every accepted event is on the stream\n`,
  );
}
