export {
  describePath,
  findIllFormed,
  findTooDeep,
  findUnsafeNumbers,
  mayHoldLoneSurrogate,
  type UnsafeNumber,
  type ValuePath,
} from './faithful.js';
export {
  checkFaithful,
  invalidUnicode,
  mayHoldUnsafeNumber,
  type ParseContext,
  type ParseResult,
  parseEvent,
  parseEventRecord,
  positionEventId,
  REJECT_REASONS,
  type Refusal,
  type RejectReason,
  unsafeNumber,
} from './parse.js';
export { type EventInput, eventInputSchema, MAX_EVENT_DEPTH, MAX_NAME_LENGTH } from './schema.js';
export { formatTime, parseTime, parseTimeOrAgo, TimeFormatter } from './time.js';
export type { ActivityEvent, ActivityEventInput, JsonValue } from './types.js';
