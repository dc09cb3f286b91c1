import type { ErrorReason } from '../consumer/index.js';
import { ConfigError } from '../core/errors.js';
import { REJECT_REASONS, type RejectReason } from '../event/index.js';
import { PLAN_REASONS, type PlanReason } from '../plan/index.js';

/**
 * The reasons besides validation's and the tracking plan's: a damaged KPL aggregate, and the runner's
 * own (the handler failed, the record grew too old). Checked against `ErrorReason` both ways, so a reason added there
 * fails to compile until it is added here, instead of being refused by `--reason`.
 */
const OTHER_REASONS = {
  invalid_aggregate: true,
  handler_failed: true,
  record_expired: true,
} as const satisfies Record<Exclude<ErrorReason, RejectReason | PlanReason>, true>;

/** Every reason a line of `errors/` can carry: validation's rejects first, the plan's, then the others. */
export const REDRIVE_REASONS: readonly ErrorReason[] = [
  ...REJECT_REASONS,
  ...PLAN_REASONS,
  ...(Object.keys(OTHER_REASONS) as Exclude<ErrorReason, RejectReason | PlanReason>[]),
];

const KNOWN = new Set<string>(REDRIVE_REASONS);

/**
 * Reason codes from flags: each value may hold several, comma-separated. Throws a `ConfigError` naming
 * the valid codes for an unknown or empty one. Duplicates are dropped; order is kept.
 */
export function parseReasons(values: readonly string[]): ErrorReason[] {
  const reasons: ErrorReason[] = [];
  for (const value of values) {
    for (const part of value.split(',')) {
      const code = part.trim();
      if (!KNOWN.has(code)) {
        const given = code === '' ? `an empty reason in "${value}"` : `"${code}"`;
        throw new ConfigError(
          `unknown reason ${given}: use one or more of ${REDRIVE_REASONS.join(', ')} (repeat --reason or separate with commas)`,
        );
      }
      if (!reasons.includes(code as ErrorReason)) reasons.push(code as ErrorReason);
    }
  }
  return reasons;
}
