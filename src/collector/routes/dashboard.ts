import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsync } from 'fastify';
import type { CollectorContext } from '../context.js';
import { CollectorError } from '../errors.js';
import { dashboardPage } from '../pages.js';
import { sendPage } from './pages.js';

const SNAPSHOT_INTERVAL_MS = 1_000;
/** Dashboards connected at once: each holds a connection and gets a snapshot a second. */
const MAX_DASHBOARDS = 50;

/**
 * The live dashboard: its page, one snapshot as JSON, and snapshots as server-sent events, one a
 * second to every open dashboard.
 */
export const dashboardRoutes: FastifyPluginAsync<CollectorContext> = async (app, context) => {
  const dashboards = new Set<ServerResponse>();

  app.get('/dashboard', (_request, reply) => sendPage(reply, dashboardPage()));
  app.get('/dashboard/snapshot', async () => context.snapshot());
  app.get('/dashboard/stream', (request, reply) => {
    if (dashboards.size >= MAX_DASHBOARDS) {
      throw new CollectorError(
        503,
        'too_many_dashboards',
        `${MAX_DASHBOARDS} dashboards are open already: close one, or read /dashboard/snapshot`,
      );
    }
    reply.hijack();
    const response = reply.raw;
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    response.write(`retry: 2000\ndata: ${JSON.stringify(context.snapshot())}\n\n`);
    dashboards.add(response);
    request.raw.on('close', () => dashboards.delete(response));
  });

  const timer = setInterval(() => {
    if (dashboards.size === 0) return;
    const message = `data: ${JSON.stringify(context.snapshot())}\n\n`;
    for (const response of dashboards) response.write(message);
  }, SNAPSHOT_INTERVAL_MS);
  timer.unref();

  // Dashboards hold their connection open: end them, or closing would wait for them forever.
  app.addHook('preClose', async () => {
    clearInterval(timer);
    for (const response of dashboards) response.end();
    dashboards.clear();
  });
};
