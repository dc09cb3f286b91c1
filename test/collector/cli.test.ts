import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { readLanded } from '../support/landed.js';
import { useTempDir } from '../support/temp.js';
import { type RunningCollector, startCollect } from './collect-cli.js';

const tempDir = useTempDir();
const started: RunningCollector[] = [];
afterEach(async () => {
  for (const collector of started.splice(0)) {
    if (collector.child.exitCode === null) await collector.stop();
  }
});

describe('activity collect', () => {
  it('prints its URLs, takes the write key from ACTIVITY_WRITE_KEY, and on SIGTERM puts everything accepted on the stream and exits 0', async () => {
    const dir = await tempDir();
    const stream = path.join(dir, 'stream');
    const collector = await startCollect(['--stream', stream], { env: { ACTIVITY_WRITE_KEY: 'k-123' } });
    started.push(collector);
    const { base } = collector;
    const body = JSON.stringify(
      Array.from({ length: 50 }, (_, i) => ({
        user_id: `user_${i % 5}`,
        event: 'click',
        timestamp: new Date().toISOString(),
        properties: { n: i },
      })),
    );
    const post = (headers: Record<string, string>) =>
      fetch(`${base}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'cli-test', ...headers },
        body,
      });
    expect((await post({})).status).toBe(401);
    const answer = await post({ authorization: 'Bearer k-123' });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ accepted: 50, rejected: [] });

    const result = await collector.stop();
    expect(result.code, result.stderr).toBe(0);
    for (const route of ['/v1/events', '/tracker.js', '/demo', '/dashboard', '/metrics']) {
      expect(result.stdout).toContain(`${base}${route}`);
    }
    expect(result.stdout).toContain('(write key required)');
    expect(result.stdout).toMatch(/accepted 50 events, rejected 0/);

    const sink = path.join(dir, 'sink');
    const consumed = await runCli(['consume', '--stream', stream, '--sink', sink, '--until-idle']);
    expect(consumed.code, consumed.stderr).toBe(0);
    const { events, errors } = await readLanded(sink);
    expect(errors).toEqual([]);
    expect(events.map((e) => (e.properties as { n: number }).n).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, i) => i),
    );
    // received_at is the collector's, not the consumer's: every event of the request shares it.
    expect(new Set(events.map((e) => e.received_at)).size).toBe(1);
    expect(events.every((e) => (e.context as { user_agent: string }).user_agent === 'cli-test')).toBe(true);
  });

  it('refuses bad flags with one line and exit code 2', async () => {
    const dir = await tempDir();
    const cases: [string[], string][] = [
      [['--port', '70000'], 'port must be an integer between 0 and 65535 (given "70000")'],
      [['--cors-origin', 'shop.example'], '--cors-origin must be an origin such as'],
      [['--max-body', '10'], 'max body must be an integer between 1024'],
      [['--segment-max-batch', '10'], 'segment max batch must be an integer between 1024'],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(['collect', '--stream', path.join(dir, 's'), ...args]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toContain(message);
    }
  });

  it('says which port is taken when it cannot listen', async () => {
    const dir = await tempDir();
    const first = await startCollect(['--stream', path.join(dir, 'a')]);
    started.push(first);
    const port = new URL(first.base).port;
    const second = await runCli(['collect', '--stream', path.join(dir, 'b'), '--port', port]);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`cannot listen on 127.0.0.1:${port} (EADDRINUSE): choose another --port`);
  });
});
