import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { jsonSummary, runCli } from '../support/cli.js';
import { readLanded } from '../support/landed.js';
import { useTempDir } from '../support/temp.js';

const tempDir = useTempDir();

const GOOD = '{"user_id":"u_ok","event":"login","timestamp":1764099072}';
const MISSING = '{"user_id":"u_missing","event":"click"}';
const NOT_JSON = 'not json at all';
const NOT_OBJECT = '[1,2,3]';

async function pipeline() {
  const dir = await tempDir();
  const stream = path.join(dir, 'stream');
  const sink = path.join(dir, 'sink');
  const input = path.join(dir, 'input.ndjson');
  await writeFile(input, `${[GOOD, MISSING, NOT_JSON, NOT_OBJECT].join('\n')}\n`);
  const cli = (args: string[]) => runCli([...args, '--stream', stream, '--sink', sink]);
  const consume = async () => {
    const result = await runCli(['consume', '--stream', stream, '--sink', sink, '--until-idle']);
    expect(result.code, result.stderr).toBe(0);
  };
  return { dir, stream, sink, input, cli, consume };
}

function dataOf(line: Record<string, unknown>): string {
  return Buffer.from(line.data as string, 'base64').toString('utf8');
}

describe('activity redrive', () => {
  it('sends the selected errors back, they land again, and a second redrive sends nothing', async () => {
    const p = await pipeline();
    const produced = await runCli(['produce', '--stream', p.stream, '--input', p.input, '--raw']);
    expect(produced.code, produced.stderr).toBe(0);
    await p.consume();
    const before = await readLanded(p.sink);
    expect(before.events).toHaveLength(1);
    expect(before.errors.map((e) => e.reason).sort()).toEqual([
      'invalid_json',
      'missing_field',
      'not_an_object',
    ]);

    const first = await p.cli(['redrive', '--reason', 'missing_field', '--json']);

    expect(first.code, first.stderr).toBe(0);
    expect(jsonSummary(first)).toMatchObject({
      dry_run: false,
      sent: 1,
      by_reason: { missing_field: 1 },
      objects: 1,
      skipped: 0,
      rejected: 0,
      manifests: 1,
      reasons: ['missing_field'],
      stream: pathToFileURL(p.stream).href,
    });
    await p.consume();
    const after = await readLanded(p.sink);
    // Still bad, so back in errors/ with the same bytes and key from a new stream position: the round trip.
    const missing = after.errors.filter((e) => e.reason === 'missing_field');
    expect(missing).toHaveLength(2);
    expect(missing.map(dataOf)).toEqual([MISSING, MISSING]);
    expect(missing.map((e) => e.partition_key)).toEqual(['u_missing', 'u_missing']);
    expect(new Set(missing.map((e) => `${e.shard_id}/${e.sequence_number}`)).size).toBe(2);
    expect(after.events).toHaveLength(1);
    expect(after.errors).toHaveLength(4);
    expect(after.files.some((f) => f.startsWith(`_redrive${path.sep}`))).toBe(true);

    const second = await p.cli(['redrive', '--reason', 'missing_field', '--json']);

    expect(second.code, second.stderr).toBe(0);
    expect(jsonSummary(second)).toMatchObject({ sent: 0, skipped: 2, relanded: 1, manifests: 0 });
  });

  it('sends other reasons later, only once, and says so in one line', async () => {
    const p = await pipeline();
    // One shard: every bad record of the file lands in one errors/ object.
    const produce = ['produce', '--stream', p.stream, '--shards', '1', '--input', p.input, '--raw'];
    expect((await runCli(produce)).code).toBe(0);
    await p.consume();
    expect((await p.cli(['redrive', '--reason', 'missing_field'])).code).toBe(0);

    const dry = await p.cli(['redrive', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(
      `activity redrive: would send 2 records (invalid_json: 1, not_an_object: 1) from 1 error object to ${pathToFileURL(p.stream).href}; skipped 1 already re-driven`,
    );

    const rest = await p.cli([
      'redrive',
      '--reason',
      'invalid_json,not_an_object',
      '--reason',
      'missing_field',
    ]);
    expect(rest.code, rest.stderr).toBe(0);
    expect(rest.stdout).toContain(
      `activity redrive: sent 2 records (invalid_json: 1, not_an_object: 1) from 1 error object to ${pathToFileURL(p.stream).href}; skipped 1 already re-driven`,
    );
    await p.consume();
    const landed = await readLanded(p.sink);
    // Each bad record twice: as first landed, and back again from where redrive put it.
    const twice = [MISSING, MISSING, NOT_OBJECT, NOT_OBJECT, NOT_JSON, NOT_JSON];
    expect(landed.errors.map(dataOf).sort()).toEqual(twice.sort());

    const again = await p.cli(['redrive']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(
      /^activity redrive: sent 0 records from 0 error objects to .*; skipped 6 already re-driven \(3 of them back in errors\/ after an earlier redrive\)$/m,
    );
  });

  it('reports a record the stream refuses and exits 1; the next run tries it again', async () => {
    const p = await pipeline();
    // An errors/ object from elsewhere whose partition key is over Kinesis' 256 characters.
    const line = (key: string, seq: string) =>
      JSON.stringify({
        reason: 'invalid_json',
        message: 'x',
        shard_id: 'shardId-000000000000',
        sequence_number: seq,
        partition_key: key,
        approximate_arrival_timestamp: '2026-11-25T19:31:12.041Z',
        event_source_arn: 'arn:aws:kinesis:us-east-1:123456789012:stream/elsewhere',
        data: Buffer.from('{oops').toString('base64'),
      });
    const dir = path.join(p.sink, 'errors', 'dt=2026-11-25', 'hour=19');
    await mkdir(dir, { recursive: true });
    const body = gzipSync(`${line('k'.repeat(300), '7')}\n${line('ok_key', '8')}\n`);
    await writeFile(path.join(dir, 'shardId-000000000000-7.ndjson.gz'), body);

    const first = await p.cli(['redrive']);

    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(
      /activity: not sent: errors\/dt=2026-11-25\/hour=19\/shardId-000000000000-7\.ndjson\.gz line 1 \(invalid_json\): partition key must be 1 to 256 characters/,
    );
    expect(first.stdout).toMatch(
      /sent 1 record \(invalid_json: 1\) from 1 error object .*; 1 refused by the stream$/m,
    );

    const second = await p.cli(['redrive', '--json']);
    expect(second.code).toBe(1);
    expect(jsonSummary(second)).toMatchObject({ sent: 0, skipped: 1, rejected: 1 });
  });

  it('refuses an unknown reason with exit code 2, naming the valid ones', async () => {
    const p = await pipeline();

    const result = await p.cli(['redrive', '--reason', 'missing_field,typo']);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^activity: unknown reason "typo": use one or more of .*missing_field.*handler_failed/,
    );
    expect(existsSync(p.stream)).toBe(false);
  });

  it('a dry run on a fresh location writes nothing, not even the stream or the sink', async () => {
    const p = await pipeline();

    const result = await p.cli(['redrive', '--dry-run', '--json']);

    expect(result.code, result.stderr).toBe(0);
    expect(jsonSummary(result)).toMatchObject({ dry_run: true, sent: 0, error_objects: 0 });
    expect(existsSync(p.stream)).toBe(false);
    expect(existsSync(p.sink)).toBe(false);
  });
});
