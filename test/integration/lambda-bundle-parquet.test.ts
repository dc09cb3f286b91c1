import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { activityJson, eventOf, kinesisRecord } from '../support/kinesis-events.js';
import { invokeBundleAlone, LAMBDA_RUNTIMES } from '../support/lambda-bundle.js';
import { readParquetRows } from '../support/parquet.js';
import { useTempDir } from '../support/temp.js';

const tempDir = useTempDir();

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}

for (const { label, node } of LAMBDA_RUNTIMES) {
  describe(`the Lambda bundle with FORMAT=parquet on ${label}`, () => {
    async function invokeAlone(event: unknown, env: Record<string, string>) {
      return invokeBundleAlone(await tempDir(), event, env, node);
    }

    it('lands events as Parquet, with the Parquet writer inside the one file, and errors as NDJSON gzip', async () => {
      const sink = path.join(await tempDir(), 'sink');
      const event = eventOf([
        kinesisRecord(activityJson({ event_id: 'a', properties: { amount: 9.99 } }), '1'),
        kinesisRecord('{broken', '2'),
        kinesisRecord(activityJson({ event_id: 'b' }), '3'),
      ]);
      const result = await invokeAlone(event, { SINK_URL: sink, FORMAT: 'parquet' });
      expect(result.status, result.stderr).toBe(0);
      expect(result.output).toEqual({ batchItemFailures: [] });
      expect(await filesUnder(sink)).toEqual([
        'errors/dt=2026-11-25/hour=19/shardId-000000000000-2.ndjson.gz',
        'events/dt=2026-11-25/hour=19/shardId-000000000000-1.parquet',
      ]);
      const bytes = await readFile(
        path.join(sink, 'events/dt=2026-11-25/hour=19/shardId-000000000000-1.parquet'),
      );
      const rows = await readParquetRows(bytes);
      expect(rows.map((r) => [r.event_id, r.properties])).toEqual([
        ['a', { amount: 9.99 }],
        ['b', null],
      ]);
    });

    it('fails the invocation with a clear message for an unknown FORMAT, so nothing lands in the wrong form', async () => {
      const sink = path.join(await tempDir(), 'sink');
      const result = await invokeAlone(eventOf([kinesisRecord(activityJson(), '1')]), {
        SINK_URL: sink,
        FORMAT: 'orc',
      });
      expect(result.output).toEqual({ thrown: 'FORMAT must be ndjson or parquet (given "orc")' });
    });
  });
}
