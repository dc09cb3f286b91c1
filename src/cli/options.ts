import { Option } from 'commander';
import {
  DEFAULT_BATCH_SIZE,
  DEFAULT_BATCH_WINDOW_MS,
  DEFAULT_CONSUMER_NAME,
  DEFAULT_INVOCATION_TIMEOUT_MS,
  DEFAULT_LEASE_DURATION_MS,
  MAX_INVOCATION_TIMEOUT_MS,
} from '../consumer/index.js';
import { ConfigError } from '../core/errors.js';
import {
  checkInteger,
  KINESIS_NAME,
  MAX_BATCH_SIZE,
  MAX_BATCH_WINDOW_MS,
  MAX_LOCAL_SHARDS,
} from '../core/limits.js';
import {
  DEFAULT_SINK_URL,
  DEFAULT_STREAM_URL,
  parseSinkUrl,
  parseStreamUrl,
  type SinkLocation,
  type StreamLocation,
} from '../core/locations.js';
import { parseTimeOrAgo } from '../event/index.js';
import { DEFAULT_LANDING_FORMAT, FORMAT_FLAG_HELP, parseLandingFormat } from '../sink/formats/index.js';

/**
 * Every flag the commands share, defined once: its description and default show in `--help`, and
 * its parser turns the text into a checked value or a one-line error naming the bad value.
 */
export function integer(name: string, min: number, max: number) {
  return (raw: string): number =>
    checkInteger(name, raw.trim() === '' ? Number.NaN : Number(raw), min, max, `"${raw}"`);
}

function positiveNumber(name: string, max: number) {
  return (raw: string): number => {
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value) || value <= 0 || value > max) {
      throw new ConfigError(`${name} must be a number above 0 and at most ${max} (given "${raw}")`);
    }
    return value;
  };
}

/** A time to replay from: ISO 8601, epoch seconds or milliseconds, or a duration ago (`15m`, `2h`, `7d`). */
export function parseFromTime(raw: string, now = Date.now()): Date {
  const ms = parseTimeOrAgo(raw, now);
  if (ms === undefined || ms < 0) {
    throw new ConfigError(
      `--from must be an ISO 8601 time, epoch seconds or milliseconds, or a duration ago such as 15m, 2h or 7d (given "${raw}")`,
    );
  }
  if (ms > now) throw new ConfigError(`--from must not be in the future (given "${raw}")`);
  return new Date(ms);
}

/** A span of time back from now, as `--before` and `--from` take durations: `90m`, `24h`, `7d`. */
export function parseSpan(raw: string): number {
  // A duration ago from the epoch is minus the duration; a time (ISO, epoch) would not be negative.
  const ago = parseTimeOrAgo(raw, 0);
  if (ago === undefined || !(ago < 0)) {
    throw new ConfigError(`--span must be a duration such as 90m, 24h or 7d (given "${raw}")`);
  }
  return -ago;
}

function option<T>(
  flags: string,
  description: string,
  parse: (raw: string) => T,
  defaultText?: string,
): Option {
  const o = new Option(flags, description).argParser((raw: string) => parse(raw));
  if (defaultText !== undefined) o.default(parse(defaultText), defaultText);
  return o;
}

/** A file path flag: not empty, no NUL byte. */
export function filePath(flag: string) {
  return (raw: string): string => {
    if (raw.trim() === '' || raw.includes('\0'))
      throw new ConfigError(`${flag} must be a file path (given "${raw}")`);
    return raw;
  };
}

export const options = {
  trackingPlan: () =>
    option(
      '--tracking-plan <file>',
      'a tracking plan (JSON): event schemas and policies, checked with `activity plan check FILE`',
      filePath('--tracking-plan'),
    ),
  stream: () =>
    option<StreamLocation>(
      '--stream <url>',
      'the stream: kinesis://NAME, file://PATH or a path to the embedded log (created on first use)',
      parseStreamUrl,
      DEFAULT_STREAM_URL,
    ),
  sink: () =>
    option<SinkLocation>(
      '--sink <url>',
      'where events land: s3://BUCKET/PREFIX, file://PATH or a directory',
      parseSinkUrl,
      DEFAULT_SINK_URL,
    ),
  shards: () =>
    option(
      '--shards <k>',
      'shards of a new embedded log (an existing log keeps its count)',
      integer('shards', 1, MAX_LOCAL_SHARDS),
    ),
  events: () =>
    option('--events <n>', 'events to send, then stop (default: until Ctrl-C)', integer('events', 1, 1e12)),
  rate: () =>
    option(
      '--rate <r>',
      'events per second (default: as fast as the stream takes them)',
      positiveNumber('rate', 1e9),
    ),
  users: () => option('--users <u>', 'simulated users', integer('users', 1, 10_000_000), '1000'),
  seed: () => new Option('--seed <s>', 'seed for a reproducible simulation (default: random)'),
  span: () =>
    option(
      '--span <duration>',
      'spread simulated event times over the past DURATION (90m, 24h, 7d) with a daily rhythm (default: the time of sending)',
      parseSpan,
    ),
  violations: () =>
    option(
      '--violations <share>',
      'share of simulated events (0 to 1) that break a rule of examples/shop-tracking-plan.json on purpose',
      (raw) => {
        const value = Number(raw);
        if (raw.trim() === '' || !(value >= 0 && value <= 1)) {
          throw new ConfigError(`--violations must be a share between 0 and 1 (given "${raw}")`);
        }
        return value;
      },
      '0',
    ),
  json: () => new Option('--json', 'end with one JSON summary line on stdout'),
  batchSize: () =>
    option(
      '--batch-size <n>',
      'most records per handler invocation',
      integer('batch size', 1, MAX_BATCH_SIZE),
      String(DEFAULT_BATCH_SIZE),
    ),
  batchWindow: () =>
    option(
      '--batch-window <ms>',
      'longest a record waits on the stream for its batch to fill, in milliseconds',
      integer('batch window', 0, MAX_BATCH_WINDOW_MS),
      String(DEFAULT_BATCH_WINDOW_MS),
    ),
  from: () =>
    option(
      '--from <time>',
      'replay: start every shard at this time (AT_TIMESTAMP), ignoring the checkpoints; ISO 8601, epoch seconds or milliseconds, or a duration ago (15m, 2h, 7d)',
      (raw) => parseFromTime(raw),
    ),
  format: () =>
    new Option('--format <format>', FORMAT_FLAG_HELP)
      .argParser((raw: string) => parseLandingFormat(raw))
      .default(DEFAULT_LANDING_FORMAT),
  timeout: () =>
    option(
      '--timeout <seconds>',
      "the handler's timeout, as Lambda's function timeout: an invocation still running then is abandoned and retried",
      integer('timeout', 1, MAX_INVOCATION_TIMEOUT_MS / 1000),
      String(DEFAULT_INVOCATION_TIMEOUT_MS / 1000),
    ),
  leaseDuration: () =>
    option(
      '--lease-duration <ms>',
      "how long a consumer's claim on a shard lasts unless renewed: a killed consumer's shards move to the others after it",
      integer('lease duration', 100, 3_600_000),
      String(DEFAULT_LEASE_DURATION_MS),
    ),
  consumer: (
    description = 'consumer name: checkpoints and shard leases are kept per name; consumers of one name split the shards',
  ) =>
    option(
      '--consumer <name>',
      description,
      (raw) => {
        if (!KINESIS_NAME.test(raw)) {
          throw new ConfigError(
            `consumer name must be 1-128 letters, digits, "_", "." or "-" (given "${raw}")`,
          );
        }
        return raw;
      },
      DEFAULT_CONSUMER_NAME,
    ),
};
