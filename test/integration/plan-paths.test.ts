import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCollector } from '../../src/collector/index.js';
import { TrackingPlan } from '../../src/plan/index.js';
import { openLocalStream } from '../../src/stream/index.js';
import { useCollectors } from '../collector/collect-cli.js';
import { runCli } from '../support/cli.js';
import { readLanded } from '../support/landed.js';
import { readLog, textOf } from '../support/stream-records.js';
import { useTempDir } from '../support/temp.js';
import { caseLines, expectOutcome, PLAN, POLICY_CASES, type PolicyCase } from '../unit/plan-policy-cases.js';

/**
 * Every policy value on every path that checks the plan besides the handler (whose own tests, and the
 * Lambda bundle's, run the same cases): the collector, `activity produce --input` and `activity
 * consume`. Each path gets the same batch and must let through, change and refuse the same events.
 */

const tempDir = useTempDir();
const { inProcess: running } = useCollectors();

/** A folder with the case's plan (`file`), its batch as NDJSON lines (`input`), and a `stream` path. */
async function prepare(c: PolicyCase): Promise<{ dir: string; file: string; input: string; stream: string }> {
  const dir = await tempDir();
  const file = path.join(dir, 'plan.json');
  await writeFile(file, JSON.stringify({ ...PLAN, policies: c.policies }));
  const input = path.join(dir, 'events.ndjson');
  await writeFile(input, caseLines(c).join('\n'));
  return { dir, file, input, stream: path.join(dir, 'stream') };
}

async function onStream(streamPath: string): Promise<Record<string, unknown>[]> {
  return (await readLog(streamPath)).map((r) => JSON.parse(textOf(r)) as Record<string, unknown>);
}

describe('the tracking plan on every path, one case per policy value', () => {
  describe('the collector (POST /v1/events)', () => {
    it.each(POLICY_CASES)('$name', async (c) => {
      // Prepare
      const streamPath = path.join(await tempDir(), 'stream');
      const stream = openLocalStream(streamPath);
      await stream.connect();
      const trackingPlan = TrackingPlan.fromPlan({ ...PLAN, policies: c.policies }, 'plan.json');
      const collector = await createCollector({ warn: () => undefined, stream, trackingPlan });
      running.push(collector);
      const base = await collector.listen({ port: 0 });
      // Act
      const response = await fetch(`${base}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: `[${caseLines(c).join(',')}]`,
      });
      const answer = (await response.json()) as { rejected: { code: string; message: string }[] };
      // Assess
      expectOutcome(
        c,
        await onStream(streamPath),
        answer.rejected.map((r) => ({ reason: r.code, message: r.message })),
      );
    });
  });

  describe('activity produce --input --tracking-plan', () => {
    it.each(POLICY_CASES)('$name', async (c) => {
      // Prepare
      const { file, input, stream } = await prepare(c);
      // Act
      const result = await runCli(['produce', '--stream', stream, '--input', input, '--tracking-plan', file]);
      // Assess
      const refused = [...result.stderr.matchAll(/^activity: line \d+: (\w+): (.*)$/gm)].map((m) => ({
        reason: m[1],
        message: m[2],
      }));
      expect(result.code, result.stderr).toBe(c.errors.length > 0 ? 1 : 0);
      expectOutcome(c, await onStream(stream), refused);
    });
  });

  describe('activity consume --tracking-plan, of records sent untouched', () => {
    it.each(POLICY_CASES)('$name', async (c) => {
      // Prepare
      const { dir, file, input, stream } = await prepare(c);
      const sink = path.join(dir, 'sink');
      const produced = await runCli(['produce', '--stream', stream, '--input', input, '--raw']);
      expect(produced.code, produced.stderr).toBe(0);
      // Act
      const consumed = await runCli([
        'consume',
        ...['--stream', stream, '--sink', sink, '--until-idle', '--tracking-plan', file],
      ]);
      // Assess
      expect(consumed.code, consumed.stderr).toBe(0);
      const landed = await readLanded(sink);
      expectOutcome(c, landed.events, landed.errors);
    });
  });
});
