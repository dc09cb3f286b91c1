import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from './errors.js';
import { KINESIS_NAME, S3_BUCKET_NAME } from './limits.js';

/** Where the stream is: an Amazon Kinesis data stream, or the embedded log at a path. */
export type StreamLocation = { kind: 'kinesis'; name: string } | { kind: 'local'; path: string };

/** Where events land: an S3 bucket and prefix, or a local directory. */
export type SinkLocation =
  | { kind: 's3'; bucket: string; prefix: string }
  | { kind: 'directory'; path: string };

export const DEFAULT_STREAM_URL = './.activity/stream';
export const DEFAULT_SINK_URL = './data';

const SAFE_PREFIX_SEGMENT = /^[a-zA-Z0-9_.=-]+$/;

function schemeOf(text: string): string | undefined {
  const match = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(text);
  return match?.[1]?.toLowerCase();
}

function localPath(text: string, what: string): string {
  if (text.trim() === '') throw new ConfigError(`${what} must not be empty (given "${text}")`);
  if (text.includes('\0')) throw new ConfigError(`${what} must not contain a NUL character`);
  if (text.toLowerCase().startsWith('file://')) {
    try {
      return fileURLToPath(text);
    } catch (error) {
      throw new ConfigError(`${what} is not a valid file URL (given "${text}")`, error);
    }
  }
  return path.resolve(text);
}

/** Parses `--stream`: `kinesis://NAME`, `file://PATH` or a plain path. */
export function parseStreamUrl(text: string): StreamLocation {
  const scheme = schemeOf(text);
  if (scheme === 'kinesis') {
    const name = text.slice('kinesis://'.length).replace(/\/$/, '');
    if (!KINESIS_NAME.test(name)) {
      throw new ConfigError(
        `Kinesis stream name must be 1-128 letters, digits, "_", "." or "-" (given "${text}")`,
      );
    }
    return { kind: 'kinesis', name };
  }
  if (scheme !== undefined && scheme !== 'file') {
    throw new ConfigError(`unsupported stream URL "${text}": use kinesis://NAME, file://PATH or a path`);
  }
  return { kind: 'local', path: localPath(text, 'stream path') };
}

/** Parses `--sink`: `s3://BUCKET/PREFIX`, `file://PATH` or a plain path. */
export function parseSinkUrl(text: string): SinkLocation {
  const scheme = schemeOf(text);
  if (scheme === 's3') {
    const rest = text.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash === -1 ? rest : rest.slice(0, slash);
    const prefix = slash === -1 ? '' : rest.slice(slash + 1).replace(/\/+$/, '');
    if (!S3_BUCKET_NAME.test(bucket)) {
      throw new ConfigError(
        `S3 bucket name must be 3-63 lowercase letters, digits, "." or "-" (given "${bucket}" in "${text}")`,
      );
    }
    if (
      prefix !== '' &&
      !prefix.split('/').every((s) => SAFE_PREFIX_SEGMENT.test(s) && s !== '..' && s !== '.')
    ) {
      throw new ConfigError(
        `S3 prefix must be "/"-separated letters, digits, "_", ".", "=" or "-" (given "${prefix}" in "${text}")`,
      );
    }
    return { kind: 's3', bucket, prefix };
  }
  if (scheme !== undefined && scheme !== 'file') {
    throw new ConfigError(`unsupported sink URL "${text}": use s3://BUCKET/PREFIX, file://PATH or a path`);
  }
  return { kind: 'directory', path: localPath(text, 'sink path') };
}
