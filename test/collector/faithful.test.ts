import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Collector,
  createCollector,
  decodeBody,
  type IngestResponse,
} from '../../src/collector/index.js';
import { openLocalStream } from '../../src/stream/index.js';
import { readLog, textOf } from '../support/stream-records.js';
import { useTempDir } from '../support/temp.js';

// The collector refuses, event by event and with a named code, what would not land as it was sent:
// the same rules as the consumer's, so nothing it accepts is refused downstream.

const tempDir = useTempDir();
const running: Collector[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((collector) => collector.close()));
});

const SEED = '"user_id":"a","event":"e","timestamp":1764099072';
/** The three records that used to land and poison the sink (or land changed). */
const POISON = {
  surrogate: `{${SEED},"session_id":"\\ud83d"}`,
  bigInteger: `{${SEED},"properties":{"big":12345678901234567890}}`,
  outOfRange: `{${SEED},"context":{"x":1e400}}`,
};
const GOOD = `{${SEED},"properties":{"pair":"\\ud83d\\ude00","n":0.1,"big":"12345678901234567890"}}`;

async function start(): Promise<{ base: string; streamPath: string }> {
  const streamPath = path.join(await tempDir(), 'stream');
  const stream = openLocalStream(streamPath);
  await stream.connect();
  const collector = await createCollector({ stream, warn: () => undefined });
  running.push(collector);
  return { base: await collector.listen({ port: 0 }), streamPath };
}

async function onStream(streamPath: string): Promise<string[]> {
  return (await readLog(streamPath)).map(textOf);
}

async function post(base: string, body: string, type = 'application/json'): Promise<IngestResponse> {
  const response = await fetch(`${base}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': type },
    body,
  });
  return (await response.json()) as IngestResponse;
}

describe('POST /v1/events: what would not land as sent is refused by name', () => {
  it('refuses a lone surrogate, a too-long integer and 1e400 in an array, and keeps the good event', async () => {
    // Prepare
    const { base, streamPath } = await start();
    const body = `[${POISON.surrogate},${GOOD},${POISON.bigInteger},${POISON.outOfRange}]`;
    // Act
    const answer = await post(base, body);
    // Assess
    expect(answer.accepted).toBe(1);
    expect(answer.rejected).toEqual([
      { index: 0, code: 'invalid_unicode', message: expect.stringContaining('session_id holds a lone') },
      {
        index: 2,
        code: 'unsafe_number',
        message: expect.stringContaining('properties.big is 12345678901234567890'),
      },
      { index: 3, code: 'unsafe_number', message: expect.stringContaining('context.x is 1e400') },
    ]);
    const stored = await onStream(streamPath);
    expect(stored).toHaveLength(1);
    expect(JSON.parse(stored[0] ?? '{}').properties).toEqual({
      pair: '😀',
      n: 0.1,
      big: '12345678901234567890',
    });
  });

  it('refuses them alike as one event, in a {"batch": [...]} and as NDJSON lines', async () => {
    const { base, streamPath } = await start();
    for (const record of Object.values(POISON)) {
      const answer = await post(base, record);
      expect(answer.accepted).toBe(0);
      expect(['invalid_unicode', 'unsafe_number']).toContain(answer.rejected[0]?.code);
    }
    const batch = await post(base, `{"batch":[${GOOD},${POISON.bigInteger}],"sent_at":1764099072}`);
    expect(batch.rejected.map((r) => [r.index, r.code])).toEqual([[1, 'unsafe_number']]);
    const ndjson = await post(
      base,
      [POISON.outOfRange, GOOD, POISON.surrogate].join('\n'),
      'application/x-ndjson',
    );
    expect(ndjson.accepted).toBe(1);
    expect(ndjson.rejected.map((r) => [r.index, r.code])).toEqual([
      [0, 'unsafe_number'],
      [2, 'invalid_unicode'],
    ]);
    expect(await onStream(streamPath)).toHaveLength(2);
  });
});

describe('decodeBody', () => {
  it('traces a number to its own event in an array and in a batch, wherever it nests', () => {
    const items = decodeBody(
      'json',
      Buffer.from(`[${GOOD},{${SEED},"properties":{"a":[{"b":[1,2,3e999]}]}}]`),
    ).items;
    expect(items[0]).toHaveProperty('value');
    expect(items[1]).toMatchObject({ index: 1, code: 'unsafe_number' });
    const refused = items[1];
    expect(refused !== undefined && 'message' in refused && refused.message).toContain(
      'properties.a[0].b[2] is 3e999',
    );
    // A number outside properties and context is a time: the schema's rules apply to it.
    const time = decodeBody('json', Buffer.from(`{"batch":[{${SEED.replace('1764099072', '1e400')}}]}`));
    expect(time.items[0]).toHaveProperty('value');
  });
});
