import type { SinkLocation } from '../core/locations.js';
import { cellValue, LandedData, type LandedDataOptions } from '../query/index.js';
import { type Bar, escapeHtml, fmt, horizontalBars, PALETTE, type Series, stackedColumns } from './charts.js';

/** Event types drawn as their own series; the rest are summed as "other". */
const MAX_SERIES = 8;
/** About this many columns across the activity chart. */
const TARGET_BUCKETS = 60;
const BUCKETS_MS = [
  100, 250, 500, 1_000, 5_000, 10_000, 30_000, 60_000, 300_000, 900_000, 1_800_000, 3_600_000, 10_800_000,
  21_600_000, 43_200_000, 86_400_000, 604_800_000,
];

/** The funnel's steps, in order: a session counts at a step if it reached the steps before it first. */
export const FUNNEL_STEPS = ['page_view', 'add_to_cart', 'purchase'] as const;

/** The figures the report draws, also returned for callers that want them. */
export interface ReportData {
  sink: string;
  generatedAt: string;
  events: number;
  users: number;
  sessions: number;
  errors: number;
  firstEvent: string | undefined;
  lastEvent: string | undefined;
  bucketMs: number;
  buckets: string[];
  activity: Series[];
  sessionsStarted: number[];
  sessionLengths: Bar[];
  medianEventsPerSession: number | undefined;
  medianSessionSeconds: number | undefined;
  funnel: { step: string; sessions: number }[];
  errorsByReason: { reason: string; count: number }[];
  revenue: { currency: string; orders: number; amount: number }[];
  eventTypes: { event: string; count: number }[];
}

type Row = Record<string, unknown>;

async function rows(data: LandedData, sql: string): Promise<Row[]> {
  const result = await data.query(sql);
  return result.rows.map((row) =>
    Object.fromEntries(row.map((cell, i) => [result.columns[i]?.name ?? String(i), cellValue(cell)])),
  );
}

const num = (value: unknown): number => (typeof value === 'number' ? value : Number(value ?? 0));

function bucketLabel(ms: number, bucketMs: number): string {
  const iso = new Date(ms).toISOString();
  if (bucketMs >= 86_400_000) return iso.slice(0, 10);
  if (bucketMs >= 60_000) return `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
  if (bucketMs >= 1_000) return iso.slice(11, 19);
  return iso.slice(11, 23);
}

/** Runs the report's queries over the landed data of a sink. */
export async function collectReport(
  location: SinkLocation,
  options: LandedDataOptions = {},
): Promise<ReportData> {
  const data = await LandedData.open(location, options);
  try {
    // One read of the landed data into compact tables; every figure below comes from them.
    await data.query(`CREATE OR REPLACE TEMP TABLE report_events AS
      SELECT event, user_id, coalesce(session_id, user_id) AS session, epoch_ms("timestamp") AS ms,
        CASE WHEN event = 'purchase' THEN properties->>'currency' END AS currency,
        CASE WHEN event = 'purchase' THEN TRY_CAST(properties->>'amount' AS DECIMAL(18, 2)) END AS amount
      FROM events`);
    await data.query('CREATE OR REPLACE TEMP TABLE report_errors AS SELECT reason FROM errors');

    const [overview] = await rows(
      data,
      `SELECT count(*) AS events, count(DISTINCT user_id) AS users, count(DISTINCT session) AS sessions,
        min(ms) AS first_ms, max(ms) AS last_ms FROM report_events`,
    );
    const [errorCount] = await rows(data, 'SELECT count(*) AS n FROM report_errors');
    const events = num(overview?.events);
    const firstMs = overview?.first_ms === null ? undefined : num(overview?.first_ms);
    const lastMs = overview?.last_ms === null ? undefined : num(overview?.last_ms);
    const span = firstMs === undefined || lastMs === undefined ? 0 : lastMs - firstMs;
    const bucketMs = BUCKETS_MS.find((b) => span / b <= TARGET_BUCKETS) ?? (BUCKETS_MS.at(-1) as number);
    const firstBucket = firstMs === undefined ? 0 : Math.floor(firstMs / bucketMs);
    const bucketCount =
      firstMs === undefined || lastMs === undefined ? 0 : Math.floor(lastMs / bucketMs) - firstBucket + 1;
    const buckets = Array.from({ length: bucketCount }, (_, i) =>
      bucketLabel((firstBucket + i) * bucketMs, bucketMs),
    );

    const eventTypes = (
      await rows(data, 'SELECT event, count(*) AS n FROM report_events GROUP BY 1 ORDER BY 2 DESC, 1')
    ).map((r) => ({ event: String(r.event), count: num(r.n) }));
    const named = eventTypes.slice(0, MAX_SERIES).map((t) => t.event);
    const activity: Series[] = named.map((name) => ({ name, values: new Array(bucketCount).fill(0) }));
    const other: Series = { name: 'other', values: new Array(bucketCount).fill(0) };
    for (const r of await rows(
      data,
      `SELECT ms // ${bucketMs} AS b, event, count(*) AS n FROM report_events GROUP BY ALL`,
    )) {
      const i = num(r.b) - firstBucket;
      const series = activity[named.indexOf(String(r.event))] ?? other;
      series.values[i] = (series.values[i] ?? 0) + num(r.n);
    }
    if (other.values.some((v) => v > 0)) activity.push(other);

    const sessionsStarted = new Array<number>(bucketCount).fill(0);
    for (const r of await rows(
      data,
      `SELECT start // ${bucketMs} AS b, count(*) AS n FROM (SELECT min(ms) AS start FROM report_events GROUP BY session) GROUP BY ALL`,
    )) {
      sessionsStarted[num(r.b) - firstBucket] = num(r.n);
    }
    const sessionRows = await rows(
      data,
      `WITH s AS (SELECT count(*) AS n, (max(ms) - min(ms)) / 1000 AS seconds FROM report_events GROUP BY session)
      SELECT CASE WHEN n = 1 THEN '1 event' WHEN n = 2 THEN '2 events' WHEN n <= 5 THEN '3–5 events'
        WHEN n <= 10 THEN '6–10 events' WHEN n <= 20 THEN '11–20 events' WHEN n <= 50 THEN '21–50 events'
        ELSE 'over 50 events' END AS length, min(n) AS o, count(*) AS sessions,
        (SELECT median(n) FROM s) AS median_n, (SELECT median(seconds) FROM s) AS median_s
      FROM s GROUP BY 1 ORDER BY o`,
    );
    const sessionsTotal = sessionRows.reduce((n, r) => n + num(r.sessions), 0);
    const sessionLengths: Bar[] = sessionRows.map((r) => ({
      label: String(r.length),
      value: num(r.sessions),
      note: `${((100 * num(r.sessions)) / Math.max(1, sessionsTotal)).toFixed(1)} %`,
    }));

    const [funnelRow] = await rows(
      data,
      `WITH s AS (SELECT session,
          min(ms) FILTER (WHERE event = 'page_view') AS pv,
          min(ms) FILTER (WHERE event = 'add_to_cart') AS cart,
          min(ms) FILTER (WHERE event = 'purchase') AS buy
        FROM report_events GROUP BY session)
      SELECT count(pv) AS page_view, count(*) FILTER (WHERE cart >= pv) AS add_to_cart,
        count(*) FILTER (WHERE cart >= pv AND buy >= cart) AS purchase FROM s`,
    );
    const funnel = FUNNEL_STEPS.map((step) => ({ step, sessions: num(funnelRow?.[step]) }));

    const errorsByReason = (
      await rows(data, 'SELECT reason, count(*) AS n FROM report_errors GROUP BY 1 ORDER BY 2 DESC, 1')
    ).map((r) => ({ reason: String(r.reason ?? 'unknown'), count: num(r.n) }));
    const revenue = (
      await rows(
        data,
        `SELECT coalesce(currency, '?') AS currency, count(*) AS orders, coalesce(sum(amount), 0) AS amount
        FROM report_events WHERE event = 'purchase' GROUP BY 1 ORDER BY 3 DESC, 1`,
      )
    ).map((r) => ({ currency: String(r.currency), orders: num(r.orders), amount: num(r.amount) }));

    return {
      sink: data.url,
      generatedAt: new Date().toISOString(),
      events,
      users: num(overview?.users),
      sessions: num(overview?.sessions),
      errors: num(errorCount?.n),
      firstEvent: firstMs === undefined ? undefined : new Date(firstMs).toISOString(),
      lastEvent: lastMs === undefined ? undefined : new Date(lastMs).toISOString(),
      bucketMs,
      buckets,
      activity,
      sessionsStarted,
      sessionLengths,
      medianEventsPerSession: sessionRows[0] === undefined ? undefined : num(sessionRows[0].median_n),
      medianSessionSeconds: sessionRows[0] === undefined ? undefined : num(sessionRows[0].median_s),
      funnel,
      errorsByReason,
      revenue,
      eventTypes,
    };
  } finally {
    await data.close();
  }
}

function duration(ms: number): string {
  if (ms < 1_000) return `${ms} ms`;
  if (ms < 60_000) return `${ms / 1000} s`;
  if (ms < 3_600_000) return `${ms / 60_000} min`;
  if (ms < 86_400_000) return `${ms / 3_600_000} h`;
  return `${ms / 86_400_000} d`;
}

const STYLE = `
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d1d1f;margin:0;background:#f6f7f9}
main{max-width:960px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:18px;margin:0 0 8px}
.sub{color:#5b6270;margin:0 0 20px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:12px;margin-bottom:20px}
.card,section{background:#fff;border:1px solid #e3e6ea;border-radius:8px}
.card{padding:12px 14px}.card b{display:block;font-size:22px}.card span{color:#5b6270;font-size:13px}
section{padding:16px 18px;margin-bottom:18px}
figure{margin:0}svg{width:100%;height:auto;font-size:12px;fill:#1d1d1f}
svg .grid{stroke:#e3e6ea}
figcaption{margin-top:6px}.key{display:inline-block;margin-right:14px;font-size:13px}
.key i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}
table{border-collapse:collapse;font-size:14px}td,th{padding:3px 12px 3px 0;text-align:left}td.n{text-align:right}
.empty{color:#5b6270}.note{color:#5b6270;font-size:13px;margin:8px 0 0}code{font-size:13px}
`;

/** The report as one self-contained HTML page: inline CSS and SVG, nothing fetched. */
export function renderReport(data: ReportData): string {
  const card = (value: string, label: string) =>
    `<div class="card"><b>${escapeHtml(value)}</b><span>${escapeHtml(label)}</span></div>`;
  const period =
    data.firstEvent === undefined
      ? 'no events landed yet'
      : `${data.firstEvent.replace('T', ' ').slice(0, 19)} to ${String(data.lastEvent).replace('T', ' ').slice(0, 19)} UTC`;
  const purchases = data.revenue.reduce((n, r) => n + r.orders, 0);
  const topRevenue = data.revenue[0];
  const first = data.funnel[0]?.sessions ?? 0;
  const funnelBars: Bar[] = data.funnel.map((f, i) => {
    const previous = i === 0 ? f.sessions : (data.funnel[i - 1]?.sessions ?? 0);
    const ofFirst = first === 0 ? 0 : (100 * f.sessions) / first;
    const ofPrevious = previous === 0 ? 0 : (100 * f.sessions) / previous;
    return {
      label: f.step.replaceAll('_', ' '),
      value: f.sessions,
      note:
        i === 0
          ? '100 %'
          : `${ofFirst.toFixed(1)} % of page-view sessions, ${ofPrevious.toFixed(1)} % of the step before`,
    };
  });
  const noEvents = '<p class="empty">No events landed yet.</p>';
  const revenueRows = data.revenue
    .map(
      (r) =>
        `<tr><td>${escapeHtml(r.currency)}</td><td class="n">${fmt(r.orders)}</td><td class="n">${r.amount.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}</td></tr>`,
    )
    .join('');
  const body = `
<h1>Activity report</h1>
<p class="sub">${escapeHtml(data.sink)} · ${escapeHtml(period)} · generated ${escapeHtml(data.generatedAt.replace('T', ' ').slice(0, 19))} UTC</p>
<div class="cards">
${card(fmt(data.events), 'events (deduplicated)')}
${card(fmt(data.users), 'users')}
${card(fmt(data.sessions), 'sessions')}
${card(fmt(purchases), 'purchases')}
${card(topRevenue === undefined ? '—' : `${topRevenue.amount.toLocaleString('en-US', { maximumFractionDigits: 0 })} ${topRevenue.currency}`, 'top revenue currency')}
${card(fmt(data.errors), 'records in errors/')}
</div>
<section><h2>Activity over time, by event type</h2>
${data.events === 0 ? noEvents : stackedColumns(data.buckets, data.activity, { title: 'events per bucket by type' })}
<p class="note">Events per ${escapeHtml(duration(data.bucketMs))} of event time (UTC).</p></section>
<section><h2>Sessions</h2>
${
  data.events === 0
    ? noEvents
    : `${stackedColumns(data.buckets, [{ name: 'sessions started', values: data.sessionsStarted }], { title: 'sessions started per bucket' })}
<p class="note">${fmt(data.sessions)} sessions; a median of ${fmt(data.medianEventsPerSession ?? 0)} events and ${fmt(data.medianSessionSeconds ?? 0)} s from first to last event. Events per session:</p>
${horizontalBars(data.sessionLengths, { title: 'sessions by number of events', color: PALETTE[3] })}`
}</section>
<section><h2>Funnel: page view → add to cart → purchase</h2>
${data.events === 0 ? noEvents : horizontalBars(funnelBars, { title: 'funnel', color: PALETTE[4] })}
<p class="note">Sessions that reached each step, having reached the steps before it first.</p></section>
<section><h2>Revenue from purchases</h2>
${purchases === 0 ? '<p class="empty">No purchases.</p>' : `<table><tr><th>currency</th><th>orders</th><th>amount</th></tr>${revenueRows}</table>`}</section>
<section><h2>Errors by reason</h2>
${
  data.errorsByReason.length === 0
    ? '<p class="empty">No records in errors/.</p>'
    : horizontalBars(
        data.errorsByReason.map((e) => ({ label: e.reason, value: e.count })),
        { title: 'errors by reason', color: PALETTE[2] },
      )
}
<p class="note">Records that did not land as events, by arrival time; <code>activity redrive</code> sends them again.</p></section>
<p class="note">Explore further: <code>activity query --sink ${escapeHtml(data.sink)} "SELECT event, count(*) FROM events GROUP BY ALL"</code></p>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Activity report · ${escapeHtml(data.sink)}</title><style>${STYLE}</style></head>
<body><main>${body}</main></body></html>
`;
}
