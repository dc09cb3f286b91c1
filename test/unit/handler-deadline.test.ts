import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createHandler } from '../../src/consumer/index.js';
import { DirectoryStore } from '../../src/sink/index.js';
import { activityJson, eventOf, kinesisRecord } from '../support/kinesis-events.js';
import { readLanded } from '../support/landed.js';
import { useTempDir } from '../support/temp.js';

const tempDir = useTempDir();

describe("the handler with Lambda's context", () => {
  it.each([297, 1_234.5, 120_000])(
    'lands its batch with %s ms left (any remaining time, whole or not)',
    async (left) => {
      const sink = path.join(await tempDir(), 'sink');
      const store = new DirectoryStore(sink);
      await store.connect();
      const handler = createHandler({ store, warn: () => undefined });

      const response = await handler(eventOf([kinesisRecord(activityJson({ event_id: 'a' }), '1')]), {
        getRemainingTimeInMillis: () => left,
      });

      expect(response.batchItemFailures).toEqual([]);
      expect((await readLanded(sink)).events.map((e) => e.event_id)).toEqual(['a']);
    },
  );

  it('reports the batch failed, without throwing, when no time is left to write', async () => {
    const sink = path.join(await tempDir(), 'sink');
    const store = new DirectoryStore(sink);
    await store.connect();
    const warnings: string[] = [];
    const handler = createHandler({ store, warn: (w) => warnings.push(w) });

    const response = await handler(eventOf([kinesisRecord(activityJson({ event_id: 'a' }), '7')]), {
      getRemainingTimeInMillis: () => 0,
    });

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: '7' }]);
    expect(warnings.join('\n')).toMatch(/could not land batch of 1 records/);
    expect((await readLanded(sink)).events).toEqual([]);
  });
});
