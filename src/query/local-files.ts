import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SinkLocation } from '../core/locations.js';
import type { ObjectStore } from '../core/ports.js';
import type { LandedObject } from '../layout/index.js';
import type { SourceFiles } from './views.js';

/** Parallel downloads from S3: enough to hide each request's latency, few enough to be polite. */
const DEFAULT_DOWNLOADS = 8;

/** What has been read from the store so far. */
export interface FetchStats {
  /** Objects downloaded (S3); 0 for a directory sink, read in place. */
  objects: number;
  bytes: number;
}

/**
 * Local files for landed objects, for DuckDB to read. A directory sink's objects are read in place. An
 * S3 sink's objects are downloaded through the project's S3 store into a private temporary directory
 * (DuckDB's S3 extension is not there offline, and the store carries the sink's credentials, endpoint
 * and retry settings), keeping their keys as paths so `dt=`/`hour=` still name the partitions; a
 * download is reused while the object keeps its size (landed objects are written once; a retried
 * batch rewrites the same bytes under the same key).
 */
export class LocalFiles {
  readonly stats: FetchStats = { objects: 0, bytes: 0 };
  private readonly store: ObjectStore;
  private readonly root: string | undefined;
  private readonly downloads: number;
  private cache: string | undefined;
  private readonly cached = new Map<string, number>();

  constructor(location: SinkLocation, store: ObjectStore, options: { downloads?: number } = {}) {
    this.store = store;
    this.root = location.kind === 'directory' ? location.path : undefined;
    this.downloads = options.downloads ?? DEFAULT_DOWNLOADS;
  }

  /** True when objects are read in place (a directory sink). */
  get inPlace(): boolean {
    return this.root !== undefined;
  }

  /** The local paths of `objects`, by format, downloading those not here yet. */
  async files(objects: readonly LandedObject[], signal?: AbortSignal): Promise<SourceFiles> {
    const paths = await this.paths(objects, signal);
    const ndjson: string[] = [];
    const parquet: string[] = [];
    objects.forEach((o, i) => {
      (o.format === 'parquet' ? parquet : ndjson).push(paths[i] as string);
    });
    return { ndjson, parquet };
  }

  /** The local path of each object, in order. */
  async paths(objects: readonly LandedObject[], signal?: AbortSignal): Promise<string[]> {
    if (this.root !== undefined) {
      const root = this.root;
      return objects.map((o) => path.join(root, o.key));
    }
    const cache = await this.cacheDir();
    const missing = objects.filter((o) => this.cached.get(o.key) !== o.size);
    let next = 0;
    const worker = async () => {
      while (next < missing.length) {
        const object = missing[next++] as LandedObject;
        signal?.throwIfAborted();
        const body = await this.store.get(object.key, signal);
        const target = path.join(cache, object.key);
        await mkdir(path.dirname(target), { recursive: true });
        const partial = `${target}.partial`;
        await writeFile(partial, body);
        await rename(partial, target);
        this.cached.set(object.key, object.size);
        this.stats.objects++;
        this.stats.bytes += body.byteLength;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.downloads, missing.length) }, worker));
    return objects.map((o) => path.join(cache, o.key));
  }

  /** A private directory for DuckDB's own temporary files: beside the downloads, removed with them. */
  async scratchDir(): Promise<string> {
    const dir = path.join(await this.cacheDir(), '_duckdb');
    await mkdir(dir, { recursive: true });
    return dir;
  }

  /** Removes the downloads. */
  async close(): Promise<void> {
    if (this.cache !== undefined) await rm(this.cache, { recursive: true, force: true });
    this.cache = undefined;
    this.cached.clear();
  }

  private async cacheDir(): Promise<string> {
    this.cache ??= await mkdtemp(path.join(tmpdir(), 'activity-query-'));
    return this.cache;
  }
}
