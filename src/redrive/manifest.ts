import { promisify } from 'node:util';
import { gunzip as gunzipCallback, gzip as gzipCallback } from 'node:zlib';
import { PipelineError, StoreError } from '../core/errors.js';
import type { ObjectStore } from '../core/ports.js';
import { type ErrorLine, manifestKeyOf } from '../layout/index.js';

const gzip = promisify(gzipCallback);
const gunzip = promisify(gunzipCallback);

/** One record put back on the stream: where it was, and where the stream put it this time. */
export interface RedrivenRecord {
  /** 1-based line number in the `errors/` object. */
  line: number;
  reason: string;
  shard_id: string;
  sequence_number: string;
  sub_sequence_number?: ErrorLine['sub_sequence_number'];
  sent_to: { shard_id: string; sequence_number: string };
}

/** One run of `redrive` over one `errors/` object. */
export interface RedriveRun {
  /** When the records were acknowledged by the stream: ISO 8601 UTC. */
  at: string;
  /** The stream they went to, as given (a URL such as `kinesis://NAME`). */
  stream: string;
  /** The stream's ARN, when known: recognises re-driven records that land in `errors/` again. */
  stream_arn?: string;
  /** The reasons selected for the run: a list, or every reason. */
  reasons: string[] | 'all';
  records: RedrivenRecord[];
}

/** What has been re-driven from one `errors/` object, over every run. */
export interface RedriveManifest {
  version: 1;
  /** The `errors/` object's key. */
  object: string;
  runs: RedriveRun[];
}

/** The content headers of a manifest, which is gzipped JSON under `manifestKeyOf(<errors/ key>)`. */
export const MANIFEST_CONTENT = { contentType: 'application/json', contentEncoding: 'gzip' };

/** The manifest of an `errors/` object, or undefined when nothing has been re-driven from it yet. */
export async function readManifest(
  store: ObjectStore,
  objectKey: string,
  signal?: AbortSignal,
): Promise<RedriveManifest | undefined> {
  const key = manifestKeyOf(objectKey);
  let body: Uint8Array;
  try {
    body = await store.get(key, signal);
  } catch (error) {
    if (error instanceof PipelineError && error.code === 'not_found') return undefined;
    throw error;
  }
  const text = await gunzip(body).then(
    (plain) => plain.toString('utf8'),
    () => undefined,
  );
  const manifest = text === undefined ? undefined : parseManifest(text);
  if (manifest === undefined || manifest.object !== objectKey) {
    // Ignoring it would send its records again; a person should look at it first.
    throw new StoreError(
      'invalid_manifest',
      `redrive manifest ${key} in ${store.url} is not a manifest of ${objectKey}: repair it, or delete it to re-drive that object's records again`,
    );
  }
  return manifest;
}

/** The gzipped manifest: JSON with one record a line, so `zcat` shows it readably. */
export function encodeManifest(manifest: RedriveManifest): Promise<Buffer> {
  const runs = manifest.runs.map(({ records, ...run }) => {
    const head = JSON.stringify(run).slice(0, -1);
    return `${head},"records":[\n   ${records.map((r) => JSON.stringify(r)).join(',\n   ')}\n  ]}`;
  });
  const text = `{"version":1,"object":${JSON.stringify(manifest.object)},"runs":[\n  ${runs.join(',\n  ')}\n]}\n`;
  return gzip(text);
}

function parseManifest(text: string): RedriveManifest | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(value) || value.version !== 1 || typeof value.object !== 'string') return undefined;
  if (!Array.isArray(value.runs) || !value.runs.every(isRun)) return undefined;
  return value as unknown as RedriveManifest;
}

function isRun(value: unknown): boolean {
  return (
    isObject(value) &&
    typeof value.stream === 'string' &&
    Array.isArray(value.records) &&
    value.records.every(
      (r) =>
        isObject(r) &&
        typeof r.line === 'number' &&
        typeof r.shard_id === 'string' &&
        typeof r.sequence_number === 'string' &&
        isObject(r.sent_to),
    )
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
