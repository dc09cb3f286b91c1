import type { FastifyPluginAsync } from 'fastify';
import type { CollectorContext } from '../context.js';

/** For operations: `/healthz` and Prometheus' `/metrics`. */
export const operationsRoutes: FastifyPluginAsync<CollectorContext> = async (app, context) => {
  app.get('/healthz', async () => ({ status: 'ok', pending_records: context.pendingRecords() }));
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', context.metrics.registry.contentType);
    return context.metrics.registry.metrics();
  });
};
