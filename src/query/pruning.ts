import type { DuckDBConnection } from '@duckdb/node-api';
import type { Dataset, LandedObject } from '../layout/index.js';
import { sqlString } from './views.js';

/**
 * Which partitions of a dataset a query reads: none (it does not name the view), all, or those that
 * pass any of some predicates on `dt` and `hour` (one per reference to the view).
 */
export type DatasetNeed = { kind: 'none' } | { kind: 'all' } | { kind: 'some'; predicates: string[] };

export interface QueryNeeds {
  events: DatasetNeed;
  errors: DatasetNeed;
  /**
   * True when the SQL is only SELECT statements, whose partition predicates were worked out: the caller
   * runs the pruning and the query in one transaction, so `now()` and `current_date` agree in both.
   */
  analysed: boolean;
}

type Node = { [key: string]: unknown };

const DATASETS: readonly Dataset[] = ['events', 'errors'];
/** Join kinds through which a filter on one side may be applied to that side's rows first. */
const INNER_REF_TYPES = new Set(['REGULAR', 'CROSS']);
/** Bare words DuckDB binds as the time of the transaction when no column has the name. */
const TIME_WORDS = new Set([
  'current_date',
  'current_timestamp',
  'current_time',
  'localtime',
  'localtimestamp',
]);
/** Template for a predicate's query, built by DuckDB itself from the AST. */
const PARTITIONS_TABLE = '_activity_partitions';

const isNode = (value: unknown): value is Node =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const lower = (value: unknown) => (typeof value === 'string' ? value.toLowerCase() : '');

/**
 * Views over a dataset besides the dataset's own (the typed views of a tracking plan read `events`):
 * lower-case name → the dataset it reads.
 */
export type ViewsOver = ReadonlyMap<string, Dataset>;

const NO_VIEWS: ViewsOver = new Map();

function escapeRegExp(text: string): string {
  return text.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function mentions(sql: string, dataset: Dataset, views: ViewsOver): boolean {
  const names = [dataset, ...[...views].filter(([, d]) => d === dataset).map(([name]) => name)];
  return names.some((name) => new RegExp(`(^|[^\\w])${escapeRegExp(name)}($|[^\\w])`, 'i').test(sql));
}

/** A reference to one of the views and the SELECT whose WHERE filters it, if its rows may be pre-filtered. */
interface ViewRef {
  dataset: Dataset;
  /** The name its columns are qualified with: the alias, else the view's name. */
  name: string;
  /** The only table in its FROM: unqualified column names then refer to it. */
  alone: boolean;
  select: Node | undefined;
}

function isViewTable(node: Node, views: ViewsOver): { dataset: Dataset; table: string } | undefined {
  if (node.type !== 'BASE_TABLE') return undefined;
  const table = lower(node.table_name);
  const schema = lower(node.schema_name);
  const catalog = lower(node.catalog_name);
  if (!(schema === '' || schema === 'main')) return undefined;
  if (!(catalog === '' || catalog === 'temp')) return undefined;
  const dataset = DATASETS.find((d) => d === table) ?? views.get(table);
  return dataset === undefined ? undefined : { dataset, table };
}

/**
 * The base tables a SELECT's filters apply to directly: its FROM table, or the tables joined in it by
 * inner or cross joins (an outer, ASOF, positional or lateral join changes which rows pair up, so its
 * tables are left out and read whole).
 */
function filteredTables(from: unknown): Node[] {
  if (!isNode(from)) return [];
  if (from.type === 'BASE_TABLE') return [from];
  if (
    from.type === 'JOIN' &&
    lower(from.join_type) === 'inner' &&
    INNER_REF_TYPES.has(String(from.ref_type))
  ) {
    return [...filteredTables(from.left), ...filteredTables(from.right)];
  }
  return [];
}

/** Every reference to a view anywhere in the tree, with the SELECT that filters it, if any. */
function collectRefs(
  root: unknown,
  refs: ViewRef[],
  context: { tableFunctions: number },
  views: ViewsOver,
): void {
  const visit = (value: unknown, select: Node | undefined, direct: Set<Node>, alone: boolean) => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item, select, direct, alone);
      return;
    }
    if (!isNode(value)) return;
    if (value.type === 'SELECT_NODE') {
      const tables = filteredTables(value.from_table);
      const ownDirect = new Set(tables);
      const ownAlone = isNode(value.from_table) && value.from_table.type === 'BASE_TABLE';
      for (const child of Object.values(value)) visit(child, value, ownDirect, ownAlone);
      return;
    }
    if (value.type === 'TABLE_FUNCTION') context.tableFunctions++;
    const view = isViewTable(value, views);
    if (view !== undefined) {
      const { dataset, table } = view;
      const alias = typeof value.alias === 'string' && value.alias !== '' ? value.alias : table;
      const sampled = value.sample !== null && value.sample !== undefined;
      const filtered = direct.has(value) && !sampled;
      refs.push({
        dataset,
        name: alias.toLowerCase(),
        alone: filtered && alone,
        select: filtered ? select : undefined,
      });
    }
    for (const child of Object.values(value)) visit(child, select, direct, alone);
  };
  visit(root, undefined, new Set(), false);
}

/** The conjuncts of a WHERE clause: `a AND b AND c` → [a, b, c]. */
function conjuncts(where: unknown): Node[] {
  if (!isNode(where)) return [];
  if (where.class === 'CONJUNCTION' && where.type === 'CONJUNCTION_AND' && Array.isArray(where.children)) {
    return (where.children as unknown[]).flatMap(conjuncts);
  }
  return [where];
}

/**
 * The conjunct rewritten over `dt` and `hour` alone, or undefined when it may not be evaluated apart
 * from the query: it names another column, holds a subquery, a window, a parameter, or a function
 * that is not deterministic within a transaction (as DuckDB classes them).
 */
function partitionPredicate(node: Node, ref: ViewRef, stable: (name: string) => boolean): Node | undefined {
  let usable = true;
  const rewrite = (value: unknown): unknown => {
    if (!usable) return undefined;
    if (Array.isArray(value)) return value.map(rewrite);
    if (!isNode(value)) return value;
    switch (value.class) {
      case 'SUBQUERY':
      case 'WINDOW':
      case 'PARAMETER':
      case 'STAR':
      case 'LAMBDA':
      case 'COLUMNS':
        usable = false;
        return undefined;
      case 'COLUMN_REF': {
        const names = (value.column_names as unknown[]).map(lower);
        const column = names.at(-1) ?? '';
        if (names.length === 1 && TIME_WORDS.has(column)) return value;
        const qualified = names.length === 2 && names[0] === ref.name;
        if ((column === 'dt' || column === 'hour') && (qualified || (names.length === 1 && ref.alone))) {
          return { ...value, column_names: [column] };
        }
        usable = false;
        return undefined;
      }
      case 'FUNCTION':
        if (!stable(lower(value.function_name)) || value.filter !== null || value.distinct === true) {
          usable = false;
          return undefined;
        }
        break;
    }
    const copy: Node = {};
    for (const [key, child] of Object.entries(value)) copy[key] = rewrite(child);
    return copy;
  };
  const rewritten = rewrite(node);
  return usable && isNode(rewritten) ? rewritten : undefined;
}

/** Drops DuckDB's query locations: their "none" value is a 64-bit integer JSON numbers cannot hold. */
function withoutLocations(value: unknown): string {
  return JSON.stringify(value, (key, v) => (key === 'query_location' ? undefined : v));
}

async function scalar(connection: DuckDBConnection, sql: string): Promise<unknown> {
  const reader = await connection.runAndReadAll(sql);
  return reader.getRows()[0]?.[0];
}

/**
 * Works out which partitions of each view a query reads, from DuckDB's own parse of it
 * (`json_serialize_sql`). A reference to a view is narrowed by the conjuncts of the WHERE clause of
 * the SELECT that reads it directly (alone or through inner joins) that involve only its `dt` and
 * `hour`; anything else (other statements, table functions, outer joins, samples, a view named in a
 * string) reads every partition. The result is always a superset of what the query reads.
 */
export async function analyseQuery(
  connection: DuckDBConnection,
  sql: string,
  views: ViewsOver = NO_VIEWS,
): Promise<QueryNeeds> {
  const named = { events: mentions(sql, 'events', views), errors: mentions(sql, 'errors', views) };
  const fallback: QueryNeeds = {
    events: named.events ? { kind: 'all' } : { kind: 'none' },
    errors: named.errors ? { kind: 'all' } : { kind: 'none' },
    analysed: false,
  };
  if (!named.events && !named.errors) return fallback;
  let text: string;
  try {
    text = String(await scalar(connection, `SELECT json_serialize_sql(${sqlString(sql)})`));
  } catch {
    return fallback;
  }
  // Integers past 2^53 would change value through JSON.parse; such a query is read whole.
  if (/[:[,]\s*-?\d{16,}/.test(text.replaceAll(/"query_location":\d+/g, ''))) return fallback;
  const parsed = JSON.parse(text) as { error?: boolean; statements?: unknown[] };
  if (parsed.error !== false || !Array.isArray(parsed.statements) || parsed.statements.length === 0) {
    return fallback;
  }
  const refs: ViewRef[] = [];
  const context = { tableFunctions: 0 };
  collectRefs(parsed.statements, refs, context, views);
  // A table function may read a view by name from a string (`query_table('events')`).
  if (context.tableFunctions > 0) return { ...fallback, analysed: true };

  const stability = await connection.runAndReadAll(
    `SELECT lower(function_name), bool_and(stability IN ('CONSISTENT', 'CONSISTENT_WITHIN_QUERY'))
     FROM duckdb_functions() WHERE function_type = 'scalar' GROUP BY 1`,
  );
  const stableNames = new Set(
    stability
      .getRows()
      .filter((row) => row[1] === true)
      .map((row) => String(row[0])),
  );
  const template = JSON.parse(
    String(await scalar(connection, `SELECT json_serialize_sql('SELECT dt, hour FROM ${PARTITIONS_TABLE}')`)),
  ) as { statements: [{ node: Node }] };

  const needs: QueryNeeds = { events: { kind: 'none' }, errors: { kind: 'none' }, analysed: true };
  for (const ref of refs) {
    const current = needs[ref.dataset];
    if (current.kind === 'all') continue;
    const usable =
      ref.select === undefined
        ? []
        : conjuncts(ref.select.where_clause).flatMap((c) => {
            const p = partitionPredicate(c, ref, (name) => stableNames.has(name));
            return p === undefined ? [] : [p];
          });
    if (usable.length === 0) {
      needs[ref.dataset] = { kind: 'all' };
      continue;
    }
    const where: Node =
      usable.length === 1
        ? (usable[0] as Node)
        : { class: 'CONJUNCTION', type: 'CONJUNCTION_AND', alias: '', children: usable };
    template.statements[0].node.where_clause = where;
    let predicate: string;
    try {
      predicate = String(
        await scalar(connection, `SELECT json_deserialize_sql(${sqlString(withoutLocations(template))})`),
      );
    } catch {
      needs[ref.dataset] = { kind: 'all' };
      continue;
    }
    needs[ref.dataset] = {
      kind: 'some',
      predicates: [...(current.kind === 'some' ? current.predicates : []), predicate],
    };
  }
  return needs;
}

/**
 * The objects of the partitions a dataset's need selects. The predicates run in DuckDB over a table
 * of the partitions present, typed as the views type them, so they mean exactly what they mean in
 * the query.
 */
export async function selectObjects(
  connection: DuckDBConnection,
  objects: readonly LandedObject[],
  need: DatasetNeed,
): Promise<LandedObject[]> {
  if (need.kind === 'none') return [];
  if (need.kind === 'all' || objects.length === 0) return [...objects];
  const partitions = new Map<string, { dt: string; hour: number }>();
  for (const o of objects) partitions.set(`${o.dt}/${o.hour}`, { dt: o.dt, hour: o.hour });
  const values = [...partitions.values()].map((p) => `(DATE ${sqlString(p.dt)}, ${p.hour})`).join(', ');
  await connection.run(
    `CREATE OR REPLACE TEMP TABLE ${PARTITIONS_TABLE} AS SELECT * FROM (VALUES ${values}) AS p(dt, hour)`,
  );
  const wanted = new Set<string>();
  for (const predicate of need.predicates) {
    const reader = await connection.runAndReadAll(
      `SELECT DISTINCT strftime(dt, '%Y-%m-%d'), hour FROM (${predicate})`,
    );
    for (const [dt, hour] of reader.getRows()) wanted.add(`${String(dt)}/${String(hour)}`);
  }
  await connection.run(`DROP TABLE ${PARTITIONS_TABLE}`);
  return objects.filter((o) => wanted.has(`${o.dt}/${o.hour}`));
}
