import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { createHandler } from '../../src/consumer/index.js';
import { DirectoryStore } from '../../src/sink/index.js';
import { activityJson, eventOf, kinesisRecord } from '../support/kinesis-events.js';
import { readLanded } from '../support/landed.js';
import { useTempDir } from '../support/temp.js';

// A defect in parsing cannot be caused with real input (the parser takes any bytes), so it is
// planted: records containing DEFECT make the parser throw.
vi.mock('../../src/event/index.js', async (original) => {
  const real = await original<typeof import('../../src/event/index.js')>();
  return {
    ...real,
    parseEventRecord: (bytes: Uint8Array, options: Parameters<typeof real.parseEventRecord>[1]) => {
      if (Buffer.from(bytes).includes('DEFECT')) throw new RangeError('Invalid time value');
      return real.parseEventRecord(bytes, options);
    },
  };
});

const tempDir = useTempDir();

describe('a record whose parsing throws', () => {
  it('lands in errors/ as handler_failed and the rest of the batch lands: it never blocks the shard', async () => {
    const sink = path.join(await tempDir(), 'sink');
    const store = new DirectoryStore(sink);
    await store.connect();
    const handler = createHandler({ store, warn: () => undefined });
    const response = await handler(
      eventOf([
        kinesisRecord(activityJson({ event_id: 'a' }), '1'),
        kinesisRecord('{"DEFECT":1}', '2'),
        kinesisRecord(activityJson({ event_id: 'b' }), '3'),
      ]),
    );
    expect(response.batchItemFailures).toEqual([]);
    const landed = await readLanded(sink);
    expect(landed.events.map((e) => e.event_id)).toEqual(['a', 'b']);
    expect(landed.errors).toMatchObject([
      {
        reason: 'handler_failed',
        sequence_number: '2',
        message: 'the record could not be parsed: Invalid time value',
      },
    ]);
  });
});
