/**
 * Latency from event creation to landed, read from a directory sink after a run.
 *
 * - Created: the event's `timestamp`, which the simulator stamps from the clock as it makes the event,
 *   just before handing it to the producer.
 * - Arrived: `received_at`, the stream's arrival time.
 * - Landed: the ctime of the object holding the event. The directory store writes a hidden file, syncs
 *   it and renames it into place; rename(2) sets the inode's ctime, so ctime is the moment the object
 *   became visible to readers. Both clocks are this machine's wall clock.
 *
 * Reading the sink afterwards, instead of polling it during the run, keeps the measurement from
 * competing with the pipeline for the two cores.
 */
import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';

export interface LatencyFigures {
  events: number;
  objects: number;
  /** Created → landed. */
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  /** Created → arrived on the stream (producer batching and the put). */
  to_stream_p50_ms: number;
  to_stream_p99_ms: number;
  /** Arrived → landed (batch window, handler, write). */
  to_landed_p50_ms: number;
  to_landed_p99_ms: number;
}

/** The value at quantile q (0..1) of sorted values, by the nearest-rank method. */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] as number;
}

async function objectFiles(dir: string): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { recursive: true, withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ndjson.gz') && !e.name.startsWith('.'))
    .map((e) => path.join(e.parentPath, e.name));
}

/** Latencies of every event landed under `<sink>/events/`. */
export async function measureLatency(sink: string): Promise<LatencyFigures> {
  const files = await objectFiles(path.join(sink, 'events'));
  const total: number[] = [];
  const toStream: number[] = [];
  const toLanded: number[] = [];
  for (const file of files) {
    const landedAt = (await stat(file)).ctimeMs;
    const text = gunzipSync(await readFile(file)).toString('utf8');
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const event = JSON.parse(line) as { timestamp: string; received_at: string };
      const created = Date.parse(event.timestamp);
      const arrived = Date.parse(event.received_at);
      total.push(landedAt - created);
      toStream.push(arrived - created);
      toLanded.push(landedAt - arrived);
    }
  }
  const sorted = (values: number[]) => Float64Array.from(values).sort();
  const [all, stream, landed] = [sorted(total), sorted(toStream), sorted(toLanded)];
  const round = (ms: number) => Math.round(ms);
  return {
    events: all.length,
    objects: files.length,
    p50_ms: round(quantile(all, 0.5)),
    p99_ms: round(quantile(all, 0.99)),
    max_ms: round(all.at(-1) ?? Number.NaN),
    to_stream_p50_ms: round(quantile(stream, 0.5)),
    to_stream_p99_ms: round(quantile(stream, 0.99)),
    to_landed_p50_ms: round(quantile(landed, 0.5)),
    to_landed_p99_ms: round(quantile(landed, 0.99)),
  };
}
