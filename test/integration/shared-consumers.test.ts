import path from 'node:path';
import { CreateStreamCommand } from '@aws-sdk/client-kinesis';
import { describe, expect, it } from 'vitest';
import { type CliResult, jsonSummary, runCli, startCli } from '../support/cli.js';
import { useKinesalite } from '../support/kinesalite.js';
import { readLanded } from '../support/landed.js';
import { useTempDir } from '../support/temp.js';
import { waitFor } from '../support/wait.js';

const tempDir = useTempDir();
const kinesis = useKinesalite();

const EVENTS = 12_000;
const SHARDS = 4;
/** Short leases, so the killed consumer's shards move within a couple of seconds. */
const LEASE_MS = 1_500;

interface Setup {
  stream: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

async function embedded(): Promise<Setup> {
  const dir = await tempDir();
  const stream = path.join(dir, 'stream');
  const created = await runCli(['stream', 'create', '--stream', stream, '--shards', String(SHARDS)]);
  expect(created.code, created.stderr).toBe(0);
  return { stream, env: {}, cwd: dir };
}

async function onKinesalite(): Promise<Setup> {
  const name = `shared-${Math.random().toString(36).slice(2, 8)}`;
  await kinesis.client().send(new CreateStreamCommand({ StreamName: name, ShardCount: SHARDS }));
  const env = {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'dummy-secret-for-tests',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_KINESIS: kinesis.endpoint,
  };
  return { stream: `kinesis://${name}`, env, cwd: await tempDir() };
}

/** The owners holding a live lease on some shard, from `activity stream describe --json`. */
async function liveOwners(setup: Setup): Promise<Set<string>> {
  const described = await runCli(['stream', 'describe', '--stream', setup.stream, '--json'], setup);
  expect(described.code, described.stderr).toBe(0);
  const { leases } = jsonSummary(described) as { leases: { owner?: string; expiresAt: number }[] };
  return new Set(
    leases.filter((l) => l.owner !== undefined && l.expiresAt > Date.now()).map((l) => l.owner as string),
  );
}

describe.each([
  ['the embedded log', embedded],
  ['Kinesis (kinesalite)', onKinesalite],
])('consumers of one name on %s', (_, prepare) => {
  it('split the shards, and when one is killed with SIGKILL the others land every event exactly once', async () => {
    // Prepare: three consumers of one name, with different batch sizes (so their objects would differ).
    const setup = await prepare();
    const sink = path.join(setup.cwd, 'sink');
    const consumer = (batchSize: number) =>
      startCli(
        [
          'consume',
          '--stream',
          setup.stream,
          '--sink',
          sink,
          '--batch-size',
          String(batchSize),
          '--batch-window',
          '200',
          '--lease-duration',
          String(LEASE_MS),
          '--json',
        ],
        setup,
      );
    const doomed = consumer(300);
    const survivors = [consumer(500), consumer(700)];
    let owners = new Set<string>();
    await waitFor(
      'three consumers each to hold a shard',
      async () => {
        owners = await liveOwners(setup);
        return owners.size === 3;
      },
      { intervalMs: 100, state: () => `${owners.size} owners` },
    );

    // Act: produce while they run; kill one consumer in the middle of it.
    const produced = startCli(
      ['produce', '--stream', setup.stream, '--events', String(EVENTS), '--rate', '4000', '--json'],
      setup,
    );
    await waitFor('1,000 events to land', async () => (await readLanded(sink)).events.length > 1_000, {
      intervalMs: 100,
    });
    doomed.child.kill('SIGKILL');
    const killed = await doomed.done;
    const producedResult = await produced.done;
    expect(producedResult.code, producedResult.stderr).toBe(0);
    let distinct = 0;
    await waitFor(
      `all ${EVENTS} events to land (the killed consumer's shards taken over)`,
      async () => {
        distinct = new Set((await readLanded(sink)).events.map((e) => e.event_id)).size;
        return distinct >= EVENTS;
      },
      { intervalMs: 250, state: () => `${distinct} distinct events landed` },
    );
    for (const s of survivors) s.child.kill('SIGTERM');
    const results: CliResult[] = await Promise.all(survivors.map((s) => s.done));

    // Assess: every line a distinct event, each produced event once.
    expect(killed.signal).toBe('SIGKILL');
    for (const result of results) expect(result.code, result.stderr).toBe(0);
    expect(results.every((r) => (jsonSummary(r).landed as number) > 0)).toBe(true);
    const ids = (await readLanded(sink)).events.map((e) => e.event_id);
    expect(ids).toHaveLength(EVENTS);
    expect(new Set(ids).size).toBe(EVENTS);
  });
});
