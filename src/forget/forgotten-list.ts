import { createHmac, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ConfigError, StoreError } from '../core/errors.js';
import type { ObjectStore } from '../core/ports.js';

/**
 * Where the list of forgotten users lives in a sink: a hidden prefix, so readers (`activity query`,
 * the Glue tables' crawlers of `events/` and `errors/`, compaction) never take it for data.
 */
export const FORGOTTEN_PREFIX = '_forgotten';
/** The list: keyed hashes of forgotten user ids, never the ids. */
export const FORGOTTEN_LIST_KEY = `${FORGOTTEN_PREFIX}/users.json`;
/** The key of the hashes when the user supplies none: made by the first `activity forget`. */
export const FORGOTTEN_KEY_KEY = `${FORGOTTEN_PREFIX}/key`;

/** How long a consumer keeps the list it read before reading it again. */
export const DEFAULT_FORGOTTEN_TTL_MS = 30_000;

/** The shortest key a user may supply: 128 bits of hex, or 16 characters of anything. */
const MIN_KEY_BYTES = 16;
const KEY_ID_LABEL = 'activity-pipeline forgotten-users key id';
const JSON_CONTENT = { contentType: 'application/json' } as const;
const TEXT_CONTENT = { contentType: 'text/plain' } as const;

/** Where the key of the hashes comes from: `FORGET_KEY`, the file `FORGET_KEY_FILE` names, or the sink. */
export interface KeySource {
  /** The key itself (`FORGET_KEY`): text of at least 16 characters; 64 hex digits are read as 32 bytes. */
  key?: string;
  /** A file holding the key (`FORGET_KEY_FILE`), read and trimmed. */
  keyFile?: string;
}

/** The key source of the environment: `FORGET_KEY`, else `FORGET_KEY_FILE`. */
export function keySourceFromEnv(env: NodeJS.ProcessEnv = process.env): KeySource {
  if (env.FORGET_KEY !== undefined && env.FORGET_KEY !== '') return { key: env.FORGET_KEY };
  if (env.FORGET_KEY_FILE !== undefined && env.FORGET_KEY_FILE !== '')
    return { keyFile: env.FORGET_KEY_FILE };
  return {};
}

/** The list as stored: which key hashed it (by its id, never the key), and when each user was added. */
interface StoredList {
  version: 1;
  key_id: string;
  /** Keyed hash (HMAC-SHA-256, hex) → when the user was forgotten (ISO 8601). */
  users: Record<string, string>;
}

/** A loaded list: tells whether a user id is on it. */
export interface ForgottenUsers {
  readonly size: number;
  has(userId: string): boolean;
}

/** The list of nobody: what a sink without a list holds. */
export const NOBODY: ForgottenUsers = { size: 0, has: () => false };

/** The user id in a record's bytes, when they are a JSON object with a string `user_id`. */
export function userIdInBytes(bytes: Uint8Array): string | undefined {
  try {
    const value: unknown = JSON.parse(
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString(),
    );
    if (typeof value !== 'object' || value === null) return undefined;
    const id = (value as { user_id?: unknown }).user_id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The durable list of forgotten users of one sink, stored in the sink itself so that every consumer
 * of it (the local runner, the Lambda function, redrive) reads the same one. Each user id is kept as
 * HMAC-SHA-256 under a secret key: the key the user gives (`FORGET_KEY`, `FORGET_KEY_FILE`), or else
 * one made at random by the first `activity forget` and kept beside the list (`_forgotten/key`). The
 * list names the key's id (an HMAC of a fixed label), so a consumer holding another key fails loudly
 * instead of letting forgotten users through. The key is never logged.
 */
export class ForgottenList {
  private readonly store: ObjectStore;
  private readonly source: KeySource;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private key: Buffer | undefined;
  private cached: { at: number; users: Promise<ForgottenUsers> } | undefined;

  constructor(
    store: ObjectStore,
    options: { keySource?: KeySource; ttlMs?: number; now?: () => number } = {},
  ) {
    this.store = store;
    this.source = options.keySource ?? keySourceFromEnv();
    this.ttlMs = options.ttlMs ?? DEFAULT_FORGOTTEN_TTL_MS;
    this.now = options.now ?? Date.now;
  }

  /** The list as of at most `ttlMs` ago: what a consumer checks each batch against. */
  current(signal?: AbortSignal): Promise<ForgottenUsers> {
    const now = this.now();
    if (this.cached !== undefined && now - this.cached.at < this.ttlMs) return this.cached.users;
    const users = this.load(signal);
    this.cached = { at: now, users };
    users.catch(() => {
      if (this.cached?.users === users) this.cached = undefined;
    });
    return users;
  }

  /** Reads the list now. */
  async load(signal?: AbortSignal): Promise<ForgottenUsers> {
    const stored = await this.read(signal);
    if (stored === undefined || Object.keys(stored.users).length === 0) return NOBODY;
    const key = await this.keyFor(stored, false, signal);
    return matcher(key, new Set(Object.keys(stored.users)));
  }

  /** The keyed hashes of `userIds`, under the list's key (made now when there is none yet). */
  async hashes(userIds: readonly string[], signal?: AbortSignal): Promise<string[]> {
    const key = await this.keyFor(await this.read(signal), true, signal);
    return userIds.map((id) => hmac(key, id));
  }

  /**
   * Adds users to the list; returns how many were not on it yet. Read, merged and written, then read
   * back: a run beside another that wrote in between merges again, until its users are on the list.
   */
  async add(userIds: readonly string[], signal?: AbortSignal): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      const stored = await this.read(signal);
      const key = await this.keyFor(stored, true, signal);
      const list: StoredList = stored ?? { version: 1, key_id: keyId(key), users: {} };
      const at = new Date(this.now()).toISOString();
      let added = 0;
      for (const id of userIds) {
        const hash = hmac(key, id);
        if (list.users[hash] === undefined) {
          list.users[hash] = at;
          added++;
        }
      }
      if (added === 0) return 0;
      await this.store.put(
        FORGOTTEN_LIST_KEY,
        Buffer.from(`${JSON.stringify(list)}\n`),
        JSON_CONTENT,
        signal,
      );
      const back = await this.read(signal);
      if (userIds.every((id) => back?.users[hmac(key, id)] !== undefined)) {
        this.cached = undefined;
        return added;
      }
      if (attempt >= 5) {
        throw new StoreError(
          'forgotten_list_conflict',
          `could not add users to ${FORGOTTEN_LIST_KEY}: it kept changing under us`,
        );
      }
    }
  }

  private async read(signal?: AbortSignal): Promise<StoredList | undefined> {
    let body: Uint8Array;
    try {
      body = await this.store.get(FORGOTTEN_LIST_KEY, signal);
    } catch (error) {
      if (error instanceof StoreError && error.code === 'not_found') return undefined;
      throw error;
    }
    let value: unknown;
    try {
      value = JSON.parse(Buffer.from(body).toString('utf8'));
    } catch (error) {
      throw new StoreError('invalid_forgotten_list', `${this.store.url}/${FORGOTTEN_LIST_KEY} is not JSON`, {
        cause: error,
      });
    }
    const list = value as Partial<StoredList>;
    if (
      list?.version !== 1 ||
      typeof list.key_id !== 'string' ||
      typeof list.users !== 'object' ||
      list.users === null
    ) {
      throw new StoreError(
        'invalid_forgotten_list',
        `${this.store.url}/${FORGOTTEN_LIST_KEY} is not a list of forgotten users`,
      );
    }
    return list as StoredList;
  }

  /** The key: the user's, else the sink's (made when `create` and there is none); checked against the list's. */
  private async keyFor(
    stored: StoredList | undefined,
    create: boolean,
    signal?: AbortSignal,
  ): Promise<Buffer> {
    this.key ??= (await this.userKey()) ?? (await this.sinkKey(create && stored === undefined, signal));
    if (stored !== undefined && stored.key_id !== keyId(this.key)) {
      throw new ConfigError(
        `the key of the forgotten-users list in ${this.store.url} is not the one given (FORGET_KEY, FORGET_KEY_FILE or ${FORGOTTEN_KEY_KEY}): every consumer of a sink must use the key the list was made with`,
      );
    }
    return this.key;
  }

  private async userKey(): Promise<Buffer | undefined> {
    let text = this.source.key;
    if (text === undefined && this.source.keyFile !== undefined) {
      try {
        text = (await readFile(this.source.keyFile, 'utf8')).trim();
      } catch (error) {
        throw new ConfigError(`could not read the forget key file ${this.source.keyFile}`, error);
      }
    }
    return text === undefined ? undefined : parseKey(text);
  }

  private async sinkKey(create: boolean, signal?: AbortSignal): Promise<Buffer> {
    try {
      return parseKey(
        Buffer.from(await this.store.get(FORGOTTEN_KEY_KEY, signal))
          .toString('utf8')
          .trim(),
      );
    } catch (error) {
      if (!(error instanceof StoreError && error.code === 'not_found')) throw error;
      if (!create) {
        throw new ConfigError(
          `${this.store.url} has a list of forgotten users but no ${FORGOTTEN_KEY_KEY}: set FORGET_KEY or FORGET_KEY_FILE to the key it was made with`,
        );
      }
    }
    const key = randomBytes(32);
    await this.store.put(FORGOTTEN_KEY_KEY, Buffer.from(`${key.toString('hex')}\n`), TEXT_CONTENT, signal);
    return key;
  }
}

function parseKey(text: string): Buffer {
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'utf8');
  if (key.byteLength < MIN_KEY_BYTES) {
    // Never the key itself in a message: only its length.
    throw new ConfigError(`the forget key must be at least ${MIN_KEY_BYTES} bytes (given ${key.byteLength})`);
  }
  return key;
}

function hmac(key: Buffer, text: string): string {
  return createHmac('sha256', key).update(text, 'utf8').digest('hex');
}

function keyId(key: Buffer): string {
  return hmac(key, KEY_ID_LABEL).slice(0, 16);
}

/** Tells ids on the list apart, hashing each distinct id once. */
function matcher(key: Buffer, hashes: ReadonlySet<string>): ForgottenUsers {
  const seen = new Map<string, boolean>();
  return {
    size: hashes.size,
    has(userId) {
      // Nobody forgotten (the usual case): no hashing on the consumer's path at all.
      if (hashes.size === 0) return false;
      let on = seen.get(userId);
      if (on === undefined) {
        on = hashes.has(hmac(key, userId));
        if (seen.size > 100_000) seen.clear();
        seen.set(userId, on);
      }
      return on;
    },
  };
}
