/** A JSON value, as events carry in `properties` and `context`. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** An activity event as landed: validated, normalised, with its id. */
export interface ActivityEvent {
  /** The deduplication key: a UUIDv7 from the producer, or derived from the stream position. */
  event_id: string;
  user_id: string;
  event: string;
  /** ISO 8601 UTC with milliseconds. */
  timestamp: string;
  /** When the pipeline received the event: ISO 8601 UTC with milliseconds. */
  received_at: string;
  session_id?: string;
  /** When the client sent the event, as the client's clock saw it. */
  sent_at?: string;
  /** The client's own timestamp, kept when the collector corrected `timestamp` for clock skew. */
  original_timestamp?: string;
  properties?: { [key: string]: JsonValue };
  context?: { [key: string]: JsonValue };
}

/**
 * An event as producers send it. `timestamp` may be epoch seconds, epoch milliseconds or ISO 8601;
 * `event_id` and `received_at` are optional.
 */
export interface ActivityEventInput {
  event_id?: string;
  user_id: string;
  event: string;
  timestamp: string | number;
  received_at?: string | number;
  session_id?: string;
  sent_at?: string | number;
  original_timestamp?: string | number;
  properties?: { [key: string]: JsonValue };
  context?: { [key: string]: JsonValue };
}
