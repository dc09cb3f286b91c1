import type { OutputFormat } from './output-format.js';
import { type Cell, cellJson, cellText, ExactNumber } from './values.js';

export { OUTPUT_FORMATS, type OutputFormat, parseOutputFormat } from './output-format.js';

/** A query's result: its columns and rows of printable cells. */
export interface ResultTable {
  columns: { name: string; type: string }[];
  rows: Cell[][];
}

/** The widest a table cell prints before it is cut with `…`: tables are for reading, JSON and CSV for all of it. */
const MAX_CELL_WIDTH = 60;

const NUMERIC_TYPE =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL)/;

/** Text width of a string in a terminal: one column per code point, control characters shown escaped. */
function tableText(cell: Cell): string {
  if (cell === null) return 'NULL';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: a line break or tab in a value would break the table
  const text = cellText(cell).replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
  const chars = [...text];
  return chars.length > MAX_CELL_WIDTH ? `${chars.slice(0, MAX_CELL_WIDTH - 1).join('')}…` : text;
}

const width = (text: string) => [...text].length;

/** Thousands separators for integers, so counts read at a glance. */
function groupDigits(text: string): string {
  return /^-?\d{4,}$/.test(text) ? text.replace(/\B(?=(\d{3})+(?!\d))/g, ',') : text;
}

/**
 * An aligned text table: a header, a rule, the rows (numbers right-aligned, integers grouped by
 * thousands, NULL shown as `NULL`, long values cut), and a row count.
 */
export function formatTable(result: ResultTable): string {
  const numeric = result.columns.map((c) => NUMERIC_TYPE.test(c.type));
  const body = result.rows.map((row) =>
    row.map((cell, i) => {
      const text = tableText(cell);
      return numeric[i] && (typeof cell === 'number' || cell instanceof ExactNumber)
        ? groupDigits(text)
        : text;
    }),
  );
  const widths = result.columns.map((c, i) =>
    Math.max(width(c.name), ...body.map((row) => width(row[i] ?? ''))),
  );
  const pad = (text: string, i: number) => {
    const fill = ' '.repeat(Math.max(0, (widths[i] ?? 0) - width(text)));
    return numeric[i] ? fill + text : text + fill;
  };
  const line = (cells: string[]) => cells.map(pad).join('  ').trimEnd();
  const lines = [
    line(result.columns.map((c) => c.name)),
    widths.map((w) => '─'.repeat(w)).join('  '),
    ...body.map(line),
    `(${result.rows.length.toLocaleString('en-US')} row${result.rows.length === 1 ? '' : 's'})`,
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * A JSON array of row objects, one row a line. Integers of any size and decimals are JSON numbers
 * written with all their digits (a reader that parses numbers as doubles rounds those past 2^53);
 * JSON columns (`properties`, `context`) are embedded as objects; times are ISO 8601 strings.
 */
export function formatJson(result: ResultTable): string {
  if (result.rows.length === 0) return '[]\n';
  const names = result.columns.map((c) => JSON.stringify(c.name));
  const rows = result.rows.map(
    (row) => `{${row.map((cell, i) => `${names[i]}:${cellJson(cell)}`).join(',')}}`,
  );
  return `[\n${rows.join(',\n')}\n]\n`;
}

function csvField(text: string): string {
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replaceAll('"', '""')}"` : text;
}

/** CSV (RFC 4180): a header line, then one line per row; NULL is an empty field. */
export function formatCsv(result: ResultTable): string {
  const lines = [
    result.columns.map((c) => csvField(c.name)).join(','),
    ...result.rows.map((row) => row.map((cell) => csvField(cellText(cell))).join(',')),
  ];
  return `${lines.join('\r\n')}\r\n`;
}

export function formatResult(result: ResultTable, format: OutputFormat): string {
  if (format === 'json') return formatJson(result);
  if (format === 'csv') return formatCsv(result);
  return formatTable(result);
}
