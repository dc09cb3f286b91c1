import { type ColumnTable, columnTable, type RowOf } from './columns.js';

/** The two datasets of a sink, each a view of `activity query` and a table in Athena. */
export type Dataset = 'events' | 'errors';

export const DATASETS: readonly Dataset[] = ['events', 'errors'];

/**
 * Columns the protocols' senders fill (Segment's and Snowplow's fields that are not in our own
 * envelope), passed through as sent by `parseEvent`: each is optional and either text or a JSON object.
 */
export const SENT_COLUMNS = columnTable([
  {
    name: 'anonymous_id',
    type: 'string',
    optional: true,
    description: "the sender's id of a visitor not yet known (Segment anonymousId, Snowplow duid)",
  },
  { name: 'traits', type: 'json', optional: true, description: 'what the sender knows of the user or group' },
  { name: 'group_id', type: 'string', optional: true, description: 'the group a group call joins' },
  { name: 'previous_id', type: 'string', optional: true, description: 'the id an alias call merges' },
  {
    name: 'integrations',
    type: 'json',
    optional: true,
    description: "Segment's per-destination switches, as sent",
  },
  {
    name: 'event_schema',
    type: 'string',
    optional: true,
    description: "the Iglu URI of a Snowplow self-describing event's schema",
  },
  {
    name: 'contexts',
    type: 'json',
    optional: true,
    description: "Snowplow's contexts, as sent: {schema, data: [{schema, data}, ...]}",
  },
]);

/**
 * The columns of `events/`, in the order every format lands them. A new column is one row here (and
 * the parser that fills it, `src/event/`): the Parquet schema, the `events` view and the Glue tables
 * follow.
 */
export const EVENT_COLUMNS = columnTable([
  {
    name: 'event_id',
    type: 'string',
    assigned: true,
    description: 'deduplication key: UUIDv7, or derived from the stream position',
  },
  { name: 'user_id', type: 'string', description: 'the partition key of the stream' },
  { name: 'event', type: 'string', description: 'event name, such as page_view or purchase' },
  { name: 'timestamp', type: 'timestamp', description: 'event time' },
  { name: 'received_at', type: 'timestamp', assigned: true, description: 'when the stream received it' },
  { name: 'session_id', type: 'string', optional: true, description: 'the session the event belongs to' },
  {
    name: 'sent_at',
    type: 'timestamp',
    optional: true,
    description: 'when the client sent it, by its clock',
  },
  {
    name: 'original_timestamp',
    type: 'timestamp',
    optional: true,
    description: 'the client time before skew correction',
  },
  { name: 'properties', type: 'json', optional: true, description: "the event's own data, free-form" },
  {
    name: 'context',
    type: 'json',
    optional: true,
    description: 'where it happened (page, device, library), free-form',
  },
  ...SENT_COLUMNS,
  // Enrichment (`src/enrich/`): filled by the consumer from the user agent, page URL and referrer.
  {
    name: 'browser',
    type: 'string',
    optional: true,
    derived: true,
    description: "the user agent's browser, such as Chrome",
  },
  {
    name: 'browser_version',
    type: 'string',
    optional: true,
    derived: true,
    description: "the browser's version",
  },
  {
    name: 'os',
    type: 'string',
    optional: true,
    derived: true,
    description: "the user agent's operating system, such as iOS",
  },
  {
    name: 'device_type',
    type: 'string',
    optional: true,
    derived: true,
    description: 'desktop, mobile, tablet, smarttv, console, wearable, embedded, or bot',
  },
  {
    name: 'is_bot',
    type: 'boolean',
    optional: true,
    derived: true,
    description: 'the user agent is a bot, crawler or script',
  },
  {
    name: 'utm_source',
    type: 'string',
    optional: true,
    derived: true,
    description: "the page URL's utm_source",
  },
  {
    name: 'utm_medium',
    type: 'string',
    optional: true,
    derived: true,
    description: "the page URL's utm_medium",
  },
  {
    name: 'utm_campaign',
    type: 'string',
    optional: true,
    derived: true,
    description: "the page URL's utm_campaign",
  },
  { name: 'utm_term', type: 'string', optional: true, derived: true, description: "the page URL's utm_term" },
  {
    name: 'utm_content',
    type: 'string',
    optional: true,
    derived: true,
    description: "the page URL's utm_content",
  },
  {
    name: 'referrer_host',
    type: 'string',
    optional: true,
    derived: true,
    description: "the referrer's host",
  },
  {
    name: 'referrer_medium',
    type: 'string',
    optional: true,
    derived: true,
    description: 'internal (same host as the page), search, social, or other',
  },
]);

/**
 * The columns of an `errors/` line: the record as it sat in the stream, and why it did not land as an
 * event. `sub_sequence_number` is the only optional one: plain records have none.
 */
export const ERROR_COLUMNS = columnTable([
  { name: 'reason', type: 'string', description: 'typed reason code' },
  { name: 'message', type: 'string', description: 'what was wrong, in one line' },
  { name: 'shard_id', type: 'string', description: 'the shard the record was read from' },
  {
    name: 'sequence_number',
    type: 'string',
    description: 'its sequence number: up to 128 digits, text, not a number',
  },
  {
    name: 'sub_sequence_number',
    type: 'integer',
    optional: true,
    description: 'its position inside a KPL aggregate, when it came in one',
  },
  { name: 'partition_key', type: 'string', description: 'its partition key' },
  { name: 'approximate_arrival_timestamp', type: 'timestamp', description: 'when the stream received it' },
  { name: 'event_source_arn', type: 'string', description: 'the ARN of the stream it was read from' },
  { name: 'data', type: 'string', description: 'the original bytes, base64' },
]);

/** The columns each dataset's objects hold. */
export const COLUMNS: { readonly [D in Dataset]: ColumnTable } = {
  events: EVENT_COLUMNS,
  errors: ERROR_COLUMNS,
};

/** One line of an `errors/` object. */
export type ErrorLine = RowOf<typeof ERROR_COLUMNS>;
