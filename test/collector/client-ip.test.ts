import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { anonymizeIp, createCollector } from '../../src/collector/index.js';
import { openLocalStream } from '../../src/stream/index.js';
import { runCli } from '../support/cli.js';
import { readLog, textOf } from '../support/stream-records.js';
import { useTempDir } from '../support/temp.js';
import { startCollect, useCollectors } from './collect-cli.js';

const tempDir = useTempDir();
const { inProcess: running, cli: started } = useCollectors();

/** Client addresses as a proxy in front of the collector reports them, and what is kept of each. */
const CLIENTS = [
  ['203.0.113.57', '203.0.113.0'],
  ['2001:db8:85a3:8d3:1319:8a2e:370:7348', '2001:db8:85a3::'],
  ['::ffff:198.51.100.23', '198.51.100.0'],
] as const;

describe('anonymizeIp', () => {
  it('keeps IPv4 to /24 and IPv6 to /48, an IPv4-mapped address as its IPv4 /24', () => {
    for (const [ip, kept] of CLIENTS) expect(anonymizeIp(ip)).toBe(kept);
    expect(anonymizeIp('2001:DB8:0:0:1::1')).toBe('2001:db8::');
    expect(anonymizeIp('::ffff:c633:6417')).toBe('198.51.100.0');
    expect(anonymizeIp('fe80::1ff:fe23:4567:890a%eth0')).toBe('fe80::');
    expect(anonymizeIp('not an address')).toBeUndefined();
  });
});

/** A request on each route, from `ip` as X-Forwarded-For says. */
function requests(ip: string): [string, RequestInit][] {
  const headers = { 'content-type': 'application/json', 'x-forwarded-for': ip };
  const now = new Date().toISOString();
  const payload = {
    schema: 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4',
    data: [{ e: 'pv', uid: 'u-tp2', eid: `tp2-${ip}`, dtm: String(Date.now()) }],
  };
  return [
    [
      '/v1/events',
      { method: 'POST', headers, body: JSON.stringify({ user_id: 'u-ours', event: 'e', timestamp: now }) },
    ],
    [
      '/v1/track',
      { method: 'POST', headers, body: JSON.stringify({ userId: 'u-segment', event: 'e', timestamp: now }) },
    ],
    ['/com.snowplowanalytics.snowplow/tp2', { method: 'POST', headers, body: JSON.stringify(payload) }],
    [`/i?e=pv&uid=u-get&eid=get-${encodeURIComponent(ip)}`, { headers }],
  ];
}

describe('--client-ip with --ip-anonymize', () => {
  it('records only the network of IPv4, IPv6 and IPv4-mapped clients, on every route', async () => {
    const streamPath = path.join(await tempDir(), 'stream');
    const stream = openLocalStream(streamPath);
    await stream.connect();
    const collector = await createCollector({
      stream,
      recordClientIp: true,
      anonymizeIp: true,
      trustProxy: true,
      warn: () => undefined,
    });
    running.push(collector);
    const base = await collector.listen({ port: 0 });

    for (const [ip] of CLIENTS) {
      for (const [route, init] of requests(ip)) {
        const response = await fetch(`${base}${route}`, init);
        expect(response.status, route).toBe(200);
      }
    }

    const events = (await readLog(streamPath)).map(
      (r) => JSON.parse(textOf(r)) as { user_id: string; context: { ip?: string } },
    );
    expect(events).toHaveLength(CLIENTS.length * 4);
    const byRoute = (user: string) => events.filter((e) => e.user_id === user).map((e) => e.context.ip);
    for (const user of ['u-ours', 'u-segment', 'u-tp2', 'u-get']) {
      expect(byRoute(user), user).toEqual(CLIENTS.map(([, kept]) => kept));
    }
  });

  it('is taken by activity collect, and only with --client-ip', async () => {
    const dir = await tempDir();
    const stream = path.join(dir, 'stream');
    const alone = await runCli(['collect', '--stream', stream, '--port', '0', '--ip-anonymize']);
    expect(alone.code).not.toBe(0);
    expect(alone.stderr).toContain('--ip-anonymize anonymises the address --client-ip records');

    const collector = await startCollect([
      '--stream',
      stream,
      '--client-ip',
      '--ip-anonymize',
      '--trust-proxy',
    ]);
    started.push(collector);
    const [route, init] = requests('2001:db8:85a3:8d3:1319:8a2e:370:7348')[0] as [string, RequestInit];
    expect((await fetch(`${collector.base}${route}`, init)).status).toBe(200);
    const stopped = await collector.stop();
    expect(stopped.code, stopped.stderr).toBe(0);
    const [event] = (await readLog(stream)).map((r) => JSON.parse(textOf(r)) as { context: { ip?: string } });
    expect(event?.context.ip).toBe('2001:db8:85a3::');
  });
});
