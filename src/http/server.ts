/**
 * The HTTP server: Fastify with PocketBase's cross-cutting behaviour (CORS, security headers, auth token
 * loading, body parsing, `?fields=` picking, the error envelope) and the route groups.
 *
 * Request lifecycle:
 *   onRequest  → CORS / preflight (204), security headers, Authorization token → req.auth (invalid
 *                token = guest), superuser IP allowlist (403), path rate limits (429)
 *   parse body → JSON | urlencoded | multipart (400 bad body, 413 too large, 415 unknown type)
 *   handler    → services (records/collections/settings) → AppError on any refusal
 *   preSerialization → ?fields= picker on 2xx JSON
 *   errors     → one place: AppError → {data, message, status}; anything else → 500 envelope, logged
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { App } from '../app.js';
import { isSuperuser, type AuthState } from '../rules/request-info.js';
import { registerBodyParsers } from './body-parser.js';
import { toAppError } from './error-mapping.js';
import { fieldsPickerHook } from './fields-picker.js';
import { RateLimiter } from './rate-limit.js';
import { resolveAuth, tokenFromHeader } from './request-info.js';
import { superuserIpAllowed, superuserIpRefused } from './superuser-ips.js';
import { registerAdminRoutes } from './routes/admin.js';
import { registerInstallRoutes } from './routes/admin-install.js';
import { registerAdminToolRoutes } from './routes/admin-tools.js';
import { registerCronRoutes } from './routes/crons.js';
import { registerLogRoutes, requestLogHook } from './routes/logs.js';
import { authenticateApiKey, isApiKey } from './routes/api-keys.js';
import { registerBatchRoutes } from './routes/batch.js';
import { registerCollectionRoutes } from './routes/collections.js';
import type { Collection } from '../collections/model.js';
import { fileMaxSelect, fileMaxSize } from '../collections/fields/file.js';
import { registerFileRoutes } from './routes/files.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerRealtimeRoutes } from './routes/realtime.js';
import { registerRecordAuthRoutes } from './routes/record-auth.js';
import { registerRecordRoutes } from './routes/records.js';
import { registerSettingsRoutes } from './routes/settings.js';

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthState | null;
    /** performance.now() when the onRequest hook ran (the request log's execTime). */
    startedAt: number;
  }
  interface FastifyInstance {
    rateLimiter: RateLimiter;
  }
}

/** Sent on every response: PocketBase's CORS default (any origin) and its security headers. */
const DEFAULT_HEADERS = {
  'access-control-allow-origin': '*',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'SAMEORIGIN',
  'x-xss-protection': '1; mode=block',
};

/** Default request body limit (PocketBase: 32 MiB). */
export const DEFAULT_BODY_LIMIT = 32 * 1024 * 1024;

/** `settings.batch.maxBodySize` 0 means PocketBase's 128 MiB. */
const DEFAULT_BATCH_BODY_LIMIT = 128 * 1024 * 1024;
/** Per collection object (a schema change makes new objects, so stale entries simply drop out). */
const collectionBodyLimits = new WeakMap<Collection, number>();

/**
 * PocketBase's body limits: `/api/batch` by `settings.batch.maxBodySize`; record create/update by the
 * collection (the default plus, per file field, maxSize × maxSelect). A route and a map lookup per body.
 */
function dynamicBodyLimit(app: App, req: FastifyRequest, base: number): number | undefined {
  const url = req.routeOptions.url;
  if (url === '/api/batch') {
    const max = app.settings.get().batch.maxBodySize;
    return max > 0 ? max : DEFAULT_BATCH_BODY_LIMIT;
  }
  if (url === undefined || !url.startsWith('/api/collections/:collection/records')) return undefined;
  const name = (req.params as { collection?: unknown } | undefined)?.collection;
  const collection = typeof name === 'string' ? app.collections.find(name) : undefined;
  if (!collection) return undefined;
  let limit = collectionBodyLimits.get(collection);
  if (limit === undefined) {
    limit = base;
    if (collection.type !== 'view') for (const f of collection.fields) if (f.type === 'file') limit += fileMaxSize(f) * fileMaxSelect(f);
    collectionBodyLimits.set(collection, limit);
  }
  return limit;
}

export interface ServerOptions {
  bodyLimit?: number;
  /** Log each request (method, path, status, time). Default true outside tests. */
  logRequests?: boolean;
  /** The built admin UI's folder (default dist/admin). */
  adminDir?: string;
}

export async function buildServer(app: App, options: ServerOptions = {}): Promise<FastifyInstance> {
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const server: FastifyInstance = Fastify({
    // Fastify gets no logger: its per-request logger plumbing (even with request logging off) measured
    // slower in isolation, and nothing needs it. Errors are logged through app.logger below; requests go to
    // the request log (logs/, from an onSend hook) and, with --dev, to stdout from an onResponse hook.
    logger: false,
    bodyLimit,
    return503OnClosing: true,
    // Long filters travel in the query string; 64 KiB lets the filter limits (not Node's 16 KiB
    // header cap) answer them with a proper 400.
    http: { maxHeaderSize: 64 * 1024 },
    // Slow-client guards (slowloris): whole request within 60 s, headers within 10 s.
    requestTimeout: 60_000,
    connectionTimeout: 0,
    keepAliveTimeout: 5_000,
    routerOptions: { ignoreTrailingSlash: true, caseSensitive: true, maxParamLength: 1000 },
  }) as unknown as FastifyInstance;
  server.server.headersTimeout = 10_000;

  server.decorateRequest('auth', null);
  server.decorateRequest('startedAt', 0);
  registerBodyParsers(server, { bodyLimit, limitFor: (req) => dynamicBodyLimit(app, req, bodyLimit) });

  const rateLimiter = new RateLimiter(() => app.settings.get(), Date.now, app.sharedCounters);
  server.decorate('rateLimiter', rateLimiter);
  server.addHook('onClose', (_instance, done) => {
    rateLimiter.close();
    done();
  });

  // One onRequest hook does all per-request set-up (each hook stage costs a runner per request), in
  // PocketBase's middleware order: CORS and security headers, preflight, auth from the Authorization
  // header, then the path rate limits (audiences depend on auth). All of it comes before the body is read,
  // so a refused request never makes the server read its body. Callback style: no promise per request
  // when there is nothing to await.
  server.addHook('onRequest', (req, reply, done) => {
    req.startedAt = performance.now();
    reply.headers(DEFAULT_HEADERS);
    if (req.method === 'OPTIONS') {
      preflight(req, reply);
      void reply.code(204).send();
      return;
    }
    const token = tokenFromHeader(req.headers.authorization);
    if (!token) return limitThenContinue(rateLimiter, req, done);
    if (isApiKey(token)) {
      authenticateApiKey(app, req, token).then(
        () => authorisedThenLimit(req, done),
        (err: Error) => done(err),
      );
      return;
    }
    resolveAuth(token, app.collections, app.reader).then(
      (auth) => {
        req.auth = auth;
        authorisedThenLimit(req, done);
      },
      (err: Error) => done(err),
    );
  });
  /** settings.superuserIPs applies to anything acting with superuser powers; then the rate limits. */
  const authorisedThenLimit = (req: FastifyRequest, done: (err?: Error) => void): void => {
    if (isSuperuser(req) && !superuserIpAllowed(req, app.settings.get())) return done(superuserIpRefused());
    limitThenContinue(rateLimiter, req, done);
  };

  server.addHook('preSerialization', fieldsPickerHook());
  // Request logs: queued as the reply is sent (not onResponse: see requestLogHook), written in batches to
  // their own database.
  server.addHook('onSend', requestLogHook(app));
  if (options.logRequests) {
    server.addHook('onResponse', (req, reply, done) => {
      app.logger.info({ method: req.method, url: req.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
      done();
    });
  }

  server.setErrorHandler((err, req, reply) => {
    const appError = toAppError(err, app);
    if (appError.status >= 500) app.logger.error({ err, method: req.method, url: req.url.split('?')[0] }, 'request failed');
    if (appError.code === 'db_busy' || appError.code === 'unavailable') void reply.header('Retry-After', '1');
    void reply.code(appError.status).type('application/json').send(appError.toEnvelope());
  });
  server.setNotFoundHandler((_req, reply) => {
    void reply.code(404).send({ data: {}, message: "The requested resource wasn't found.", status: 404 });
  });

  registerHealthRoutes(server, app);
  registerSettingsRoutes(server, app);
  registerCollectionRoutes(server, app);
  registerRecordAuthRoutes(server, app);
  registerRecordRoutes(server, app);
  registerBatchRoutes(server, app);
  registerFileRoutes(server, app);
  registerRealtimeRoutes(server, app);
  registerLogRoutes(server, app);
  registerCronRoutes(server, app);
  registerInstallRoutes(server, app);
  registerAdminToolRoutes(server, app);
  registerAdminRoutes(server, options.adminDir ? { dir: options.adminDir } : {});
  return server;
}

function limitThenContinue(rateLimiter: RateLimiter, req: FastifyRequest, done: (err?: Error) => void): void {
  let shared: void | Promise<void>;
  try {
    shared = rateLimiter.checkPath(req);
  } catch (err) {
    return done(err as Error);
  }
  // Cluster nodes count in the shared database (a promise); one node decides at once.
  if (shared) shared.then(() => done(), (err: Error) => done(err));
  else done();
}

/** PocketBase's default CORS preflight: common methods, requested headers echoed back. */
function preflight(req: FastifyRequest, reply: FastifyReply): void {
  reply.header('Access-Control-Allow-Methods', 'GET, HEAD, PUT, PATCH, POST, DELETE');
  const requested = req.headers['access-control-request-headers'];
  if (typeof requested === 'string' && requested.length < 2000) reply.header('Access-Control-Allow-Headers', requested);
  reply.header('Access-Control-Max-Age', '86400');
}
