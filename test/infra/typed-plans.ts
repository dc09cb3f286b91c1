/**
 * A plan of every property type and of properties named like event columns, an event name Athena
 * cannot take as is, and one named like a dataset.
 */
export const TYPES_PLAN = {
  events: {
    'Checkout Started': {
      properties: {
        type: 'object',
        required: ['total'],
        properties: {
          total: { type: 'number' },
          lines: { type: 'integer' },
          coupon: { type: 'string' },
          gift: { type: 'boolean' },
          at: { type: 'string', format: 'date-time' },
          ships_on: { type: 'string', format: 'date' },
          address: { type: 'object' },
          user_id: { type: 'string' },
          dt: { type: 'string', format: 'date' },
        },
      },
    },
    events: { properties: { type: 'object', properties: { n: { type: 'integer' } } } },
  },
};
