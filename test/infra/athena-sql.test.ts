import { readFileSync } from 'node:fs';
import path from 'node:path';
import { TrinoSQL } from 'dt-sql-parser';
import { describe, expect, it } from 'vitest';
import { lastDayQuery } from '../../infra/constructs/query-catalog.js';
import { typedTableInput } from '../../infra/query-tables.js';
import { TrackingPlan, typedViews } from '../../src/plan/index.js';
import { LANDING_FORMATS } from '../../src/sink/formats/index.js';
import { ROOT } from './synth.js';
import { TYPES_PLAN } from './typed-plans.js';

/**
 * No Athena runs here, so the SQL the CDK app gives Athena is at least parsed by a parser of Trino's
 * own grammar (dt-sql-parser's, from Trino's SqlBase.g4): a syntax check, not a run. It refuses what
 * Trino would not parse, DuckDB's dialect included (`QUALIFY`, `->>`).
 */

/** Besides `TYPES_PLAN`: more types, more event columns, and quotes in names. */
const AWKWARD_PLAN = {
  events: {
    ...TYPES_PLAN.events,
    "O'Brien's event": {
      properties: {
        type: 'object',
        properties: {
          tags: { type: 'array' },
          either: { type: ['string', 'number'] },
          hour: { type: 'integer' },
          "it's": { type: 'string' },
          'a "quoted" key': { type: 'number' },
        },
      },
    },
  },
};

const SHOP_PLAN = JSON.parse(readFileSync(path.join(ROOT, 'examples/shop-tracking-plan.json'), 'utf8'));

const parser = new TrinoSQL();

/** The syntax errors Trino's grammar finds in `sql`: none for SQL Athena parses. */
function syntaxErrors(sql: string): string[] {
  return parser.validate(sql).map((e) => `${e.message} (line ${e.startLine}, column ${e.startColumn})`);
}

/** The definition Athena reads from a view's `viewOriginalText`. */
function definitionOf(text: string | undefined): { originalSql: string; columns: { type: string }[] } {
  const base64 = /^\/\* Presto View: ([A-Za-z0-9+/=]+) \*\/$/.exec(text ?? '')?.[1] ?? '';
  return JSON.parse(Buffer.from(base64, 'base64').toString('utf8'));
}

describe("the Athena SQL of the CDK app, parsed by Trino's grammar", () => {
  it('finds a syntax error where there is one, DuckDB dialect included', () => {
    expect(syntaxErrors('SELECT a FROM t')).toEqual([]);
    expect(syntaxErrors('SELECT a FROM t QUALIFY row_number() OVER () = 1')).not.toEqual([]);
    expect(syntaxErrors("SELECT properties->>'a' FROM t")).not.toEqual([]);
  });

  it.each(
    LANDING_FORMATS.flatMap((format) =>
      [
        ['the shop plan', SHOP_PLAN],
        ['a plan of every type and awkward names', AWKWARD_PLAN],
      ].map(([label, plan]) => ({ label, plan, format })),
    ),
  )('parses every typed view of $label over $format, and the type of each column', ({ plan, format }) => {
    // Prepare
    const views = typedViews(TrackingPlan.fromPlan(plan), 'athena');
    // Act
    const definitions = views.map((view) =>
      definitionOf(typedTableInput({ view, format, databaseName: 'activity_pipeline' }).viewOriginalText),
    );
    // Assess
    expect(definitions.length).toBeGreaterThan(1);
    for (const { originalSql, columns } of definitions) {
      expect(syntaxErrors(originalSql), originalSql).toEqual([]);
      for (const { type } of columns) expect(syntaxErrors(`SELECT CAST(NULL AS ${type})`), type).toEqual([]);
    }
  });

  it.each(LANDING_FORMATS)('parses the saved query over %s', (format) => {
    expect(syntaxErrors(lastDayQuery(format))).toEqual([]);
  });
});
