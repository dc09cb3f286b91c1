import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { threadId } from 'node:worker_threads';
import { StreamError } from '../../core/errors.js';
import { KINESIS_NAME } from '../../core/limits.js';
import type { CheckpointStore } from '../../core/ports.js';

let writes = 0;

/**
 * Consumer checkpoints as files, for streams that keep none themselves (Kinesis, read by the local
 * runner): one file per consumer and shard under a directory, `<dir>/<consumer>/<shardId>`. Each
 * shard is checkpointed by one reader, so threads and processes that split a stream's shards never
 * write the same file — no lost updates between them. A save writes under a temporary name of its
 * own, flushes it and renames it into place, so a crash leaves the old checkpoint or the new one,
 * never half a file.
 */
export class FileCheckpointStore implements CheckpointStore {
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = path.resolve(dir);
  }

  async load(consumer: string, shardId: string): Promise<string | undefined> {
    const file = this.fileOf(consumer, shardId);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw unreadable(file, error);
    }
    const value = text.trim();
    if (value === '' || /\s/.test(value)) throw unreadable(file, new Error('not a checkpoint'));
    return value;
  }

  async save(consumer: string, shardId: string, sequenceNumber: string): Promise<void> {
    const file = this.fileOf(consumer, shardId);
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}-${threadId}-${++writes}.tmp`;
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(`${sequenceNumber}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  }

  private fileOf(consumer: string, shardId: string): string {
    return path.join(this.dir, safeName(consumer), safeName(shardId));
  }
}

/** A name as it is when it is safe as a file name, else a digest of it (names never steer a path). */
function safeName(name: string): string {
  return KINESIS_NAME.test(name) && name !== '.' && name !== '..'
    ? name
    : `_${createHash('sha256').update(name).digest('hex').slice(0, 32)}`;
}

function unreadable(file: string, cause: unknown): StreamError {
  return new StreamError(
    'checkpoints_unreadable',
    `cannot read the checkpoint in ${file}: ${(cause as Error).message}; fix or remove it (removing it starts that shard over)`,
    { cause },
  );
}
