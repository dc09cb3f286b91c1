import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonSummary, runCli } from '../support/cli.js';
import { readLanded } from '../support/landed.js';
import { useTempDir } from '../support/temp.js';

const tempDir = useTempDir();

describe('activity run', () => {
  it('lands all N events and ends with one JSON summary line', async () => {
    const dir = await tempDir();
    const sink = path.join(dir, 'sink');
    const result = await runCli([
      'run',
      '--events',
      '5000',
      '--users',
      '50',
      '--stream',
      path.join(dir, 's'),
      '--sink',
      sink,
      '--json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const summary = jsonSummary(result);
    expect(summary).toMatchObject({ produced: 5000, landed: 5000, errors: 0 });
    for (const key of ['objects', 'seconds', 'events_per_s']) expect(typeof summary[key]).toBe('number');
    const landed = await readLanded(sink);
    expect(landed.events).toHaveLength(5000);
    expect(landed.objects).toHaveLength(summary.objects as number);
    expect(new Set(landed.events.map((e) => e.user_id)).size).toBeLessThanOrEqual(50);
  });

  it('writes plain progress lines and a readable summary when not on a terminal', async () => {
    const dir = await tempDir();
    const result = await runCli([
      'run',
      '--events',
      '2000',
      '--stream',
      path.join(dir, 's'),
      '--sink',
      path.join(dir, 'sink'),
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/landed 2,000 events/);
    expect(result.stdout).toContain(path.join(dir, 'sink'));
  });
});

describe('activity produce --input', () => {
  it('sends valid lines, reports each bad line by number, and exits 1', async () => {
    const dir = await tempDir();
    const stream = path.join(dir, 's');
    const sink = path.join(dir, 'sink');
    const input = [
      '{"user_id":"user_1","event":"login","timestamp":1764099072}',
      '{"user_id":"user_1","event":"click"}',
      'not json',
      '',
      '{"user_id":"user_2","event":"purchase","timestamp":"2026-11-25T19:31:12Z","properties":{"amount":9.99}}',
    ].join('\n');
    const produced = await runCli(['produce', '--stream', stream, '--input', '-', '--json'], { input });
    expect(produced.code).toBe(1);
    expect(produced.stderr).toContain('line 2: missing_field: timestamp is required');
    expect(produced.stderr).toContain('line 3: invalid_json');
    expect(jsonSummary(produced)).toMatchObject({ accepted: 2, invalid: 2 });
    const consumed = await runCli(['consume', '--stream', stream, '--sink', sink, '--until-idle']);
    expect(consumed.code, consumed.stderr).toBe(0);
    const landed = await readLanded(sink);
    expect(landed.events.map((e) => e.event).sort()).toEqual(['login', 'purchase']);
    expect(landed.events.every((e) => typeof e.event_id === 'string' && e.event_id.length === 36)).toBe(true);
  });

  it('--raw sends bytes untouched, and the consumer lands the bad ones in errors/ with their bytes', async () => {
    const dir = await tempDir();
    const stream = path.join(dir, 's');
    const sink = path.join(dir, 'sink');
    const bad = Buffer.from([0x7b, 0xff, 0x7d]);
    const input = Buffer.concat([
      Buffer.from('{"user_id":"u","event":"e","timestamp":1764099072}\n'),
      bad,
      Buffer.from('\n'),
    ]);
    expect((await runCli(['produce', '--stream', stream, '--input', '-', '--raw'], { input })).code).toBe(0);
    expect((await runCli(['consume', '--stream', stream, '--sink', sink, '--until-idle'])).code).toBe(0);
    const landed = await readLanded(sink);
    expect(landed.events).toHaveLength(1);
    expect(landed.errors).toMatchObject([{ reason: 'invalid_utf8', data: bad.toString('base64') }]);
  });
});

describe('activity stream', () => {
  it('creates, describes and deletes the embedded log', async () => {
    const dir = await tempDir();
    const stream = path.join(dir, 's');
    const created = await runCli(['stream', 'create', '--stream', stream, '--shards', '4', '--json']);
    expect(created.code, created.stderr).toBe(0);
    expect(jsonSummary(created).shards).toHaveLength(4);
    const described = await runCli(['stream', 'describe', '--stream', stream]);
    expect(described.stdout).toContain('shardId-000000000003');
    expect((await runCli(['stream', 'delete', '--stream', stream])).code).toBe(0);
    const missing = await runCli(['stream', 'describe', '--stream', stream]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('bad flags and URLs', () => {
  it.each([
    [['run', '--events', '0'], 'events must be an integer between 1 and'],
    [['run', '--events', 'many'], '(given "many")'],
    [['consume', '--batch-size', '0'], 'batch size must be an integer between 1 and 10000 (given "0")'],
    [['consume', '--batch-window', '-1'], 'batch window must be an integer'],
    [['run', '--rate', '-5'], 'rate must be a number above 0'],
    [['run', '--stream', 'kafka://x'], 'unsupported stream URL "kafka://x"'],
    [['run', '--sink', 's3://Bad_Bucket/x'], 'S3 bucket name'],
    [['run', '--shards', '1000'], 'shards must be an integer between 1 and 256 (given "1000")'],
    [['produce', '--raw'], '--raw needs --input'],
  ])('activity %j fails in one line naming the bad value', async (args, message) => {
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr.trim().split('\n')[0]).toContain(message);
  });

  it('rejects an unknown flag', async () => {
    const result = await runCli(['run', '--bogus']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("unknown option '--bogus'");
  });
});
