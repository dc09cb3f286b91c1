import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { useTempDir } from '../support/temp.js';

// The records that used to poison a sink, sent as a client would through `activity produce --raw`,
// consumed and queried with the commands themselves: each gets its outcome, and the sink stays
// readable by every query.

const tempDir = useTempDir();
const SEED = '"user_id":"a","event":"e","timestamp":1764099072';
const RECORDS = [
  `{${SEED},"session_id":"\\ud83d"}`,
  `{"user_id":"\\ud83d","event":"e","timestamp":1764099072}`,
  `{${SEED},"properties":{"big":12345678901234567890}}`,
  `{${SEED},"context":{"x":1e400}}`,
  `{${SEED},"event_id":"kept","properties":{"big":"12345678901234567890","pair":"\\ud83d\\ude00"}}`,
];

async function query(sink: string, sql: string): Promise<Record<string, unknown>[]> {
  const result = await runCli(['query', '--sink', sink, '--output', 'json', sql]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Record<string, unknown>[];
}

describe('activity produce --raw, consume, query: the records that used to poison a sink', () => {
  it('land in errors/ with their reason and bytes; the good one lands as sent; every query reads', async () => {
    // Prepare
    const dir = await tempDir();
    const stream = path.join(dir, 'stream');
    const sink = path.join(dir, 'data');
    // Act
    const produced = await runCli(['produce', '--raw', '--stream', stream, '--input', '-'], {
      input: `${RECORDS.join('\n')}\n`,
    });
    expect(produced.code, produced.stderr).toBe(0);
    const consumed = await runCli(['consume', '--stream', stream, '--sink', sink, '--until-idle']);
    expect(consumed.code, consumed.stderr).toBe(0);
    // Assess
    // Records of different users sit in different shards: match each error line to its record by its bytes.
    const errors = await query(sink, 'SELECT reason, message, data FROM errors');
    const byRecord = new Map(errors.map((e) => [Buffer.from(String(e.data), 'base64').toString('utf8'), e]));
    expect(errors).toHaveLength(4);
    expect(RECORDS.slice(0, 4).map((r) => [byRecord.get(r)?.reason, byRecord.get(r)?.message])).toEqual([
      ['invalid_unicode', expect.stringContaining('session_id holds a lone UTF-16 surrogate')],
      ['invalid_unicode', expect.stringContaining('user_id holds a lone UTF-16 surrogate')],
      ['unsafe_number', expect.stringContaining('properties.big is 12345678901234567890')],
      ['unsafe_number', expect.stringContaining('context.x is 1e400, which is out of the range of a double')],
    ]);
    const events = await query(sink, 'SELECT event_id, properties FROM events');
    expect(events).toEqual([{ event_id: 'kept', properties: { big: '12345678901234567890', pair: '😀' } }]);
  });
});
