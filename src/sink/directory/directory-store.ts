import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { StoreError } from '../../core/errors.js';
import type { ObjectInfo, ObjectStore, PutObjectOptions } from '../../core/ports.js';
import { assertSafeKey, isHiddenName } from '../../layout/index.js';

/** File-system errors that may clear up by themselves (a full disk gets space, a busy one frees). */
const TRANSIENT_CODES = new Set([
  'ENOSPC',
  'EDQUOT',
  'EIO',
  'EMFILE',
  'ENFILE',
  'EAGAIN',
  'EBUSY',
  'ETIMEDOUT',
]);

/** Where objects are written before they are renamed into place: hidden from readers by its `_`. */
export const TEMP_DIR = '_tmp';
/** A temporary file this old belongs to a write that was killed (a write takes well under a second). */
export const STALE_TEMP_MS = 5 * 60_000;

/**
 * An object store on a local directory. `put` writes a temporary file under `_tmp/` (which readers
 * skip), flushes it to disk and renames it into place, so a reader (or a crash) never sees half an
 * object. A process killed mid-write leaves its temporary file there; `connect` removes those older
 * than `STALE_TEMP_MS`, so no litter builds up and no write in progress is touched.
 */
export class DirectoryStore implements ObjectStore {
  readonly url: string;
  private readonly root: string;
  private readonly madeDirs = new Set<string>();
  private readonly tmpTag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  private tmpCounter = 0;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.url = pathToFileURL(this.root).href;
  }

  async connect(): Promise<void> {
    await this.run('connect', this.root, () => mkdir(path.join(this.root, TEMP_DIR), { recursive: true }));
    await this.sweepTemp(Date.now() - STALE_TEMP_MS);
  }

  /** Removes temporary files last written before `before` (epoch ms): writes killed mid-way. */
  private async sweepTemp(before: number): Promise<void> {
    const dir = path.join(this.root, TEMP_DIR);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      const file = path.join(dir, name);
      const info = await stat(file).catch(() => undefined);
      if (info?.isFile() && info.mtimeMs < before) await rm(file, { force: true }).catch(() => undefined);
    }
  }

  async put(key: string, body: Uint8Array, _options: PutObjectOptions, signal?: AbortSignal): Promise<void> {
    assertSafeKey(key);
    const target = path.join(this.root, key);
    const dir = path.dirname(target);
    const tmp = path.join(this.root, TEMP_DIR, `${this.tmpTag}-${this.tmpCounter++}.tmp`);
    await this.run('put', key, async () => {
      for (const needed of [path.dirname(tmp), dir]) {
        if (this.madeDirs.has(needed)) continue;
        await mkdir(needed, { recursive: true });
        this.madeDirs.add(needed);
      }
      const file = await open(tmp, 'w');
      try {
        await file.writeFile(body);
        await file.sync();
      } finally {
        await file.close();
      }
      // A write given up (its invocation timed out) never appears after its retry has begun.
      signal?.throwIfAborted();
      await rename(tmp, target);
    }).catch(async (error) => {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw error;
    });
  }

  async get(key: string): Promise<Uint8Array> {
    assertSafeKey(key);
    return this.run('get', key, () => readFile(path.join(this.root, key)));
  }

  async delete(key: string): Promise<void> {
    assertSafeKey(key);
    await this.run('delete', key, () => rm(path.join(this.root, key), { force: true }));
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const base = prefix.replace(/\/+$/, '');
    if (base !== '') assertSafeKey(base);
    yield* this.walk(base);
  }

  async close(): Promise<void> {
    this.madeDirs.clear();
  }

  async *walk(relative: string): AsyncIterable<ObjectInfo> {
    const dir = path.join(this.root, relative);
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw this.wrap('list', relative, error);
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (isHiddenName(entry.name)) continue;
      const key = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) yield* this.walk(key);
      else if (entry.isFile()) {
        // An object deleted between readdir and stat is simply no longer there.
        const info = await stat(path.join(this.root, key)).catch((error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return undefined;
          throw this.wrap('list', key, error);
        });
        if (info !== undefined) yield { key, size: info.size };
      }
    }
  }

  private async run<T>(operation: string, key: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      throw this.wrap(operation, key, error);
    }
  }

  private wrap(operation: string, key: string, error: unknown): StoreError {
    if (error instanceof StoreError) return error;
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown';
    const where = path.join(this.root, key);
    return new StoreError(
      code === 'ENOENT' ? 'not_found' : `fs_${code.toLowerCase()}`,
      `could not ${operation} ${where}: ${(error as Error).message}`,
      { retriable: TRANSIENT_CODES.has(code), cause: error },
    );
  }
}
