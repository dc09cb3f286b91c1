/** The figures `npm run bench` reports, and the targets they are held to. */
export interface Figures {
  events_per_s: number;
  limit_events_per_s: number;
  per_record_events_per_s: number;
  p50_latency_ms: number;
  p99_latency_ms: number;
  objects_per_million: number;
  peak_rss_mb: number;
  /** The Lambda bundle alone, NDJSON, on one core. */
  handler_events_per_cpu_s: number;
}

export interface TargetCheck {
  name: string;
  /** What is compared, as a sentence fragment: `events_per_s ≥ 0.5 × limit_events_per_s`. */
  rule: string;
  value: number;
  /** The bound `value` is compared with. */
  bound: number;
  pass: boolean;
}

/**
 * Checks each target. A figure that could not be measured (NaN) misses its target rather than
 * passing by accident.
 */
export function checkTargets(f: Figures): TargetCheck[] {
  const atLeast = (name: string, rule: string, value: number, bound: number): TargetCheck => ({
    name,
    rule,
    value,
    bound,
    pass: Number.isFinite(value) && Number.isFinite(bound) && value >= bound,
  });
  const atMost = (name: string, rule: string, value: number, bound: number): TargetCheck => ({
    name,
    rule,
    value,
    bound,
    pass: Number.isFinite(value) && value <= bound,
  });
  return [
    atLeast('vs_limit', 'events_per_s ≥ 1.0 × limit_events_per_s', f.events_per_s, f.limit_events_per_s),
    atLeast(
      'vs_per_record',
      'events_per_s ≥ 100 × per_record_events_per_s',
      f.events_per_s,
      100 * f.per_record_events_per_s,
    ),
    atMost('p99_latency', 'p99_latency_ms ≤ 1000', f.p99_latency_ms, 1000),
    atMost('objects', 'objects_per_million ≤ 300', f.objects_per_million, 300),
    atMost('memory', 'peak_rss_mb ≤ 300', f.peak_rss_mb, 300),
    atLeast('handler_cpu', 'handler_events_per_cpu_s ≥ 200000', f.handler_events_per_cpu_s, 200_000),
  ];
}
