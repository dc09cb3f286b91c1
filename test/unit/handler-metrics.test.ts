import { spawnSync } from 'node:child_process';
import { copyFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { emfLine, HANDLER_METRICS, metricsEnabled } from '../../src/consumer/index.js';
import { activityJson, eventOf, kinesisRecord } from '../support/kinesis-events.js';
import { LAMBDA_BUNDLE } from '../support/lambda-bundle.js';
import { useTempDir } from '../support/temp.js';

const tempDir = useTempDir();

/** The units a MetricDefinition may name (CloudWatch's StandardUnit). */
const UNITS = new Set([
  'Seconds',
  'Microseconds',
  'Milliseconds',
  'Bytes',
  'Kilobytes',
  'Megabytes',
  'Gigabytes',
  'Terabytes',
  'Bits',
  'Kilobits',
  'Megabits',
  'Gigabits',
  'Terabits',
  'Percent',
  'Count',
  'Bytes/Second',
  'Kilobytes/Second',
  'Megabytes/Second',
  'Gigabytes/Second',
  'Terabytes/Second',
  'Bits/Second',
  'Kilobits/Second',
  'Megabits/Second',
  'Gigabits/Second',
  'Terabits/Second',
  'Count/Second',
  'None',
]);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const only = (o: Record<string, unknown>, allowed: string[]) =>
  Object.keys(o).filter((k) => !allowed.includes(k));
const isName = (v: unknown) =>
  typeof v === 'string' && v.length >= 1 && v.length <= 255 && /^[\x21-\x7e]+$/.test(v);

/**
 * Every rule of the Embedded Metric Format specification a document can break, as messages: the root
 * is one JSON object; `_aws` holds a numeric `Timestamp` and `CloudWatchMetrics`, and nothing else;
 * each MetricDirective holds `Namespace`, `Dimensions` (sets of at most 30 names) and `Metrics` (at most
 * 100 definitions of `Name`, optional `Unit` and `StorageResolution`), and nothing else; every dimension
 * names a root member holding a string, every metric one holding a number or at most 100 numbers.
 */
function emfProblems(line: string): string[] {
  const problems: string[] = [];
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch {
    return ['not JSON'];
  }
  if (!isObject(doc)) return ['the root is not an object'];
  const aws = doc._aws;
  if (!isObject(aws)) return ['_aws is missing or not an object'];
  if (only(aws, ['Timestamp', 'CloudWatchMetrics']).length > 0) problems.push('_aws has other members');
  if (typeof aws.Timestamp !== 'number' || !Number.isInteger(aws.Timestamp))
    problems.push('Timestamp is not a number');
  if (!Array.isArray(aws.CloudWatchMetrics)) return [...problems, 'CloudWatchMetrics is not an array'];
  for (const directive of aws.CloudWatchMetrics as unknown[]) {
    if (!isObject(directive)) {
      problems.push('a MetricDirective is not an object');
      continue;
    }
    if (only(directive, ['Namespace', 'Dimensions', 'Metrics']).length > 0)
      problems.push('a MetricDirective has other members');
    if (
      typeof directive.Namespace !== 'string' ||
      directive.Namespace.length === 0 ||
      directive.Namespace.length > 255
    )
      problems.push('Namespace is not a string of 1 to 255 characters');
    if (!Array.isArray(directive.Dimensions)) problems.push('Dimensions is not an array');
    for (const set of (directive.Dimensions ?? []) as unknown[]) {
      if (!Array.isArray(set) || set.length > 30)
        problems.push('a DimensionSet is not an array of at most 30');
      for (const name of (set ?? []) as unknown[]) {
        if (!isName(name)) problems.push(`dimension ${String(name)} is not a name`);
        else if (typeof doc[name as string] !== 'string' || (doc[name as string] as string).length === 0)
          problems.push(`dimension ${name} has no string member`);
      }
    }
    if (!Array.isArray(directive.Metrics) || directive.Metrics.length > 100)
      problems.push('Metrics is not an array of at most 100');
    for (const metric of (directive.Metrics ?? []) as unknown[]) {
      if (!isObject(metric)) {
        problems.push('a MetricDefinition is not an object');
        continue;
      }
      if (only(metric, ['Name', 'Unit', 'StorageResolution']).length > 0)
        problems.push('a MetricDefinition has other members');
      if (!isName(metric.Name)) problems.push(`metric ${String(metric.Name)} is not a name`);
      if (metric.Unit !== undefined && !UNITS.has(String(metric.Unit)))
        problems.push(`unit ${String(metric.Unit)} is unknown`);
      if (metric.StorageResolution !== undefined && ![1, 60].includes(metric.StorageResolution as number))
        problems.push('StorageResolution is not 1 or 60');
      const value = doc[metric.Name as string];
      const numbers = Array.isArray(value) ? value : [value];
      if (numbers.length > 100 || !numbers.every((n) => typeof n === 'number' && Number.isFinite(n)))
        problems.push(`metric ${String(metric.Name)} has no number member`);
    }
  }
  return problems;
}

const ARRIVAL = Date.parse('2026-11-25T19:31:12.041Z');

/** Three valid events, one broken record and one without its event name. */
function batch() {
  return eventOf([
    kinesisRecord(activityJson({ user_id: 'user_1' }), '1', { arrivalMs: ARRIVAL }),
    kinesisRecord(activityJson({ user_id: 'user_2' }), '2', { arrivalMs: ARRIVAL + 10 }),
    kinesisRecord(activityJson({ user_id: 'user_3' }), '3', { arrivalMs: ARRIVAL + 20 }),
    kinesisRecord('{broken', '4', { arrivalMs: ARRIVAL + 30 }),
    kinesisRecord(JSON.stringify({ user_id: 'user_4', timestamp: '2026-11-25T19:31:12.000Z' }), '5', {
      arrivalMs: ARRIVAL + 40,
    }),
  ]);
}

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  vi.resetModules();
});

describe('the handler as CloudWatch Embedded Metric Format', () => {
  it('writes one valid EMF line per invocation on Lambda, with events, errors by reason, objects, bytes and batch age', async () => {
    // Prepare: the Lambda entry point as deployed, its environment as Lambda sets it.
    const sink = await tempDir();
    vi.stubEnv('SINK_URL', sink);
    vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', 'activity-consumer');
    vi.stubEnv('EMF_METRICS', '');
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    const { handler } = await import('../../src/consumer/lambda.js');

    // Act: two invocations.
    const before = Date.now();
    await handler(batch());
    await handler(eventOf([kinesisRecord(activityJson(), '6', { arrivalMs: Date.now() - 5_000 })]));
    vi.mocked(process.stdout.write).mockRestore();

    // Assess: one line each, valid by the spec, with the figures of its batch.
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line.endsWith('\n')).toBe(true);
      expect(line.trim().includes('\n')).toBe(false);
      expect(emfProblems(line.trim())).toEqual([]);
    }
    const first = JSON.parse(lines[0] as string);
    expect(first).toMatchObject({
      FunctionName: 'activity-consumer',
      Records: 5,
      EventsLanded: 3,
      Errors: 2,
      Errors_invalid_json: 1,
      Errors_missing_field: 1,
      Objects: 2,
      FailedBatches: 0,
      Forgotten: 0,
    });
    expect(first.Bytes).toBeGreaterThan(100);
    expect(first.BatchAge).toBeGreaterThanOrEqual(before - ARRIVAL);
    expect(first._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: 'ActivityPipeline',
      Dimensions: [['FunctionName']],
    });
    const names = first._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string }) => m.Name);
    expect(names).toEqual([...Object.keys(HANDLER_METRICS), 'Errors_invalid_json', 'Errors_missing_field']);
    const second = JSON.parse(lines[1] as string);
    expect(second).toMatchObject({ Records: 1, EventsLanded: 1, Errors: 0 });
    expect(second.BatchAge).toBeGreaterThanOrEqual(5_000);
    expect(second.Errors_invalid_json).toBeUndefined();
  });

  it('reports a failed batch as FailedBatches with nothing landed', () => {
    const line = emfLine({ event: batch(), stats: undefined, now: ARRIVAL + 1_000 }, { functionName: 'f' });
    expect(emfProblems(line)).toEqual([]);
    expect(JSON.parse(line)).toMatchObject({
      FailedBatches: 1,
      EventsLanded: 0,
      BatchAge: 1_000,
      Records: 5,
    });
  });

  it('is written only on Lambda or when asked, and can be turned off', () => {
    expect(metricsEnabled({})).toBe(false);
    expect(metricsEnabled({ AWS_LAMBDA_FUNCTION_NAME: 'f' })).toBe(true);
    expect(metricsEnabled({ EMF_METRICS: '1' })).toBe(true);
    expect(metricsEnabled({ AWS_LAMBDA_FUNCTION_NAME: 'f', EMF_METRICS: 'off' })).toBe(false);
  });

  it('the spec check catches what breaks the spec', () => {
    const good = JSON.parse(emfLine({ event: batch(), stats: undefined, now: ARRIVAL }));
    const broken = (change: (doc: typeof good) => void) => {
      const doc = structuredClone(good);
      change(doc);
      return emfProblems(JSON.stringify(doc));
    };
    expect(broken((d) => delete d._aws.Timestamp)).not.toEqual([]);
    expect(broken((d) => delete d.FunctionName)).not.toEqual([]);
    expect(broken((d) => (d.Records = 'five'))).not.toEqual([]);
    expect(broken((d) => (d._aws.CloudWatchMetrics[0].Metrics[0].Unit = 'Things'))).not.toEqual([]);
    expect(broken((d) => (d._aws.Extra = 1))).not.toEqual([]);
  });

  it('the deployed bundle writes the line too', async () => {
    const folder = await tempDir();
    await copyFile(LAMBDA_BUNDLE, path.join(folder, 'index.mjs'));
    await writeFile(path.join(folder, 'event.json'), JSON.stringify(batch()));
    const script = `const { handler } = await import('./index.mjs');
      const { readFileSync } = await import('node:fs');
      await handler(JSON.parse(readFileSync('event.json', 'utf8')));`;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: folder,
      env: {
        PATH: process.env.PATH ?? '',
        SINK_URL: path.join(folder, 'sink'),
        AWS_LAMBDA_FUNCTION_NAME: 'bundle',
      },
      encoding: 'utf8',
    });
    expect(result.status, result.stderr).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(emfProblems(lines[0] as string)).toEqual([]);
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      FunctionName: 'bundle',
      EventsLanded: 3,
      Errors: 2,
    });
  });
});
