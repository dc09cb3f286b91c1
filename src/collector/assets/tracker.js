/*
 * The browser tracker, served as /tracker.js (minified by `npm run build`). Load it with
 *   <script src="https://collector.example/tracker.js" data-write-key="KEY" async></script>
 * and call activity.track(event, properties) and activity.identify(userId). Calls made before it
 * loads can be queued as `window.activity = [['track', 'signup', {}]]`.
 *
 * Every event gets its UUIDv7 here, once: a batch sent again after a failure carries the same ids,
 * so the pipeline can deduplicate it.
 */
(() => {
  const script = document.currentScript;
  const setting = (name, fallback) => script?.getAttribute(`data-${name}`) ?? fallback;
  const endpoint = new URL(
    setting('endpoint', '/v1/events'),
    script?.src ? new URL(script.src, location.href) : location.href,
  );
  const writeKey = setting('write-key', '');
  // sendBeacon cannot set headers, so the key travels in the URL (a browser's key is public anyway).
  if (writeKey) endpoint.searchParams.set('write_key', writeKey);
  const flushAt = Number(setting('flush-at', 20));
  const flushInterval = Number(setting('flush-interval', 1000));
  const SESSION_IDLE_MS = 30 * 60 * 1000;
  const MAX_BATCH = 100;
  const BEACON_BYTES = 60_000;
  const MAX_QUEUE = 1000;

  const storage = {
    get(key) {
      try {
        return localStorage.getItem(`activity.${key}`);
      } catch {
        return null;
      }
    },
    set(key, value) {
      try {
        if (value === null) localStorage.removeItem(`activity.${key}`);
        else localStorage.setItem(`activity.${key}`, value);
      } catch {
        // Storage refused (private mode, quota): the tracker still works for this page.
      }
    },
  };

  /** A UUIDv7 (RFC 9562): the time in milliseconds, then random bits; crypto.randomUUID needs HTTPS. */
  const uuid = () => {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    let time = Date.now();
    for (let i = 5; i >= 0; i--) {
      bytes[i] = time % 256;
      time = Math.floor(time / 256);
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x70;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  };

  let anonymousId = storage.get('anonymous_id');
  if (!anonymousId) {
    anonymousId = uuid();
    storage.set('anonymous_id', anonymousId);
  }
  let userId = storage.get('user_id');

  /** The session id, renewed after 30 minutes without an event; shared by the tabs of a site. */
  const session = () => {
    const now = Date.now();
    const [id, last] = (storage.get('session') ?? '').split(' ');
    const current = id && now - Number(last) < SESSION_IDLE_MS ? id : uuid();
    storage.set('session', `${current} ${now}`);
    return current;
  };

  const readUnsent = () => {
    try {
      const kept = JSON.parse(storage.get('unsent') ?? '[]');
      return Array.isArray(kept) ? kept : [];
    } catch {
      return [];
    }
  };

  // Events a previous page could not send (offline as it closed) go first.
  let queue = readUnsent();
  storage.set('unsent', null);
  let inFlight = 0;
  let timer;
  let failures = 0;

  const schedule = (ms) => {
    if (timer === undefined) {
      timer = setTimeout(() => {
        timer = undefined;
        flush();
      }, ms);
    }
  };

  const backoff = (retryAfter) => {
    failures++;
    const delay = Math.min(60_000, 1000 * 2 ** (failures - 1)) * (0.5 + Math.random() / 2);
    schedule(Math.max(delay, (Number(retryAfter) || 0) * 1000));
  };

  const body = (batch) => JSON.stringify({ batch, sent_at: new Date().toISOString() });

  async function flush() {
    if (inFlight > 0 || queue.length === 0) return;
    if (navigator.onLine === false) {
      backoff();
      return;
    }
    const batch = queue.slice(0, MAX_BATCH);
    inFlight = batch.length;
    let retry = false;
    let retryAfter;
    try {
      const response = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: body(batch),
        keepalive: true,
      });
      if (response.status === 429 || response.status >= 500) {
        retry = true;
        retryAfter = response.headers.get('retry-after');
      } else if (response.status !== 200) {
        // Refused for good (bad key, bad events): sending again would not help.
        console.warn('activity: events refused', response.status, await response.text());
      } else {
        const answer = await response.json();
        if (answer.rejected?.length) console.warn('activity: events rejected', answer.rejected);
      }
    } catch {
      retry = true;
    }
    if (!retry) {
      queue.splice(0, inFlight);
      failures = 0;
    }
    inFlight = 0;
    if (retry) backoff(retryAfter);
    else if (queue.length >= flushAt) flush();
    else if (queue.length > 0) schedule(flushInterval);
  }

  /** Sends what is queued with sendBeacon, which outlives the page; keeps it for the next page if offline. */
  const flushOnHide = () => {
    clearTimeout(timer);
    timer = undefined;
    const waiting = queue.slice(inFlight);
    queue = queue.slice(0, inFlight);
    const unsent = [];
    let batch = [];
    let size = 0;
    const send = () => {
      if (batch.length === 0) return;
      const payload = new Blob([body(batch)], { type: 'text/plain;charset=UTF-8' });
      // A text/plain beacon needs no CORS preflight, which a page being closed could not wait for.
      if (navigator.onLine === false || !navigator.sendBeacon(endpoint, payload)) unsent.push(...batch);
      batch = [];
      size = 0;
    };
    for (const event of waiting) {
      const bytes = JSON.stringify(event).length + 1;
      if (batch.length >= MAX_BATCH || (batch.length > 0 && size + bytes > BEACON_BYTES)) send();
      batch.push(event);
      size += bytes;
    }
    send();
    if (unsent.length > 0) {
      storage.set('unsent', JSON.stringify(readUnsent().concat(unsent).slice(-MAX_QUEUE)));
    }
  };

  const page = () => ({
    url: location.href,
    path: location.pathname,
    title: document.title,
    referrer: document.referrer,
  });

  const track = (event, properties) => {
    queue.push({
      event_id: uuid(),
      user_id: userId || anonymousId,
      event: String(event),
      timestamp: new Date().toISOString(),
      session_id: session(),
      anonymous_id: anonymousId,
      properties: properties ?? {},
      context: {
        page: page(),
        locale: navigator.language,
        screen: { width: screen.width, height: screen.height },
        library: { name: 'activity-tracker', version: '1' },
      },
    });
    if (queue.length > MAX_QUEUE) queue.splice(inFlight, queue.length - MAX_QUEUE);
    if (queue.length >= flushAt) flush();
    else schedule(flushInterval);
  };

  const identify = (id, traits) => {
    userId = id ? String(id) : null;
    storage.set('user_id', userId);
    if (userId) track('identify', traits ?? {});
  };

  /** Forgets the user (on sign-out): a new anonymous id and session. */
  const reset = () => {
    userId = null;
    anonymousId = uuid();
    storage.set('user_id', null);
    storage.set('anonymous_id', anonymousId);
    storage.set('session', null);
  };

  const api = { track, identify, reset, flush, anonymousId: () => anonymousId };
  const early = Array.isArray(window.activity) ? window.activity : [];
  window.activity = api;
  for (const [method, ...args] of early) if (Object.hasOwn(api, method)) api[method](...args);

  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') flushOnHide();
  });
  addEventListener('pagehide', flushOnHide);
  addEventListener('online', () => {
    failures = 0;
    clearTimeout(timer);
    timer = undefined;
    flush();
  });

  if (setting('page-view', 'true') !== 'false') {
    track('page_view', page());
    // The first view goes at once: a visitor who leaves at once still counts.
    clearTimeout(timer);
    timer = undefined;
    flush();
  } else if (queue.length > 0) flush();
})();
