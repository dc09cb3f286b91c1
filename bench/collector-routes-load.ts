/**
 * The load every collector bench sends: the same events in each protocol the collector speaks, as
 * that protocol's libraries send them. `bench:collector` drives them over HTTP, `bench:collector-routes`
 * through each route in one process.
 */

/** Events in one request, as the libraries batch them. */
export const BATCH = 50;
/** Distinct request bodies, sent round-robin. */
export const BODIES = 64;
const USERS = 1000;

/** One event of the load: the same 1,000 users, event types, pages and prices in every protocol. */
export interface LoadEvent {
  n: number;
  user: string;
  name: string;
  timestamp: number;
  page: string;
  price: number;
}

/** Batches of 50 events each, spread over 1,000 users and a few event types, like a busy site's traffic. */
export function batches(): LoadEvent[][] {
  const names = ['page_view', 'click', 'add_to_cart', 'purchase', 'login'];
  const now = Date.now();
  return Array.from({ length: BODIES }, (_, b) =>
    Array.from({ length: BATCH }, (_, i) => {
      const n = b * BATCH + i;
      return {
        n,
        user: `user_${n % USERS}`,
        name: names[n % names.length] as string,
        timestamp: now - (BATCH - i) * 10,
        page: `/products/${n % 97}`,
        price: (n % 50) + 0.99,
      };
    }),
  );
}

/** A protocol under load: its route, and one batch as its libraries send it. */
export interface Protocol {
  name: string;
  path: string;
  body(batch: LoadEvent[], sentAt: number): string;
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The fields every Snowplow tracker sends with an event. */
function snowplowFields(e: LoadEvent, sentAt: number): Record<string, string> {
  return {
    eid: `bench-${e.n}`,
    uid: e.user,
    sid: `session_${e.user}`,
    dtm: String(e.timestamp),
    stm: String(sentAt),
    aid: 'shop',
    p: 'web',
    tv: 'js-4.10.1',
    tna: 'sp',
    url: `https://shop.example${e.page}`,
  };
}

function snowplowPayload(data: Record<string, string>[]): string {
  return JSON.stringify({
    schema: 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4',
    data,
  });
}

export const PROTOCOLS: Protocol[] = [
  {
    name: 'ours, POST /v1/events',
    path: '/v1/events',
    body: (batch, sentAt) =>
      JSON.stringify({
        batch: batch.map((e) => ({
          user_id: e.user,
          event: e.name,
          timestamp: new Date(e.timestamp).toISOString(),
          session_id: `session_${e.user}`,
          properties: { page: e.page, price: e.price },
        })),
        sent_at: new Date(sentAt).toISOString(),
      }),
  },
  {
    name: "Segment's, POST /v1/batch",
    path: '/v1/batch',
    body: (batch, sentAt) =>
      JSON.stringify({
        batch: batch.map((e) => ({
          type: 'track',
          messageId: `bench-${e.n}`,
          userId: e.user,
          event: e.name,
          timestamp: new Date(e.timestamp).toISOString(),
          properties: { page: e.page, price: e.price },
          context: { library: { name: '@segment/analytics-node', version: '3.1.0' } },
          integrations: {},
        })),
        writeKey: 'bench',
        sentAt: new Date(sentAt).toISOString(),
      }),
  },
  {
    name: "Snowplow's, POST tp2",
    path: '/com.snowplowanalytics.snowplow/tp2',
    body: (batch, sentAt) =>
      snowplowPayload(
        batch.map((e) => ({
          e: 'se',
          ...snowplowFields(e, sentAt),
          se_ca: 'shop',
          se_ac: e.name,
          se_la: e.page,
          se_va: String(e.price),
        })),
      ),
  },
  {
    // The browser tracker's default: self-describing data and contexts base64url-encoded.
    name: "Snowplow's, POST tp2, ue_px + cx",
    path: '/com.snowplowanalytics.snowplow/tp2',
    body: (batch, sentAt) =>
      snowplowPayload(
        batch.map((e) => ({
          e: 'ue',
          ...snowplowFields(e, sentAt),
          ue_px: base64url({
            schema: 'iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0',
            data: {
              schema: `iglu:com.shop/${e.name}/jsonschema/1-0-0`,
              data: { page: e.page, price: e.price },
            },
          }),
          cx: base64url({
            schema: 'iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0',
            data: [
              {
                schema: 'iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0',
                data: { id: `0193a4c2-7b1e-7000-8000-${String(e.n).padStart(12, '0')}` },
              },
            ],
          }),
        })),
      ),
  },
];
