/**
 * The HTTP server: Fastify with PocketBase's cross-cutting behaviour (CORS, security headers, auth token
 * loading, body parsing, `?fields=` picking, the error envelope) and the route groups.
 *
 * Request lifecycle:
 *   onRequest  → CORS / preflight (204), security headers, X-Request-Id (request-id.ts; the metrics' in-flight
 *                count and the slow-query log's request context), Authorization token → req.auth (invalid
 *                token = guest), superuser IP allowlist (403), path rate limits (429)
 *   parse body → JSON | urlencoded | multipart (400 bad body, 413 too large, 415 unknown type)
 *   handler    → services (records/collections/settings) → AppError on any refusal; request hooks
 *                (app.hooks.on*Request) around the built-in actions when they have handlers
 *   custom routes → ServerOptions.routes: one `/*` dispatcher registered after every built-in route
 *                (custom-routes.ts); user code (hooks, routes) runs within ServerOptions.hookTimeout (504)
 *   preSerialization → ?fields= picker on 2xx JSON
 *   onSend     → the request log entry and the request metrics (metrics/http.ts)
 *   errors     → one place: AppError → {data, message, status} (5xx add requestId); anything else → 500 envelope, logged
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { App } from '../app.js';
import { AppError, unstorableTextError } from '../errors/index.js';
import { isSuperuser, type AuthState } from '../rules/request-info.js';
import { registerBodyParsers } from './body-parser.js';
import { clientErrorHandler, DEFAULT_HEADERS, frameworkErrorHandler, installSocketGuards } from './envelope-guards.js';
import { customBodyLimit, registerCustomRoutes, type BuiltinRoute, type RouteRegistry } from './custom-routes.js';
import { toAppError } from './error-mapping.js';
import { fieldsPickerHook } from './fields-picker.js';
import { RateLimiter } from './rate-limit.js';
import { resolveAuth, tokenFromHeader } from './request-info.js';
import { superuserIpAllowed, superuserIpRefused } from './superuser-ips.js';
import { registerAdminRoutes } from './routes/admin.js';
import { registerInstallRoutes } from './routes/admin-install.js';
import { registerAdminToolRoutes } from './routes/admin-tools.js';
import { registerCronRoutes } from './routes/crons.js';
import { registerJobRoutes } from './routes/jobs.js';
import { registerWebhookRoutes } from './routes/webhooks.js';
import { registerPaymentRoutes } from './routes/payments.js';
import { registerLogRoutes, requestLogHook } from './routes/logs.js';
import { authenticateApiKey, isApiKey } from './routes/api-keys.js';
import { registerBackupRoutes } from './routes/backups.js';
import { registerBatchRoutes } from './routes/batch.js';
import { registerCollectionRoutes } from './routes/collections.js';
import type { Collection } from '../collections/model.js';
import { fileMaxSelect, fileMaxSize } from '../collections/fields/file.js';
import { registerFileRoutes } from './routes/files.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerMetricsRoutes } from './routes/metrics.js';
import { REQUEST_ID_HEADER, requestIdFor } from './request-id.js';
import { recordRequest } from './request-metrics.js';
import { registerMigrationRoutes } from './routes/migrations.js';
import { UntrustedProxyWatch } from './proxy-headers.js';
import { registerRealtimeRoutes } from './routes/realtime.js';
import { registerRecordAuthRoutes } from './routes/record-auth.js';
import { registerRecordRoutes } from './routes/records.js';
import { registerSettingsRoutes } from './routes/settings.js';
import { registerOpenApiRoutes } from './routes/openapi.js';
import { registerSqlRoutes, type SqlConsoleOptions } from './routes/sql.js';
import { publicFilesHandler } from './routes/public-files.js';
import { registerUiExtensions } from './routes/ui-extensions.js';
import { tracer } from '../tracing/index.js';
import { traceRequests } from './tracing.js';

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthState | null;
    /** performance.now() when the onRequest hook ran (the request log's execTime). */
    startedAt: number;
    /** The X-Request-Id of this request (request-id.ts): in the answer's header, the logs and 5xx bodies. */
    requestId: string;
  }
  interface FastifyInstance {
    rateLimiter: RateLimiter;
  }
}

/**
 * Plinth's routes declare no JSON schemas, so Fastify's schema compilers (ajv: about 0.3 s of start-up
 * to load) are loaded only if a route ever declares one.
 */
const fastifyRequire = createRequire(createRequire(import.meta.url).resolve('fastify'));
type CompilerFactory = (...args: unknown[]) => unknown;
const lazySchemaCompilers = {
  buildValidator: (...args: unknown[]) => (fastifyRequire('@fastify/ajv-compiler') as () => CompilerFactory)()(...args),
  buildSerializer: (...args: unknown[]) => (fastifyRequire('@fastify/fast-json-stringify-compiler') as () => CompilerFactory)()(...args),
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
  /**
   * Custom routes (user code), served after the built-in routes; the registry may change at runtime (dev
   * reload) without restarting the server. See http/custom-routes.ts.
   */
  // biome-ignore lint/suspicious/noExplicitAny: the registry's Api type is the caller's (the hooks' API object)
  routes?: RouteRegistry<any>;
  /**
   * The request timeout for user code in ms: a request hook chain or a custom route handler running longer
   * answers 504 `timeout` (the built-in action's own time does not count). Default 30,000; 0 = no limit.
   */
  hookTimeout?: number;
  /** POST /api/sql: read-only unless `write`; time limit and row cap (docs/sql-console.md). */
  sqlConsole?: SqlConsoleOptions;
  /** The front end served at `/` (PocketBase's pb_public); default `plinth_public` beside the data dir. */
  publicDir?: string;
  /** A missing path under `/` answers the public dir's index.html (SPA); default true, as PocketBase. */
  indexFallback?: boolean;
  /** Dashboard UI extensions (`/_/extensions.js`); default `plinth_extensions` beside the data dir. */
  extensionsDir?: string;
}

export async function buildServer(app: App, options: ServerOptions = {}): Promise<FastifyInstance> {
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const server: FastifyInstance = Fastify({
    // Fastify gets no logger: its per-request logger plumbing (even with request logging off) measured
    // slower in isolation, and nothing needs it. Errors are logged through app.logger below; requests go to
    // the request log (logs/, from an onSend hook) and, with --dev, to stdout from an onResponse hook.
    logger: false,
    bodyLimit,
    // Fastify's own 503-while-closing body is not the envelope: the onRequest hook answers it instead.
    return503OnClosing: false,
    // Long filters travel in the query string; 64 KiB lets the filter limits (not Node's 16 KiB
    // header cap) answer them with a proper 400. The Host check is ours too (Node's is a bodiless 400).
    http: { maxHeaderSize: 64 * 1024, requireHostHeader: false },
    // Everything refused below the routes still answers in the envelope (envelope-guards.ts).
    clientErrorHandler,
    frameworkErrors: frameworkErrorHandler,
    // Slow-client guards (slowloris): whole request within 60 s, headers within 10 s.
    requestTimeout: 60_000,
    connectionTimeout: 0,
    keepAliveTimeout: 5_000,
    routerOptions: { ignoreTrailingSlash: true, caseSensitive: true, maxParamLength: 1000 },
    schemaController: { compilersFactory: lazySchemaCompilers as never },
  }) as unknown as FastifyInstance;
  server.server.headersTimeout = 10_000;
  installSocketGuards(server.server);
  let closing = false;
  server.addHook('preClose', (done) => {
    closing = true;
    done();
  });

  server.decorateRequest('auth', null);
  server.decorateRequest('startedAt', 0);
  server.decorateRequest('requestId', '');
  server.decorateRequest('customRoute', null);
  if (options.hookTimeout !== undefined) app.hooks.requestTimeout = options.hookTimeout;
  // Every built-in route, so custom routes can be refused when they would collide with one.
  const builtins: BuiltinRoute[] = [];
  server.addHook('onRoute', (route) => {
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) builtins.push({ method: String(method), url: route.url ?? route.path });
  });
  registerBodyParsers(server, { bodyLimit, limitFor: (req) => (options.routes ? customBodyLimit(req) : undefined) ?? dynamicBodyLimit(app, req, bodyLimit) });

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
  const proxyWatch = new UntrustedProxyWatch(() => app.settings.get(), app.logger);
  // Tracing (off by default): its hooks exist only when it is on, and come first so auth's SQL is a child.
  if (tracer) traceRequests(server);
  const requestMetrics = app.metrics.http; // null with metrics off
  const markForSlowQueries = app.metrics.slowQueries?.tracksRequests ?? false; // opt-in: AsyncLocalStorage
  server.addHook('onRequest', (req, reply, done) => {
    req.startedAt = performance.now();
    reply.headers(DEFAULT_HEADERS);
    // Observability (metrics/, request-id.ts): the id first, so every answer below carries it.
    const requestId = requestIdFor(req.headers[REQUEST_ID_HEADER]);
    req.requestId = requestId;
    reply.header(REQUEST_ID_HEADER, requestId);
    if (requestMetrics !== null) requestMetrics.start();
    if (markForSlowQueries) app.metrics.enterRequest(requestId);
    // A NUL can reach a path parameter or query value only as %00 (Node refuses raw NUL bytes in the URL).
    // An escape of an unpaired surrogate is invalid UTF-8: a bad URL in the path (frameworkErrors), kept
    // as typed in the query. One scan, then a 400 naming the parameter on both dialects (PostgreSQL cannot
    // store or even compare NUL).
    if (req.url.includes('%00')) return done(nulInUrl(req.url));
    if (closing) {
      void reply.header('connection', 'close');
      return done(new AppError('unavailable', 'The server is shutting down.'));
    }
    if (req.headers.host === undefined && req.raw.httpVersion === '1.1') return done(AppError.badRequest('The Host header is required.'));
    if (proxyWatch.active) proxyWatch.check(req); // warns once about proxy headers nobody trusts, then off
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
  // The request metrics ride on the same onSend hook (one hook stage per request, not two).
  const logHook = requestLogHook(app);
  server.addHook(
    'onSend',
    requestMetrics === null
      ? logHook
      : (req, reply, payload, done) => {
          recordRequest(app, req, reply.statusCode);
          logHook(req, reply, payload, done);
        },
  );
  if (options.logRequests) {
    server.addHook('onResponse', (req, reply, done) => {
      app.logger.info(
        { method: req.method, url: req.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime), requestId: req.requestId },
        'request',
      );
      done();
    });
  }

  server.setErrorHandler((err, req, reply) => {
    const appError = toAppError(err, app);
    const failed = appError.status >= 500;
    if (failed) app.logger.error({ err, method: req.method, url: req.url.split('?')[0], requestId: req.requestId }, 'request failed');
    if (appError.code === 'db_busy' || appError.code === 'unavailable') void reply.header('Retry-After', '1');
    // A 5xx body also names the request id, for the user to quote (docs/pocketbase-compatibility.md).
    const body = failed && req.requestId ? withRequestId(appError, req.requestId) : appError.toEnvelope();
    void reply.code(appError.status).type('application/json').send(body);
  });
  server.setNotFoundHandler((_req, reply) => {
    void reply.code(404).send({ data: {}, message: "The requested resource wasn't found.", status: 404 });
  });

  registerHealthRoutes(server, app);
  registerMetricsRoutes(server, app);
  registerSettingsRoutes(server, app);
  registerCollectionRoutes(server, app);
  registerRecordAuthRoutes(server, app);
  registerRecordRoutes(server, app);
  registerBatchRoutes(server, app);
  registerFileRoutes(server, app);
  registerRealtimeRoutes(server, app);
  registerLogRoutes(server, app);
  registerCronRoutes(server, app);
  registerJobRoutes(server, app);
  registerMigrationRoutes(server, app);
  registerBackupRoutes(server, app);
  registerWebhookRoutes(server, app);
  registerPaymentRoutes(server, app);
  registerSqlRoutes(server, app, options.sqlConsole);
  registerOpenApiRoutes(server, app, builtins, options.routes);
  registerInstallRoutes(server, app);
  registerAdminToolRoutes(server, app);
  registerUiExtensions(server, { dir: options.extensionsDir ?? join(app.config.dataDir, '..', 'plinth_extensions') });
  registerAdminRoutes(server, options.adminDir ? { dir: options.adminDir } : {});
  // Last: the front end (PocketBase's pb_public) at `/`, and the custom routes' dispatcher, the lowest-priority
  // pattern, so a built-in route always wins; a GET no custom route takes falls through to the public files.
  const publicFiles = publicFilesHandler({
    dir: options.publicDir ?? join(app.config.dataDir, '..', 'plinth_public'),
    indexFallback: options.indexFallback ?? true,
    exclude: [app.config.dataDir, app.config.migrationsDir, app.config.hooksDir],
  });
  server.route({ method: ['GET', 'HEAD'], url: '/', handler: publicFiles });
  if (options.routes) registerCustomRoutes(server, app, options.routes, undefined, builtins.slice(), publicFiles);
  else server.route({ method: ['GET', 'HEAD'], url: '/*', handler: publicFiles });
  return server;
}

/** A 5xx envelope with the request id, PocketBase's keys first and in their order (data, message, status). */
function withRequestId(error: AppError, requestId: string): ReturnType<AppError['toEnvelope']> & { requestId: string } {
  const { data, message, status } = error.toEnvelope();
  return { data, message, status, requestId };
}

function limitThenContinue(rateLimiter: RateLimiter, req: FastifyRequest, done: (err?: Error) => void): void {
  let shared: void | Promise<void>;
  try {
    shared = rateLimiter.checkPath(req);
  } catch (err) {
    return done(err as Error);
  }
  // Cluster nodes count in the shared database (a promise); one node decides at once.
  if (shared)
    shared.then(
      () => done(),
      (err: Error) => done(err),
    );
  else done();
}

/** The 400 for a %00 in the URL, naming the query parameter it sits in (or the path). */
function nulInUrl(url: string): AppError {
  const q = url.indexOf('?');
  const at = url.indexOf('%00');
  if (q === -1 || at < q) return unstorableTextError('path', 'path', 'nul');
  for (const pair of url.slice(q + 1).split('&')) {
    if (!pair.includes('%00')) continue;
    const rawName = pair.split('=', 1)[0] ?? '';
    let name: string;
    try {
      name = decodeURIComponent(rawName.replace(/\+/g, ' '));
    } catch {
      name = rawName;
    }
    return unstorableTextError('query', name, 'nul');
  }
  return unstorableTextError('path', 'path', 'nul');
}

/** PocketBase's default CORS preflight: common methods, requested headers echoed back. */
function preflight(req: FastifyRequest, reply: FastifyReply): void {
  reply.header('Access-Control-Allow-Methods', 'GET, HEAD, PUT, PATCH, POST, DELETE');
  const requested = req.headers['access-control-request-headers'];
  if (typeof requested === 'string' && requested.length < 2000) reply.header('Access-Control-Allow-Headers', requested);
  reply.header('Access-Control-Max-Age', '86400');
}
