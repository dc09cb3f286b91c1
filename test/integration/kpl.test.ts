import { CreateStreamCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { describe, expect, it } from 'vitest';
import { jsonSummary, runCli } from '../support/cli.js';
import { TEST_REGION, useKinesalite } from '../support/kinesalite.js';
import { kplAggregate } from '../support/kpl.js';
import { readLanded } from '../support/landed.js';
import { useTempDir } from '../support/temp.js';

const tempDir = useTempDir();
const kinesis = useKinesalite();

interface UserRecord {
  partitionKey: string;
  data: string;
}

/** User records packed by the reference aggregator, `perAggregate` to a Kinesis record. */
function aggregates(records: UserRecord[], perAggregate: number) {
  const out: { PartitionKey: string; Data: Buffer }[] = [];
  for (let i = 0; i < records.length; i += perAggregate) {
    const built = kplAggregate(
      records
        .slice(i, i + perAggregate)
        .map((r) => ({ partitionKey: r.partitionKey, data: Buffer.from(r.data) })),
    );
    out.push({ PartitionKey: built.partitionKey, Data: built.data });
  }
  return out;
}

describe('KPL aggregated records on kinesalite', () => {
  it('activity consume --until-idle lands every user record of aggregates put with PutRecords once', async () => {
    // Prepare: 400 user records (300 with an event_id, 98 without, 2 invalid) in 8 aggregates over
    // 2 shards, and 10 plain records beside them.
    const client = kinesis.client();
    await client.send(new CreateStreamCommand({ StreamName: 'kpl', ShardCount: 2 }));
    const timestamp = '2025-06-01T12:00:00.000Z';
    const users: UserRecord[] = Array.from({ length: 400 }, (_, i) => {
      const user_id = `user_${i % 37}`;
      if (i === 111) return { partitionKey: user_id, data: '{not json' };
      if (i === 222) return { partitionKey: user_id, data: JSON.stringify({ user_id, event: 'click' }) };
      const event = { user_id, event: 'page_view', timestamp, properties: { n: i } };
      return {
        partitionKey: user_id,
        data: JSON.stringify(i % 4 === 3 ? event : { event_id: `e-${i}`, ...event }),
      };
    });
    const plain = Array.from({ length: 10 }, (_, i) => ({
      PartitionKey: `plain_${i}`,
      Data: Buffer.from(
        JSON.stringify({ event_id: `p-${i}`, user_id: `plain_${i}`, event: 'login', timestamp }),
      ),
    }));
    const put = await client.send(
      new PutRecordsCommand({ StreamName: 'kpl', Records: [...aggregates(users, 50), ...plain] }),
    );
    expect(put.FailedRecordCount).toBe(0);
    client.destroy();
    const cwd = await tempDir();
    const sink = `${cwd}/sink`;
    const env = {
      AWS_REGION: TEST_REGION,
      AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'dummy-secret-for-tests',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ENDPOINT_URL_KINESIS: kinesis.endpoint,
    };
    const args = ['consume', '--until-idle', '--stream', 'kinesis://kpl', '--sink', sink, '--json'];

    // Act
    const result = await runCli(args, { env, cwd });

    // Assess
    expect(result.code, result.stderr).toBe(0);
    expect(jsonSummary(result)).toMatchObject({ landed: 408, errors: 2 });
    const landed = await readLanded(sink);
    const ids = landed.events.map((e) => String(e.event_id));
    expect(new Set(ids).size).toBe(408);
    const named = users.flatMap((u, i) => (u.data.includes('"event_id"') ? [`e-${i}`] : []));
    expect(ids.filter((id) => id.startsWith('e-') || id.startsWith('p-')).sort()).toEqual(
      [...named, ...plain.map((_, i) => `p-${i}`)].sort(),
    );
    // Every user record's data landed once, the id-less ones with ids of their own.
    expect(
      landed.events
        .map((e) => (e.properties as { n?: number } | undefined)?.n)
        .filter((n) => n !== undefined),
    ).toHaveLength(398);
    expect(
      landed.errors
        .map((e) => [
          e.reason,
          e.partition_key,
          e.sub_sequence_number,
          Buffer.from(String(e.data), 'base64').toString(),
        ])
        .sort(),
    ).toEqual([
      ['invalid_json', 'user_0', 11, '{not json'],
      ['missing_field', 'user_0', 22, JSON.stringify({ user_id: 'user_0', event: 'click' })],
    ]);

    // Run again: the checkpoints stand, so nothing lands twice.
    const again = await runCli(args, { env, cwd });
    expect(again.code, again.stderr).toBe(0);
    expect(jsonSummary(again)).toMatchObject({ landed: 0, errors: 0 });
    expect((await readLanded(sink)).events).toHaveLength(408);
  });
});
