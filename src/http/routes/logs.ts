/**
 * PocketBase's logs API (superusers only) and the request logger that feeds it.
 *
 *   GET    /api/logs            list envelope; filter/sort on id, created, level, message, data.*
 *   GET    /api/logs/stats      [{date, total}] per hour, same filter
 *   GET    /api/logs/:id        one entry
 *   DELETE /api/logs            truncate (the SDK's `pb.logs.truncate`)
 *
 * The request logger runs as the reply is sent (onSend) and only queues an entry; the log store writes in
 * batches to its own database. Headers, bodies and secret query values are never logged.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../../app.js';
import { LOG_LEVEL } from '../../logs/log-store.js';
import { redactUrl } from '../../logs/redact.js';
import { parseListParams } from '../../records/query.js';
import { clientIp } from '../rate-limit.js';
import { param, query, requestInfo, requireSuperuser } from './helpers.js';

export function registerLogRoutes(server: FastifyInstance, app: App): void {
  server.get('/api/logs', async (req) => {
    requireSuperuser(req);
    return app.logs.list(parseListParams(query(req)), requestInfo(req));
  });
  server.get('/api/logs/stats', async (req) => {
    requireSuperuser(req);
    return app.logs.stats(query(req).filter ?? '', requestInfo(req));
  });
  server.get('/api/logs/:id', async (req) => {
    requireSuperuser(req);
    return app.logs.get(param(req, 'id'));
  });
  server.delete('/api/logs', async (req, reply) => {
    requireSuperuser(req);
    await app.logs.truncate();
    return reply.code(204).send();
  });
}

/** The level of a request entry: info for < 400, warn for 4xx, error for 5xx. */
export function requestLevel(status: number): number {
  if (status >= 500) return LOG_LEVEL.error;
  if (status >= 400) return LOG_LEVEL.warn;
  return LOG_LEVEL.info;
}

/**
 * onSend hook: one log entry per API request (the admin UI's static files are not logged). An onSend hook
 * rather than onResponse: with any onResponse hook Fastify attaches and removes 'finish'/'error' listeners
 * on every response, which measured ~4 µs a request. `execTime` runs from the onRequest hook to the send.
 */
export function requestLogHook(app: App) {
  return (req: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: Error | null, payload?: unknown) => void): void => {
    logRequest(app, req, reply.statusCode);
    done(null, payload);
  };
}

/** Queues the log entry for a request answered with `status` (also used by routes that bypass reply.send). */
export function logRequest(app: App, req: FastifyRequest, status: number): void {
  try {
    const level = requestLevel(status);
    const url = req.url;
    // Dashboard assets are never logged; front-end files (plinth_public/) only when they fail, as PocketBase's Static.
    if (url.startsWith('/_/') || url === '/_' || (status < 400 && !url.startsWith('/api'))) return;
    if (!app.logs.accepts(level) || !app.logs.admitRequest(level)) return;
    const settings = app.settings.get();
    const path = redactUrl(url);
    const data: Record<string, unknown> = {
      type: 'request',
      method: req.method,
      url: path,
      status,
      execTime: req.startedAt > 0 ? Math.round((performance.now() - req.startedAt) * 1000) / 1000 : 0,
      auth: req.auth?.collection.name ?? '',
      userAgent: String(req.headers['user-agent'] ?? '').slice(0, 300),
      referer: redactUrl(String(req.headers.referer ?? '')).slice(0, 300),
      requestId: req.requestId,
    };
    if (settings.logs.logIP) {
      data.remoteIP = req.socket.remoteAddress ?? '';
      data.userIP = clientIp(req, settings);
    }
    if (settings.logs.logAuthId && req.auth) data.authId = String(req.auth.record.id ?? '');
    app.logs.add(level, `${req.method} ${path.split('?')[0]}`, data);
  } catch {
    // logging must never affect a response
  }
}
