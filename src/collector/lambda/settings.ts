import { ConfigError } from '../../core/errors.js';
import { checkInteger, DEFAULT_MAX_BODY_BYTES, KINESIS_NAME } from '../../core/limits.js';
import { SEGMENT_MAX_BATCH_BYTES, SEGMENT_MAX_MESSAGE_BYTES } from '../protocols/segment.js';

/**
 * The largest body the function takes: Lambda refuses a synchronous invocation over 6 MB, and API Gateway
 * sends a binary body base64-encoded (4 bytes for every 3).
 */
export const LAMBDA_MAX_BODY_BYTES = 4 * 1024 * 1024;
/** How long a record may wait for Kinesis before its request is answered 429: well inside the function's timeout. */
export const DEFAULT_LAMBDA_PUT_TIMEOUT_MS = 3_000;

/**
 * What the function records of the client's address as `context.ip`, as `activity collect` does: the
 * whole address (`--client-ip`), only its network (`--client-ip --ip-anonymize`: IPv4 /24, IPv6 /48), or
 * nothing (the default, as locally).
 */
export const CLIENT_IP_MODES = ['keep', 'anonymize', 'drop'] as const;
export type ClientIpMode = (typeof CLIENT_IP_MODES)[number];
export const DEFAULT_CLIENT_IP: ClientIpMode = 'drop';

/** The collector's options for `mode`: whether an address is recorded, and whether only its network. */
export function clientIpOptions(mode: ClientIpMode): { recordClientIp: boolean; anonymizeIp: boolean } {
  return { recordClientIp: mode !== 'drop', anonymizeIp: mode === 'anonymize' };
}

/** The collector function's settings, read from its environment once per execution environment. */
export interface CollectorLambdaSettings {
  /** `STREAM_NAME`: the Kinesis stream events are put on. */
  streamName: string;
  /** `WRITE_KEY_SECRET_ARN`: the Secrets Manager secret whose value is the write key. */
  writeKeySecretArn: string;
  /** `CORS_ORIGINS`: comma-separated origins, or `*` (the default). */
  corsOrigins: string[];
  /** `MAX_BODY_BYTES` */
  maxBodyBytes: number;
  /** `SEGMENT_MAX_MESSAGE_BYTES`, `SEGMENT_MAX_BATCH_BYTES` */
  segmentMaxMessageBytes: number;
  segmentMaxBatchBytes: number;
  /** `CLIENT_IP`: `keep`, `anonymize` or `drop` (the default) the client's address as `context.ip`. */
  clientIp: ClientIpMode;
  /** `PUT_TIMEOUT_MS`: a record not accepted by then is answered 429 (the stream throttles). */
  putTimeoutMs: number;
  /** `METRICS_NAMESPACE` (default `ActivityPipeline`) and the function's name, for the EMF lines. */
  metricsNamespace: string | undefined;
  functionName: string | undefined;
}

const ORIGIN = /^https?:\/\/[^/?#\s]+$/;

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
  return checkInteger(name, value, min, max, JSON.stringify(raw));
}

function required(env: NodeJS.ProcessEnv, name: string, example: string): string {
  const value = env[name]?.trim();
  if (value === undefined || value === '') throw new ConfigError(`${name} must be set to ${example}`);
  return value;
}

function origins(raw: string | undefined): string[] {
  if (raw === undefined || raw.trim() === '') return ['*'];
  return raw.split(',').map((part) => {
    const origin = part.trim().replace(/\/$/, '');
    if (origin !== '*' && !ORIGIN.test(origin)) {
      throw new ConfigError(
        `CORS_ORIGINS must be comma-separated origins such as https://shop.example, or * (given ${JSON.stringify(part)})`,
      );
    }
    return origin;
  });
}

/** Reads and checks the settings; every error names the variable and the value given. */
export function readLambdaSettings(env: NodeJS.ProcessEnv = process.env): CollectorLambdaSettings {
  const streamName = required(env, 'STREAM_NAME', 'the Kinesis stream events are put on');
  if (!KINESIS_NAME.test(streamName)) {
    throw new ConfigError(
      `STREAM_NAME must be 1-128 letters, digits, "_", "." or "-" (given ${JSON.stringify(streamName)})`,
    );
  }
  const writeKeySecretArn = required(
    env,
    'WRITE_KEY_SECRET_ARN',
    'the ARN of the Secrets Manager secret holding the write key',
  );
  if (!writeKeySecretArn.startsWith('arn:')) {
    throw new ConfigError(
      `WRITE_KEY_SECRET_ARN must be a secret's ARN (given ${JSON.stringify(writeKeySecretArn)})`,
    );
  }
  const clientIp = env.CLIENT_IP?.trim() || DEFAULT_CLIENT_IP;
  if (!(CLIENT_IP_MODES as readonly string[]).includes(clientIp)) {
    throw new ConfigError(
      `CLIENT_IP must be one of ${CLIENT_IP_MODES.join(', ')} (given ${JSON.stringify(clientIp)})`,
    );
  }
  return {
    streamName,
    writeKeySecretArn,
    corsOrigins: origins(env.CORS_ORIGINS),
    maxBodyBytes: integer(env, 'MAX_BODY_BYTES', DEFAULT_MAX_BODY_BYTES, 1024, LAMBDA_MAX_BODY_BYTES),
    segmentMaxMessageBytes: integer(
      env,
      'SEGMENT_MAX_MESSAGE_BYTES',
      SEGMENT_MAX_MESSAGE_BYTES,
      1024,
      LAMBDA_MAX_BODY_BYTES,
    ),
    segmentMaxBatchBytes: integer(
      env,
      'SEGMENT_MAX_BATCH_BYTES',
      SEGMENT_MAX_BATCH_BYTES,
      1024,
      LAMBDA_MAX_BODY_BYTES,
    ),
    clientIp: clientIp as ClientIpMode,
    putTimeoutMs: integer(env, 'PUT_TIMEOUT_MS', DEFAULT_LAMBDA_PUT_TIMEOUT_MS, 100, 60_000),
    metricsNamespace: env.METRICS_NAMESPACE?.trim() || undefined,
    functionName: env.AWS_LAMBDA_FUNCTION_NAME?.trim() || undefined,
  };
}
