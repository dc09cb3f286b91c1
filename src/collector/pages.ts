/** The HTML of the demo page and the dashboard. Their scripts are separate files, so the pages can forbid inline script. */

/** Only these sources are allowed: the pages load their script, style and data from the collector itself. */
export const PAGE_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export interface DemoPageOptions {
  /** Put in the page for the tracker: a browser's write key is public by nature. */
  writeKey?: string;
  /** How long the tracker gathers events before sending them, in milliseconds. */
  flushIntervalMs?: number;
}

export function demoPage(options: DemoPageOptions): string {
  const attributes = [
    options.writeKey === undefined ? '' : ` data-write-key="${escapeHtml(options.writeKey)}"`,
    options.flushIntervalMs === undefined ? '' : ` data-flush-interval="${options.flushIntervalMs}"`,
  ].join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Activity demo shop</title>
<link rel="stylesheet" href="/assets/dashboard.css">
</head>
<body class="demo">
<main>
<h1>Demo shop</h1>
<p>This page loads <code>/tracker.js</code>: it sent a <code>page_view</code> as it opened, and every button below
tracks an event. Events are sent in batches, and whatever is still queued goes with <code>navigator.sendBeacon</code>
when you leave or hide the page.</p>
<section class="products">
<article><h2>Blue mug</h2><p>€12</p>
<button type="button" data-event="add_to_cart" data-product="blue-mug" data-price="12">Add to cart</button></article>
<article><h2>Red scarf</h2><p>€29</p>
<button type="button" data-event="add_to_cart" data-product="red-scarf" data-price="29">Add to cart</button></article>
<article><h2>Green lamp</h2><p>€45</p>
<button type="button" data-event="add_to_cart" data-product="green-lamp" data-price="45">Add to cart</button></article>
</section>
<p><button type="button" data-event="purchase">Check out</button>
<button type="button" data-event="click" data-label="like">Like this shop</button></p>
<form id="identify"><label>Sign in as <input id="user-id" name="user" autocomplete="off" placeholder="user_42"></label>
<button type="submit">Identify</button></form>
<p id="status" role="status" aria-live="polite">Tracked: page_view</p>
<p><a href="/dashboard">Open the live dashboard</a></p>
</main>
<script src="/tracker.js"${attributes}></script>
<script src="/assets/demo.js"></script>
</body>
</html>
`;
}

export function dashboardPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Activity live</title>
<link rel="stylesheet" href="/assets/dashboard.css">
</head>
<body class="dashboard">
<header><h1>Activity, live</h1><span id="connection" class="connection">connecting…</span></header>
<section class="cards">
<div class="card"><span class="label">events / s</span><span class="value" id="eps">–</span><span class="note">last 10 s</span></div>
<div class="card"><span class="label">active users</span><span class="value" id="active-users">–</span><span class="note">last 5 min</span></div>
<div class="card"><span class="label">accepted</span><span class="value" id="accepted">–</span><span class="note">since start</span></div>
<div class="card"><span class="label">rejected</span><span class="value" id="rejected-total">–</span><span class="note">since start</span></div>
<div class="card"><span class="label">requests refused</span><span class="value" id="refused-total">–</span><span class="note">whole, since start</span></div>
<div class="card" id="lag-card"><span class="label">consumer lag</span><span class="value" id="lag">–</span><span class="note" id="lag-note"></span></div>
</section>
<section class="chart-panel">
<h2>Events per second by type, last 5 minutes</h2>
<canvas id="chart" width="960" height="280" role="img" aria-label="events per second by event type"></canvas>
<ul id="legend" class="legend"></ul>
</section>
<section class="lists">
<div><h2>Top events, last 5 minutes</h2><ol id="top-events" class="bars"></ol></div>
<div><h2>Rejected events by reason</h2><ul id="rejected" class="bars"></ul></div>
<div><h2>Refused requests by reason</h2><ul id="refused" class="bars"></ul></div>
</section>
<script src="/assets/dashboard.js"></script>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
