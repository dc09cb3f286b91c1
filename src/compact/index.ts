export { defaultCompactBefore, parseCompactBefore } from './before.js';
export {
  type CompactedHour,
  type CompactOptions,
  type CompactResult,
  compact,
} from './compact.js';
