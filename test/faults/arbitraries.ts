import fc from 'fast-check';
import { MAX_FUTURE_SKEW_MS, MIN_EVENT_TIME_MS } from '../../src/core/limits.js';

/** Input generators shared by the property tests of the parser and of the handler. */

/** The arrival time the properties parse against. */
export const RECEIVED_AT = Date.parse('2026-11-25T19:31:12.041Z');

export const utf8 = (value: unknown) => Buffer.from(JSON.stringify(value) ?? 'null', 'utf8');

/** Any time value, in or out of range, well formed or not. */
export const anyTime = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.integer({ min: 0, max: 2 ** 53 }),
  fc.double({ min: 1e15, max: 1e308, noNaN: true }),
  fc.string(),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.stringMatching(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/),
  fc.stringMatching(/^\d{1,20}(\.\d{1,6})?$/),
);

/** Events the pipeline must accept, with every accepted form of timestamp. */
export const validEvent = fc
  .record({
    // biome-ignore lint/suspicious/noControlCharactersInRegex: any text but control characters is a valid id
    user_id: fc.stringMatching(/^[^\u0000-\u001f\u007f-\u009f]{1,64}$/),
    event: fc.constantFrom('login', 'page_view', 'click', 'add_to_cart', 'purchase', 'logout'),
    instant: fc.integer({ min: MIN_EVENT_TIME_MS, max: RECEIVED_AT + MAX_FUTURE_SKEW_MS }),
    form: fc.constantFrom('seconds', 'milliseconds', 'iso', 'iso-offset', 'digits'),
    event_id: fc.option(fc.uuid(), { nil: undefined }),
    properties: fc.option(fc.dictionary(fc.string(), fc.jsonValue()), { nil: undefined }),
  })
  .map(({ instant, form, ...fields }) => {
    const seconds = Math.floor(instant / 1000);
    const timestamp =
      form === 'seconds'
        ? seconds
        : form === 'milliseconds'
          ? instant
          : form === 'digits'
            ? String(instant)
            : form === 'iso'
              ? new Date(instant).toISOString()
              : new Date(instant + 2 * 3_600_000).toISOString().replace('Z', '+02:00');
    const expectedMs = form === 'seconds' ? seconds * 1000 : instant;
    const event = Object.fromEntries(
      Object.entries({ ...fields, timestamp }).filter(([, v]) => v !== undefined),
    );
    return { event, expectedMs };
  });

/**
 * Valid events with some fields replaced by values of any type, range or form, or hostile ones, and
 * sometimes a field added: each reaches the checks past the ones it breaks.
 */
export const hostileField = fc.oneof(
  fc.tuple(
    fc.constantFrom('event_id', 'event', 'session_id'),
    fc.oneof(fc.string({ unit: 'binary' }), fc.jsonValue()),
  ),
  fc.tuple(
    fc.constant('user_id'),
    fc.oneof(
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.constantFrom('../../x', '..', '/etc/passwd', 'a\u0000b', 'user\n1', '\u202e', ''),
      fc.jsonValue(),
    ),
  ),
  fc.tuple(fc.constantFrom('timestamp', 'received_at', 'sent_at', 'original_timestamp'), anyTime),
  fc.tuple(fc.constantFrom('properties', 'context', 'extra'), fc.jsonValue()),
);

export const eventLike = fc
  .tuple(validEvent, fc.array(hostileField, { minLength: 1, maxLength: 3 }))
  .map(([{ event }, overrides]) => ({ ...event, ...Object.fromEntries(overrides) }));

/** A valid event's bytes with some bytes replaced, cut off or inserted. */
export const mutatedEvent = fc
  .tuple(
    validEvent,
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
    fc.option(fc.nat(), { nil: undefined }),
  )
  .map(([{ event }, edits, cut]) => {
    const bytes = Buffer.from(utf8(event));
    for (const [at, byte] of edits) bytes[at % bytes.length] = byte;
    return cut === undefined ? bytes : bytes.subarray(0, cut % (bytes.length + 1));
  });
