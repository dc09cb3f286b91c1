import type { EVENT_COLUMNS, InputOf, RowOf } from '../layout/index.js';

export type { JsonValue } from '../layout/index.js';

/**
 * An activity event as landed: validated, normalised, with its id; times ISO 8601 UTC with
 * milliseconds. Its fields are the columns of `EVENT_COLUMNS` (`src/layout/`).
 */
export type ActivityEvent = RowOf<typeof EVENT_COLUMNS>;

/**
 * An event as producers send it. `timestamp` may be epoch seconds, epoch milliseconds or ISO 8601;
 * `event_id` and `received_at` are optional.
 */
export type ActivityEventInput = InputOf<typeof EVENT_COLUMNS>;
