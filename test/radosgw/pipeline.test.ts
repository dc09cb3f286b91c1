import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { expect, inject, it } from 'vitest';
import { jsonSummary, runCli } from '../support/cli.js';
import {
  CEPH_COMMANDS,
  CEPH_INSTALL,
  createRadosgwBucket,
  type RadosgwConnection,
  radosgwCliEnv,
  radosgwClient,
} from '../support/radosgw.js';
import { requireProgram } from '../support/requires.js';
import { useTempDir } from '../support/temp.js';

const radosgw = inject('radosgw');
const tempDir = useTempDir();

/** Every object key under s3://BUCKET/PREFIX/ and the event ids in them, read with the SDK directly. */
async function readLanded(
  connection: RadosgwConnection,
  bucket: string,
  prefix: string,
): Promise<{ keys: string[]; ids: string[] }> {
  const client = radosgwClient(connection);
  const keys: string[] = [];
  const ids: string[] = [];
  try {
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/`, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined) continue;
        keys.push(object.Key);
        const body = await client.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key }));
        const bytes = (await body.Body?.transformToByteArray()) ?? new Uint8Array();
        for (const line of gunzipSync(bytes).toString('utf8').split('\n')) {
          if (line !== '') ids.push(JSON.parse(line).event_id);
        }
      }
      token = page.NextContinuationToken;
    } while (token);
  } finally {
    client.destroy();
  }
  return { keys, ids };
}

requireProgram(CEPH_COMMANDS, CEPH_INSTALL).describe('the pipeline landing in Ceph radosgw', () => {
  it('activity run --events 20000 --sink s3://BUCKET/prefix lands 20,000 unique events', async () => {
    const bucket = 'activity-landing';
    await createRadosgwBucket(radosgw, bucket);
    const cwd = await tempDir();

    const result = await runCli(
      [
        'run',
        '--events',
        '20000',
        '--stream',
        path.join(cwd, 'stream'),
        '--sink',
        `s3://${bucket}/activity`,
        '--json',
      ],
      { env: radosgwCliEnv(radosgw), cwd },
    );

    expect(result.code, result.stderr).toBe(0);
    const summary = jsonSummary(result);
    expect(summary).toMatchObject({ produced: 20000, landed: 20000, errors: 0 });
    process.stdout.write(
      `activity run on radosgw: ${summary.landed} events in ${summary.seconds} s, ${summary.events_per_s} events/s, ${summary.objects} objects\n`,
    );
    const { keys, ids } = await readLanded(radosgw, bucket, 'activity');
    expect(ids).toHaveLength(20000);
    expect(new Set(ids).size).toBe(20000);
    // Only finished objects under their final names, in the partitioned layout, many events in each.
    for (const key of keys) {
      expect(key).toMatch(/^activity\/events\/dt=\d{4}-\d{2}-\d{2}\/hour=\d{2}\/[^/_.][^/]*\.ndjson\.gz$/);
    }
    expect(keys.length).toBeLessThan(ids.length / 100);
  });
});
