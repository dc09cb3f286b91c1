import { mkdir, open, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { StreamError } from '../../core/errors.js';
import type { CheckpointStore } from '../../core/ports.js';

type Checkpoints = Record<string, Record<string, string>>;

/**
 * Consumer checkpoints in a JSON file, for streams that keep none themselves (Kinesis, read by the
 * local runner). Every save rewrites the file under a temporary name, flushes it and renames it into
 * place, so a crash leaves either the old checkpoints or the new ones, never half a file.
 * One process at a time should consume with one consumer name.
 */
export class FileCheckpointStore implements CheckpointStore {
  readonly #file: string;
  #state: Checkpoints | undefined;
  #writing: Promise<void> = Promise.resolve();

  constructor(file: string) {
    this.#file = path.resolve(file);
  }

  async load(consumer: string, shardId: string): Promise<string | undefined> {
    const state = await this.#read();
    return state[consumer]?.[shardId];
  }

  async save(consumer: string, shardId: string, sequenceNumber: string): Promise<void> {
    const state = await this.#read();
    state[consumer] = { ...state[consumer], [shardId]: sequenceNumber };
    // Saves are serialised: each writes the whole state as it is when its turn comes.
    this.#writing = this.#writing.then(() => this.#write(state));
    await this.#writing;
  }

  async #read(): Promise<Checkpoints> {
    if (this.#state !== undefined) return this.#state;
    try {
      const parsed: unknown = JSON.parse(await readFile(this.#file, 'utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        throw new Error('not a JSON object');
      this.#state = parsed as Checkpoints;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new StreamError(
          'checkpoints_unreadable',
          `cannot read checkpoints from ${this.#file}: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      }
      this.#state = {};
    }
    return this.#state;
  }

  async #write(state: Checkpoints): Promise<void> {
    await mkdir(path.dirname(this.#file), { recursive: true });
    const tmp = `${this.#file}.${process.pid}.tmp`;
    const file = await open(tmp, 'w');
    try {
      await file.writeFile(`${JSON.stringify(state, null, 2)}\n`);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, this.#file);
  }
}
