import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { type Asset, type AssetName, loadAssets } from '../assets.js';
import type { CollectorContext } from '../context.js';
import { demoPage } from '../pages.js';
import { sendPage } from './pages.js';

/** The browser tracker, the scripts and style of the pages, and the demo page that uses the tracker. */
export const assetRoutes: FastifyPluginAsync<CollectorContext> = async (app, context) => {
  const assets = loadAssets();
  const serveAsset =
    (name: AssetName, cacheControl: string) => (request: FastifyRequest, reply: FastifyReply) =>
      sendAsset(request, reply, assets[name], cacheControl);
  // Pages embed the tracker by this URL: a short cache lets a new version reach them soon.
  app.get('/tracker.js', serveAsset('tracker.js', 'public, max-age=300'));
  app.get('/assets/demo.js', serveAsset('demo.js', 'no-cache'));
  app.get('/assets/dashboard.js', serveAsset('dashboard.js', 'no-cache'));
  app.get('/assets/dashboard.css', serveAsset('dashboard.css', 'no-cache'));

  app.get('/', (_request, reply) => reply.redirect('/dashboard'));
  // Browsers ask for it on every page; an empty answer keeps their consoles quiet.
  app.get('/favicon.ico', (_request, reply) => reply.code(204).send());

  const { writeKey } = context.access;
  app.get('/demo', (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const flush = Number(query.flush_interval);
    return sendPage(
      reply,
      demoPage({
        ...(writeKey === undefined ? {} : { writeKey }),
        ...(Number.isInteger(flush) && flush >= 0 && flush <= 3_600_000 ? { flushIntervalMs: flush } : {}),
      }),
    );
  });
};

function sendAsset(request: FastifyRequest, reply: FastifyReply, asset: Asset, cacheControl: string) {
  reply
    .header('content-type', asset.contentType)
    .header('etag', asset.etag)
    .header('cache-control', cacheControl)
    .header('vary', 'accept-encoding')
    .header('x-content-type-options', 'nosniff');
  if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  if (/\bgzip\b/.test(request.headers['accept-encoding'] ?? '')) {
    return reply.header('content-encoding', 'gzip').send(asset.gzipped);
  }
  return reply.send(asset.body);
}
