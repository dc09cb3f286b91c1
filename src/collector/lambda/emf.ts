import type { Counter } from 'prom-client';

// The namespace and dimension of the consumer's figures: one place in CloudWatch for the pipeline.
import { DEFAULT_METRICS_NAMESPACE, emfDocument, METRICS_DIMENSION } from '../../consumer/metrics.js';
import type { CollectorMetrics } from '../metrics.js';

/** The second dimension of the per-reason lines. */
export const REASON_DIMENSION = 'Reason';

/** The metrics of the line each request writes, and their units. */
export const COLLECTOR_METRICS = {
  Requests: 'Count',
  EventsAccepted: 'Count',
  EventsRejected: 'Count',
  RequestsRefused: 'Count',
  /** Requests answered 429 (Kinesis throttled, or the function is behind): the senders back off. */
  Throttled: 'Count',
  ServerErrors: 'Count',
} as const;

/** Per reason, on lines of their own with the `Reason` dimension: events rejected and requests refused. */
export const BY_REASON_METRICS = ['EventsRejected', 'RequestsRefused'] as const;

type Totals = Map<string, number>;

async function totalsOf(counter: Counter<'reason'> | Counter): Promise<Totals> {
  const totals: Totals = new Map();
  for (const { labels, value } of (await counter.get()).values) {
    const reason = String((labels as { reason?: string }).reason ?? '');
    totals.set(reason, (totals.get(reason) ?? 0) + value);
  }
  return totals;
}

function delta(now: Totals, before: Totals): Map<string, number> {
  const out = new Map<string, number>();
  for (const [reason, value] of now) {
    const change = value - (before.get(reason) ?? 0);
    if (change > 0) out.set(reason, change);
  }
  return out;
}

const sum = (values: Map<string, number>) => [...values.values()].reduce((a, b) => a + b, 0);

/**
 * The collector's figures for CloudWatch, as Embedded Metric Format lines: what one request changed in
 * the collector's counters (one request per execution environment at a time, so the change is that
 * request's), as one line with the function's name as dimension, and one line per reason of refusal.
 */
export class CollectorEmf {
  private accepted: Totals = new Map();
  private rejected: Totals = new Map();
  private refused: Totals = new Map();

  constructor(
    private readonly metrics: CollectorMetrics,
    private readonly options: { namespace?: string | undefined; functionName?: string | undefined } = {},
  ) {}

  /** The lines for the request just answered with `status`, each a JSON document. */
  async lines(status: number, now = Date.now()): Promise<string[]> {
    const accepted = await totalsOf(this.metrics.accepted);
    const rejected = await totalsOf(this.metrics.rejected);
    const refused = await totalsOf(this.metrics.refused);
    const events = delta(accepted, this.accepted);
    const byReason = {
      EventsRejected: delta(rejected, this.rejected),
      RequestsRefused: delta(refused, this.refused),
    };
    this.accepted = accepted;
    this.rejected = rejected;
    this.refused = refused;

    const values: Record<keyof typeof COLLECTOR_METRICS, number> = {
      Requests: 1,
      EventsAccepted: sum(events),
      EventsRejected: sum(byReason.EventsRejected),
      RequestsRefused: sum(byReason.RequestsRefused),
      Throttled: status === 429 ? 1 : 0,
      ServerErrors: status >= 500 ? 1 : 0,
    };
    const lines = [this.line(now, values)];
    for (const metric of BY_REASON_METRICS) {
      for (const [reason, count] of byReason[metric]) {
        lines.push(this.line(now, { [metric]: count }, reason));
      }
    }
    return lines;
  }

  /** One line: the function's figures, or with `reason` those of one reason, under a second dimension. */
  private line(now: number, values: Record<string, number>, reason?: string): string {
    const { namespace = DEFAULT_METRICS_NAMESPACE, functionName = 'collector' } = this.options;
    return emfDocument({
      now,
      namespace,
      dimensions: {
        [METRICS_DIMENSION]: functionName,
        ...(reason === undefined ? {} : { [REASON_DIMENSION]: reason }),
      },
      metrics: Object.keys(values).map((Name) => ({ Name, Unit: 'Count' })),
      values,
    });
  }
}
