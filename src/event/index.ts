export {
  type ParseContext,
  type ParseResult,
  parseEvent,
  parseEventRecord,
  positionEventId,
  REJECT_REASONS,
  type RejectReason,
} from './parse.js';
export { type EventInput, eventInputSchema, MAX_NAME_LENGTH } from './schema.js';
export { formatTime, parseTime, parseTimeOrAgo } from './time.js';
export type { ActivityEvent, ActivityEventInput, JsonValue } from './types.js';
