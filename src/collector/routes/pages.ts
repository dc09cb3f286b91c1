import type { FastifyReply } from 'fastify';
import { PAGE_SECURITY_POLICY } from '../pages.js';

/** Sends an HTML page of the collector, with the headers that keep it to its own scripts. */
export function sendPage(reply: FastifyReply, html: string) {
  return reply
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', PAGE_SECURITY_POLICY)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-store')
    .send(html);
}
