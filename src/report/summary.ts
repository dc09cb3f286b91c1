import path from 'node:path';
import { DEFAULT_SINK_URL, type SinkLocation } from '../core/locations.js';
import { cellValue, LandedData, type LandedDataOptions, sqlString } from '../query/index.js';

const SHOWN = 6;
const count = new Intl.NumberFormat('en-US');
const money = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** `--sink` as a user would type it for `location`: nothing for the default, a short path, or the S3 URL. */
export function sinkArgument(location: SinkLocation): string {
  if (location.kind === 's3') return ` --sink s3://${location.bucket}/${location.prefix}`;
  if (location.path === path.resolve(DEFAULT_SINK_URL)) return '';
  const relative = path.relative(process.cwd(), location.path);
  const shown =
    relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : location.path;
  return ` --sink ${/^[\w./=-]+$/.test(shown) ? shown : JSON.stringify(shown)}`;
}

/** The query a user can start from, with `--sink` when it is not the default. */
export function exploreCommand(location: SinkLocation): string {
  const sink = sinkArgument(location);
  return `npx activity query${sink} "SELECT event, count(*) AS events FROM events GROUP BY ALL ORDER BY events DESC"`;
}

/** Columns of text side by side, each padded to its widest line. */
function sideBySide(blocks: string[][], gap = 5): string[] {
  const widths = blocks.map((b) => Math.max(0, ...b.map((l) => [...l].length)));
  const height = Math.max(0, ...blocks.map((b) => b.length));
  return Array.from({ length: height }, (_, i) =>
    blocks
      .map((b, k) => (b[i] ?? '').padEnd((widths[k] ?? 0) + (k === blocks.length - 1 ? 0 : gap)))
      .join('')
      .trimEnd(),
  );
}

/** Columns under a heading: the first (a name) left-aligned, the others (numbers) right-aligned. */
function block(heading: string, rows: string[][]): string[] {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => [...(r[i] ?? '')].length)));
  const lines = rows.map((r) =>
    r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  '),
  );
  return [heading, ...(lines.length > 0 ? lines : ['(none)'])];
}

/**
 * A short table of what landed since `since` (by event time): events by type, the most active users
 * and revenue from purchases per currency, then the `activity query` line to explore further. For the
 * end of `activity run`, whose simulated events are stamped with the time they are made.
 */
export async function landedSummary(
  location: SinkLocation,
  options: LandedDataOptions & { since: Date },
): Promise<string> {
  const data = await LandedData.open(location, options);
  try {
    const since = options.since.toISOString();
    const day = since.slice(0, 10);
    const hour = Number(since.slice(11, 13));
    // The dt/hour conditions let the query read only the hours since then.
    const where = `"timestamp" >= TIMESTAMPTZ ${sqlString(since)} AND dt >= DATE ${sqlString(day)} AND (dt > DATE ${sqlString(day)} OR hour >= ${hour})`;
    const query = async (sql: string) => {
      const result = await data.query(sql);
      return result.rows.map((row) => row.map(cellValue));
    };
    const byType = await query(
      `SELECT event, count(*) FROM events WHERE ${where} GROUP BY 1 ORDER BY 2 DESC, 1`,
    );
    const users = await query(
      `SELECT user_id, count(*) FROM events WHERE ${where} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ${SHOWN}`,
    );
    const revenue = await query(
      `SELECT coalesce(properties->>'currency', '?'), count(*), coalesce(sum(TRY_CAST(properties->>'amount' AS DECIMAL(18, 2))), 0)
      FROM events WHERE ${where} AND event = 'purchase' GROUP BY 1 ORDER BY 3 DESC, 1 LIMIT ${SHOWN}`,
    );
    const total = byType.reduce((n, r) => n + Number(r[1]), 0);
    const types: string[][] = byType.slice(0, SHOWN).map((r) => [String(r[0]), count.format(Number(r[1]))]);
    if (byType.length > SHOWN) {
      const rest = byType.slice(SHOWN).reduce((n, r) => n + Number(r[1]), 0);
      types.push([`${byType.length - SHOWN} more`, count.format(rest)]);
    }
    const columns = sideBySide([
      block('events by type', types),
      block(
        'top users',
        users.map((r) => [String(r[0]), count.format(Number(r[1]))]),
      ),
      block(
        'revenue from purchases',
        revenue.map((r) => [
          String(r[0]),
          `${count.format(Number(r[1]))} orders`,
          money.format(Number(r[2])),
        ]),
      ),
    ]);
    return [
      '',
      `What landed (${count.format(total)} distinct events):`,
      ...columns.map((l) => `  ${l}`),
      '',
      'Explore further:',
      `  ${exploreCommand(location)}`,
      '',
    ].join('\n');
  } finally {
    await data.close();
  }
}
