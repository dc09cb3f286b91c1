export { isCompactedKey } from '../query/layout.js';
export { defaultCompactBefore, parseCompactBefore } from './before.js';
export {
  type CompactedHour,
  type CompactOptions,
  type CompactResult,
  compact,
  compactedKey,
} from './compact.js';
