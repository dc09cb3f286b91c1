import { mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { compact } from '../../src/compact/index.js';
import { createHandler } from '../../src/consumer/index.js';
import { PipelineError } from '../../src/core/errors.js';
import { LandedData } from '../../src/query/index.js';
import { collectReport } from '../../src/report/index.js';
import { DirectoryStore } from '../../src/sink/index.js';
import { runCli } from '../support/cli.js';
import { activityJson, eventOf, kinesisRecord } from '../support/kinesis-events.js';
import { useTempDir } from '../support/temp.js';

// An object no reader can read (written by an older version, or by hand) stops the readers that
// meet it; each says which object it is and how to set it aside, and once it is set aside they read
// the rest. Compaction also refuses a gzip file cut short, which DuckDB would read as fewer lines
// without a word, before deleting it.

const tempDir = useTempDir();
const HOUR = 'events/dt=2026-11-25/hour=10';
const TIME = '2026-11-25T10:00:00.000Z';
const line = (fields: Record<string, unknown>) =>
  JSON.stringify({
    event_id: 'old-1',
    user_id: 'u',
    event: 'click',
    timestamp: TIME,
    received_at: TIME,
    ...fields,
  });

const DAMAGED: Record<string, { key: string; body: Buffer; query: boolean }> = {
  'a gzip file with a lone surrogate': {
    key: `${HOUR}/old-lone-surrogate.ndjson.gz`,
    body: gzipSync(
      `${line({ user_id: 'ok' })}\n${line({ event_id: 'old-2' }).replace('"u"', '"\\ud83d"')}\n`,
    ),
    query: true,
  },
  'a .parquet file that is not Parquet': {
    key: `${HOUR}/hand-made.parquet`,
    body: Buffer.from('PAR1 these are not the bytes of a Parquet file'),
    query: true,
  },
  // DuckDB reads it as no lines at all, without a word: only compaction, which would delete it, checks.
  'a gzip file cut short': {
    key: `${HOUR}/cut-short.ndjson.gz`,
    body: gzipSync(`${line({})}\n`.repeat(200)).subarray(0, 30),
    query: false,
  },
};

/** A sink with two events landed by the handler and one damaged object beside them. */
async function damagedSink(key: string, body: Buffer): Promise<string> {
  const sink = path.join(await tempDir(), 'sink');
  const store = new DirectoryStore(sink);
  await store.connect();
  const handler = createHandler({ store, warn: () => undefined });
  const response = await handler(
    eventOf([
      kinesisRecord(activityJson({ event_id: 'good-1', timestamp: TIME }), '1'),
      kinesisRecord(activityJson({ event_id: 'good-2', timestamp: TIME }), '2'),
    ]),
  );
  expect(response.batchItemFailures).toEqual([]);
  await store.close();
  await mkdir(path.dirname(path.join(sink, key)), { recursive: true });
  await writeFile(path.join(sink, key), body);
  return sink;
}

async function failure(run: () => Promise<unknown>): Promise<PipelineError> {
  const error = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof PipelineError)) throw new Error(`expected a PipelineError, got ${String(error)}`);
  return error;
}

async function count(sink: string): Promise<number> {
  const data = await LandedData.open({ kind: 'directory', path: sink }, { threads: 1 });
  try {
    const result = await data.query('SELECT count(*) FROM events');
    return Number(String(result.rows[0]?.[0]));
  } finally {
    await data.close();
  }
}

describe('an object no reader can read', () => {
  for (const [kind, { key, body, query }] of Object.entries(DAMAGED)) {
    it(`${kind}: named, with what to do, by every reader that meets it; set aside, the rest reads`, async () => {
      // Prepare
      const sink = await damagedSink(key, body);
      const location = { kind: 'directory' as const, path: sink };
      const name = path.basename(key);
      const hint = `rename it to _${name} in its folder: readers skip names that begin with "_"`;

      // Act and assess: compaction refuses the hour, and deletes nothing.
      const compacting = await failure(() =>
        compact(location, { before: new Date('2026-12-01'), threads: 1 }),
      );
      expect(compacting.code).toBe('unreadable_object');
      expect(compacting.message).toContain(`file://${sink}/${key}`);
      expect(compacting.message).toContain(hint);
      expect(compacting.message).toContain('nothing was changed in this hour');
      expect((await readdir(path.join(sink, HOUR))).sort()).toHaveLength(2);

      if (query) {
        // `activity query` says which object it was.
        const cli = await runCli(['query', '--sink', sink, 'SELECT count(*) FROM events']);
        expect(cli.code, cli.stderr).not.toBe(0);
        expect(cli.stderr).toContain(`file://${sink}/${key}`);
        expect(cli.stderr).toContain(hint);
        const reporting = await failure(() => collectReport(location, { threads: 1 }));
        expect(reporting.code).toBe('unreadable_object');
        expect(reporting.message).toContain(`file://${sink}/${key}`);
      }

      // Set aside as the message says, every reader reads the rest.
      await rename(path.join(sink, key), path.join(sink, HOUR, `_${name}`));
      expect(await count(sink)).toBe(2);
      expect((await collectReport(location, { threads: 1 })).events).toBe(2);
      const compacted = await compact(location, { before: new Date('2026-12-01'), threads: 1 });
      expect(compacted.hours.map((h) => h.events)).toEqual([2]);
    });
  }

  it('in errors/: named by the errors view and the report', async () => {
    const key = 'errors/dt=2026-11-25/hour=10/old.ndjson.gz';
    const sink = await damagedSink(
      key,
      gzipSync('{"reason":"invalid_json","message":"\\udc00 half a pair"}\n'),
    );
    const data = await LandedData.open({ kind: 'directory', path: sink }, { threads: 1 });
    try {
      const error = await failure(() => data.query('SELECT count(*) FROM errors'));
      expect(error.code).toBe('unreadable_object');
      expect(error.message).toContain(`file://${sink}/${key}`);
      expect(error.message).toContain('move that object aside (out of errors/');
    } finally {
      await data.close();
    }
    const reporting = await failure(() => collectReport({ kind: 'directory', path: sink }, { threads: 1 }));
    expect(reporting.message).toContain(`file://${sink}/${key}`);
  });
});
