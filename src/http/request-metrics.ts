/** The request metrics' call sites (server.ts onSend, hijacked replies): one observation per request. */
import type { FastifyRequest } from 'fastify';
import type { App } from '../app.js';

/**
 * Counts a request answered with `status` under its route pattern: a custom route's declared path, else the
 * pattern Fastify matched, else '' (no route). A no-op with metrics off.
 */
export function recordRequest(app: App, req: FastifyRequest, status: number): void {
  const http = app.metrics.http;
  if (http === null) return;
  http.finish(req.customRoute?.route.entry.path ?? req.routeOptions.url ?? '', req.method, status, req.startedAt);
}
