import {
  DuckDBArrayType,
  DuckDBArrayValue,
  DuckDBBlobValue,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBListType,
  DuckDBListValue,
  DuckDBMapType,
  DuckDBMapValue,
  DuckDBStructType,
  DuckDBStructValue,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  type DuckDBType,
  DuckDBTypeId,
  DuckDBUnionValue,
  type DuckDBValue,
} from '@duckdb/node-api';

/** A number written exactly as its digits: 64-bit and larger integers, and decimals. */
export class ExactNumber {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** JSON text from a JSON column, embedded as a value rather than as a string. */
export class JsonText {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/**
 * A result value ready to print: JSON's own values, exact numbers and JSON text. Times are ISO 8601
 * strings (`Z` for instants), dates `YYYY-MM-DD`, blobs base64.
 */
export type Cell =
  | null
  | boolean
  | number
  | string
  | ExactNumber
  | JsonText
  | Cell[]
  | { [key: string]: Cell };

const MICROS_PER_MS = 1000n;

function isoOfMicros(micros: bigint, zone: boolean): string {
  // Floor division, so times before 1970 keep their sub-millisecond digits right.
  let ms = micros / MICROS_PER_MS;
  let rest = micros % MICROS_PER_MS;
  if (rest < 0n) {
    ms -= 1n;
    rest += MICROS_PER_MS;
  }
  const date = new Date(Number(ms));
  if (Number.isNaN(date.getTime())) return String(micros);
  let iso = date.toISOString().slice(0, -1);
  if (rest !== 0n) iso += String(rest).padStart(3, '0');
  return zone ? `${iso}Z` : iso;
}

/** Converts a DuckDB value of a column of `type` to a `Cell`. */
export function toCell(value: DuckDBValue, type: DuckDBType): Cell {
  if (value === null) return null;
  if (typeof value === 'boolean' || typeof value === 'number') {
    return typeof value === 'number' && !Number.isFinite(value) ? String(value) : value;
  }
  if (typeof value === 'bigint') return new ExactNumber(String(value));
  if (typeof value === 'string') {
    return type.typeId === DuckDBTypeId.VARCHAR && type.alias === 'JSON' ? new JsonText(value) : value;
  }
  if (value instanceof DuckDBTimestampTZValue) {
    return value.isFinite ? isoOfMicros(value.micros, true) : value.toString();
  }
  if (value instanceof DuckDBTimestampValue) {
    return value.isFinite ? isoOfMicros(value.micros, false) : value.toString();
  }
  if (value instanceof DuckDBTimestampMillisecondsValue) {
    return value.isFinite ? isoOfMicros(value.millis * MICROS_PER_MS, false) : value.toString();
  }
  if (value instanceof DuckDBTimestampSecondsValue) {
    return value.isFinite ? isoOfMicros(value.seconds * 1_000_000n, false) : value.toString();
  }
  if (value instanceof DuckDBTimestampNanosecondsValue) {
    return value.isFinite ? isoOfMicros(value.nanos / MICROS_PER_MS, false) : value.toString();
  }
  if (value instanceof DuckDBDateValue) return value.toString();
  if (value instanceof DuckDBDecimalValue) return new ExactNumber(value.toString());
  if (value instanceof DuckDBBlobValue) return Buffer.from(value.bytes).toString('base64');
  if (value instanceof DuckDBListValue || value instanceof DuckDBArrayValue) {
    const itemType =
      type instanceof DuckDBListType || type instanceof DuckDBArrayType ? type.valueType : type;
    return value.items.map((item) => toCell(item, itemType));
  }
  if (value instanceof DuckDBStructValue) {
    const out: { [key: string]: Cell } = {};
    for (const [name, item] of Object.entries(value.entries)) {
      const index = type instanceof DuckDBStructType ? type.entryIndexes[name] : undefined;
      const itemType =
        type instanceof DuckDBStructType && index !== undefined ? type.entryTypes[index] : undefined;
      out[name] = toCell(item, itemType ?? type);
    }
    return out;
  }
  if (value instanceof DuckDBMapValue) {
    const keyType = type instanceof DuckDBMapType ? type.keyType : type;
    const valueType = type instanceof DuckDBMapType ? type.valueType : type;
    const entries = value.entries.map((e) => [toCell(e.key, keyType), toCell(e.value, valueType)] as const);
    if (entries.every(([key]) => typeof key === 'string')) {
      return Object.fromEntries(entries) as { [key: string]: Cell };
    }
    return entries.map(([key, v]) => ({ key, value: v }));
  }
  if (value instanceof DuckDBUnionValue) return value.value === null ? null : String(value.value);
  return String(value);
}

/** A cell as one line of text: for a table or CSV. Nested values and JSON print as JSON. */
export function cellText(cell: Cell): string {
  if (cell === null) return '';
  if (typeof cell === 'string') return cell;
  if (typeof cell === 'number' || typeof cell === 'boolean') return String(cell);
  if (cell instanceof ExactNumber || cell instanceof JsonText) return cell.text;
  return cellJson(cell);
}

/** A cell as JSON text: exact numbers as bare digits, JSON columns embedded as they are. */
export function cellJson(cell: Cell): string {
  if (cell === null) return 'null';
  if (typeof cell === 'number') return Number.isFinite(cell) ? String(cell) : 'null';
  if (typeof cell === 'string' || typeof cell === 'boolean') return JSON.stringify(cell);
  if (cell instanceof ExactNumber || cell instanceof JsonText) return cell.text;
  if (Array.isArray(cell)) return `[${cell.map(cellJson).join(',')}]`;
  return `{${Object.entries(cell)
    .map(([key, value]) => `${JSON.stringify(key)}:${cellJson(value)}`)
    .join(',')}}`;
}

/** A cell as a plain JavaScript value: exact numbers as numbers when they fit, else strings; JSON parsed. */
export function cellValue(cell: Cell): unknown {
  if (cell instanceof ExactNumber) {
    const n = Number(cell.text);
    return Number.isSafeInteger(n) || (!/^-?\d+$/.test(cell.text) && Number.isFinite(n)) ? n : cell.text;
  }
  if (cell instanceof JsonText) return JSON.parse(cell.text);
  if (Array.isArray(cell)) return cell.map(cellValue);
  if (cell !== null && typeof cell === 'object') {
    return Object.fromEntries(Object.entries(cell).map(([k, v]) => [k, cellValue(v)]));
  }
  return cell;
}
