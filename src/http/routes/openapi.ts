/**
 * GET /api/openapi.json: the OpenAPI 3.1 document of this instance, generated from the live schema
 * (src/openapi/). Superusers get every route and collection; everyone else the public view (collections
 * with a non-null API rule, no hidden fields, no superuser-only routes) — docs/openapi.md.
 *
 * The document is built on first request (the builder loads lazily) and cached per audience until the
 * schema changes: the collections' `version` (bumped on every change, including a cluster reload), the
 * custom routes' `version` (a dev reload), the route table and the app name form the cache key.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { App } from '../../app.js';
import { isSuperuser } from '../../rules/request-info.js';
import type { BuiltinRoute, RouteRegistry } from '../custom-routes.js';

let packageVersion: string | undefined;
function version(): string {
  if (packageVersion === undefined) {
    try {
      // dist/src/http/routes/openapi.js (or src/http/routes/openapi.ts) → the package root.
      const pkg = JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
      packageVersion = typeof pkg.version === 'string' ? pkg.version : '0.0.0';
    } catch {
      packageVersion = '0.0.0';
    }
  }
  return packageVersion;
}

export function registerOpenApiRoutes(
  server: FastifyInstance,
  app: App,
  builtins: readonly BuiltinRoute[],
  // biome-ignore lint/suspicious/noExplicitAny: any registry's routes are listed
  routes: RouteRegistry<any> | undefined,
): void {
  const cache = new Map<string, { key: string; body: string; etag: string }>();
  server.get('/api/openapi.json', async (req, reply) => {
    const audience = isSuperuser(req) ? 'superuser' : 'public';
    const title = app.settings.get().meta.appName || 'Plinth';
    const key = `${app.collections.version}|${routes?.version ?? 0}|${builtins.length}|${title}`;
    let hit = cache.get(audience);
    if (hit?.key !== key) {
      const { buildDocument } = await import('../../openapi/index.js');
      const doc = buildDocument({
        collections: app.collections.all(),
        builtins,
        customRoutes: (routes?.list() ?? []).map((r) => ({ method: r.method, path: r.path, auth: r.options.auth, openapi: r.options.openapi })),
        audience,
        title,
        version: version(),
      });
      const body = JSON.stringify(doc);
      hit = { key, body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
      cache.set(audience, hit);
    }
    // The same document for a caller's audience until the schema changes: clients may revalidate with the ETag.
    void reply.header('cache-control', 'private, no-cache').header('etag', hit.etag).header('vary', 'Authorization');
    if (req.headers['if-none-match'] === hit.etag) return reply.code(304).send();
    return reply.type('application/json; charset=utf-8').send(hit.body);
  });
}
