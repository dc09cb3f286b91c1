/**
 * The tracking plan: one JSON file of event schemas and policies, compiled once with ajv, and the one
 * `check` every path applies (collector, consumer, Lambda), with `infer` and `diff` against landed data.
 */

export {
  athenaViewName,
  logicalTypeOf,
  PROPERTY_PREFIX,
  planColumns,
  propertyColumnName,
  type TypedColumn,
  type TypedView,
  typedViews,
  type ViewEngine,
} from './columns.js';
export { type DiffCount, diffPlan, formatDiff, type PlanDiff } from './diff.js';
export { draftPlan, type KeyObservation } from './infer.js';
export { diffWithLanded, type EventsQuery, inferPlan } from './landed.js';
export { describeAjvError, showValue } from './messages.js';
export {
  DEFAULT_POLICIES,
  type JsonSchema,
  PLAN_FILE_SCHEMA,
  type PlanFile,
  type PlannedEvent,
  type PlanPolicies,
  readPlanFile,
  readPlanJson,
  type UnplannedEventPolicy,
  type UnplannedPropertyPolicy,
  type ViolationPolicy,
  validatePlanFile,
} from './plan-file.js';
export {
  describeViolations,
  PLAN_REASONS,
  type PlanReason,
  type PlanVerdict,
  TrackingPlan,
  VIOLATIONS_CONTEXT_KEY,
  type Violation,
} from './tracking-plan.js';
