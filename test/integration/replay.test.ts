import path from 'node:path';
import { CreateStreamCommand } from '@aws-sdk/client-kinesis';
import { describe, expect, it } from 'vitest';
import { jsonSummary, runCli } from '../support/cli.js';
import { useKinesalite } from '../support/kinesalite.js';
import { readLanded } from '../support/landed.js';
import { useTempDir } from '../support/temp.js';

const tempDir = useTempDir();
const kinesis = useKinesalite();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const streams = [
  { kind: 'the embedded log', url: () => './stream', prepare: async () => undefined },
  {
    kind: 'Kinesis',
    url: () => 'kinesis://replay',
    prepare: () => kinesis.client().send(new CreateStreamCommand({ StreamName: 'replay', ShardCount: 2 })),
  },
];

describe.each(streams)('consume --from TIME on $kind', ({ url, prepare }) => {
  it('replays from that time (AT_TIMESTAMP), whatever the checkpoints say', async () => {
    // Prepare: 400 events, consumed; a moment T; 300 more, consumed.
    await prepare();
    const cwd = await tempDir();
    const env = { AWS_ENDPOINT_URL_KINESIS: kinesis.endpoint };
    const cli = async (...args: string[]) => {
      const result = await runCli([...args, '--stream', url(), '--json'], { cwd, env });
      expect(result.code, result.stderr).toBe(0);
      return jsonSummary(result);
    };
    await cli('produce', '--events', '400', '--seed', 'before');
    await sleep(1_100);
    const from = new Date().toISOString();
    await sleep(1_100);
    await cli('produce', '--events', '300', '--seed', 'after');
    expect(await cli('consume', '--until-idle', '--sink', './data')).toMatchObject({ landed: 700 });

    // Act: replay from T into a fresh sink, then from an hour ago into another.
    const fromT = await cli('consume', '--until-idle', '--sink', './replay', '--from', from);
    const fromHourAgo = await cli('consume', '--until-idle', '--sink', './all', '--from', '1h');

    // Assess: exactly the events after T, then all of them, while the original checkpoints hold.
    expect(fromT).toMatchObject({ landed: 300 });
    const replayed = (await readLanded(path.join(cwd, 'replay'))).events.map((e) => e.event_id);
    const original = await readLanded(path.join(cwd, 'data'));
    const after = original.events.filter((e) => String(e.received_at) > from).map((e) => e.event_id);
    expect([...replayed].sort()).toEqual([...after].sort());
    expect(fromHourAgo).toMatchObject({ landed: 700 });
    expect(await cli('consume', '--until-idle', '--sink', './data')).toMatchObject({ landed: 0 });
  });
});

describe('consume --from', () => {
  it('refuses a time it cannot read, or one in the future, in one line', async () => {
    for (const bad of ['yesterday', '2999-01-01T00:00:00Z']) {
      const result = await runCli(['consume', '--from', bad], { cwd: await tempDir() });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('--from');
      expect(result.stderr).toContain(bad);
    }
  });
});
