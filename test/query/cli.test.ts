import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { useTempDir } from '../support/temp.js';
import { visibleFiles } from './helpers.js';

const tempDir = useTempDir();

async function queryJson(sink: string, sql: string): Promise<Record<string, unknown>[]> {
  const result = await runCli(['query', '--sink', sink, '--output', 'json', sql]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout);
}

describe('activity query, compact and report from the command line', () => {
  it('runs with --format parquet --summary, then queries, compacts and reports the sink', async () => {
    const dir = await tempDir();
    const sink = path.join(dir, 'sink');
    const run = await runCli([
      'run',
      '--events',
      '3000',
      '--users',
      '100',
      '--seed',
      'cli',
      '--format',
      'parquet',
      '--summary',
      '--stream',
      path.join(dir, 'stream'),
      '--sink',
      sink,
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('(events/dt=YYYY-MM-DD/hour=HH/*.parquet)');
    expect(run.stdout).toMatch(
      /What landed \(3,000 distinct events\):\n {2}events by type +top users +revenue from purchases\n {2}page_view +[\d,]+ +user_1 /,
    );
    expect(run.stdout).toContain(
      `npx activity query --sink ${sink} "SELECT event, count(*) AS events FROM events GROUP BY ALL`,
    );
    const files = await visibleFiles(path.join(sink, 'events'));
    expect(files.length).toBeGreaterThan(0);
    expect(files.every((f) => f.endsWith('.parquet'))).toBe(true);

    const counts = await queryJson(
      sink,
      'SELECT event, count(*) AS n FROM events GROUP BY 1 ORDER BY 2 DESC',
    );
    expect(counts.reduce((n, r) => n + Number(r.n), 0)).toBe(3000);

    const csv = await runCli([
      'query',
      '--sink',
      sink,
      '--output',
      'csv',
      "SELECT 'a,b' AS x, count(*) AS n FROM events",
    ]);
    expect(csv.stdout).toBe('x,n\r\n"a,b",3000\r\n');
    const table = await runCli(['query', '--sink', sink, 'SELECT count(*) AS n FROM events']);
    expect(table.stdout).toBe('    n\n─────\n3,000\n(1 row)\n');

    const compacted = await runCli(['compact', '--sink', sink, '--before', '2d', '--json']);
    expect(JSON.parse(compacted.stdout)).toMatchObject({ hours: 0, open_hours: 1 });
    const future = new Date(Date.now() + 3 * 3_600_000).toISOString();
    const done = await runCli(['compact', '--sink', sink, '--before', future]);
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toMatch(
      /^activity compact: compacted 1 hour: \d+ objects \(.*\) → 1 Parquet object \(.*\), 3,000 events; 0 already compacted/,
    );
    expect(
      await queryJson(sink, 'SELECT event, count(*) AS n FROM events GROUP BY 1 ORDER BY 2 DESC'),
    ).toEqual(counts);

    const out = path.join(dir, 'page.html');
    const report = await runCli(['report', '--sink', sink, '--out', out]);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toMatch(
      /^activity report: wrote .*page\.html \(3,000 events, [\d,]+ sessions, 0 errors from file:/,
    );
    expect(await readFile(out, 'utf8')).toMatch(/^<!doctype html>[\s\S]*<svg[\s\S]*<\/html>\n$/);
  });

  it('lands Parquet with consume --format parquet', async () => {
    const dir = await tempDir();
    const stream = path.join(dir, 'stream');
    const produced = await runCli(['produce', '--stream', stream, '--events', '400', '--seed', 'c']);
    expect(produced.code, produced.stderr).toBe(0);
    const consumed = await runCli([
      'consume',
      '--stream',
      stream,
      '--sink',
      path.join(dir, 'sink'),
      '--until-idle',
      '--format',
      'PARQUET',
    ]);
    expect(consumed.code, consumed.stderr).toBe(0);
    const files = await visibleFiles(path.join(dir, 'sink', 'events'));
    expect(files.length).toBeGreaterThan(0);
    expect(files.every((f) => f.endsWith('.parquet'))).toBe(true);
    expect(await queryJson(path.join(dir, 'sink'), 'SELECT count(*) AS n FROM events')).toEqual([{ n: 400 }]);
  });

  it('ends bad SQL and bad flags in one line and a non-zero exit code', async () => {
    const sink = await tempDir();
    const bad = await runCli(['query', '--sink', sink, 'SELEC 1']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(
      'activity: Parser Error: syntax error at or near "SELEC"; the views are events and errors: see activity query --help\n',
    );
    const output = await runCli(['query', '--output', 'xml', 'SELECT 1'], { cwd: sink });
    expect(output.code).toBe(2);
    expect(output.stderr).toBe('activity: --output must be table, json or csv (given "xml")\n');
    const format = await runCli(['consume', '--format', 'avro', '--until-idle'], { cwd: sink });
    expect(format.code).toBe(2);
    expect(format.stderr).toBe('activity: format must be ndjson or parquet (given "avro")\n');
    const before = await runCli(['compact', '--sink', sink, '--before', 'soon']);
    expect(before.code).toBe(2);
    expect(before.stderr).toMatch(/^activity: --before must be .*\(given "soon"\)\n$/);
  });
});
