import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { STALE_TEMP_MS, TEMP_DIR } from '../../src/sink/directory/directory-store.js';
import { DirectoryStore } from '../../src/sink/index.js';
import { useTempDir } from '../support/temp.js';

const tempDir = useTempDir();
const ndjson = { contentType: 'application/x-ndjson', contentEncoding: 'gzip' };

describe('the directory store leaves no litter', () => {
  it('writes through _tmp/ and leaves nothing there after a put', async () => {
    const sink = path.join(await tempDir(), 'sink');
    const store = new DirectoryStore(sink);
    await store.connect();

    await store.put('events/dt=2026-01-01/hour=00/a.ndjson.gz', Buffer.from('x'), ndjson);

    expect(await readdir(path.join(sink, TEMP_DIR))).toEqual([]);
    expect(await readdir(path.join(sink, 'events/dt=2026-01-01/hour=00'))).toEqual(['a.ndjson.gz']);
  });

  it('sweeps temporary files of writes killed long ago when it connects, and keeps recent ones', async () => {
    // Prepare: what a SIGKILL mid-write leaves: one file from long ago, one from a write still running.
    const sink = path.join(await tempDir(), 'sink');
    const temp = path.join(sink, TEMP_DIR);
    await mkdir(temp, { recursive: true });
    await writeFile(path.join(temp, '111-dead-0.tmp'), 'half an object');
    const old = new Date(Date.now() - STALE_TEMP_MS - 60_000);
    await utimes(path.join(temp, '111-dead-0.tmp'), old, old);
    await writeFile(path.join(temp, '222-alive-0.tmp'), 'being written');

    // Act
    await new DirectoryStore(sink).connect();

    // Assess
    expect(await readdir(temp)).toEqual(['222-alive-0.tmp']);
  });
});
