/** The figures `npm run bench` reports, and the targets they are held to. */
export interface Figures {
  events_per_s: number;
  limit_events_per_s: number;
  per_record_events_per_s: number;
  p50_latency_ms: number;
  p99_latency_ms: number;
  objects_per_million: number;
  peak_rss_mb: number;
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
  const under = (name: string, rule: string, value: number, bound: number): TargetCheck => ({
    name,
    rule,
    value,
    bound,
    pass: Number.isFinite(value) && value < bound,
  });
  return [
    atLeast(
      'vs_limit',
      'events_per_s ≥ 0.5 × limit_events_per_s',
      f.events_per_s,
      0.5 * f.limit_events_per_s,
    ),
    atLeast(
      'vs_per_record',
      'events_per_s ≥ 100 × per_record_events_per_s',
      f.events_per_s,
      100 * f.per_record_events_per_s,
    ),
    under('p99_latency', 'p99_latency_ms < 2000', f.p99_latency_ms, 2000),
    under('objects', 'objects_per_million < 1000', f.objects_per_million, 1000),
    under('memory', 'peak_rss_mb < 300', f.peak_rss_mb, 300),
  ];
}
