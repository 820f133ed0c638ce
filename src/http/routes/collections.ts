/** /api/collections: the schema editor's API (superusers only), PocketBase-compatible. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { App } from '../../app.js';
import type { Collection } from '../../collections/model.js';
import { builtinProviders } from '../../auth/oauth2/providers.js';
import { publicCollection } from '../../collections/public.js';
import { scaffolds, tableAsCollection } from '../../collections/system-collections.js';
import { inferViewFields } from '../../collections/view-fields.js';
import { ident, sql, type Sql } from '../../db/sql.js';
import { parseListParams } from '../../records/query.js';
import { compileFilter, compileSort } from '../../rules/index.js';
import type { CollectionCreateRequestEvent, CollectionDeleteRequestEvent, CollectionUpdateRequestEvent, CollectionViewRequestEvent } from '../../hooks/index.js';
import { bodyOf, param, query, requestInfo, requireSuperuser, runHooked } from './helpers.js';
import { collectionTags } from './record-actions.js';

export function registerCollectionRoutes(server: FastifyInstance, app: App): void {
  const meta = tableAsCollection('_collections', [
    ['id', 'text'],
    ['name', 'text'],
    ['type', 'text'],
    ['system', 'bool'],
    ['created', 'text'],
    ['updated', 'text'],
  ]);

  const list = async (req: FastifyRequest) => {
    const q = query(req);
    const params = parseListParams(q);
    const info = requestInfo(req);
    const opts = { collection: meta, schema: app.collections, dialect: app.db.dialect, rootAlias: '_r', request: info, mode: 'client' as const };
    const where: Sql = params.filter.trim() ? sql` WHERE ${compileFilter(params.filter, opts)}` : sql``;
    const order: Sql = params.sort.trim() ? sql` ORDER BY ${compileSort(params.sort, opts)}` : sql` ORDER BY ${ident('_r', 'created')}, ${ident('_r', 'name')}`;
    const from = sql`FROM _collections AS ${ident('_r')}${where}`;
    const rows = await app.db.all<{ id: string }>(
      sql`SELECT ${ident('_r', 'id')} AS id ${from}${order} LIMIT ${params.perPage} OFFSET ${(params.page - 1) * params.perPage}`,
    );
    let totalItems = -1;
    let totalPages = -1;
    if (!params.skipTotal) {
      const count = await app.db.get<{ n: number }>(sql`SELECT COUNT(*) AS n ${from}`);
      totalItems = Number(count?.n ?? 0);
      totalPages = Math.ceil(totalItems / params.perPage);
    }
    const items = rows.map((r) => app.collections.find(r.id)).filter((c): c is Collection => !!c).map(publicCollection);
    return { items, page: params.page, perPage: params.perPage, totalItems, totalPages };
  };
  server.get('/api/collections', async (req, reply) => {
    requireSuperuser(req);
    const hook = app.hooks.onCollectionsListRequest;
    if (hook.length === 0) return list(req);
    return runHooked(app, reply, hook, { tags: [], request: requestInfo(req) }, async () => ({ status: 200, body: await list(req) }));
  });

  server.get('/api/collections/meta/scaffolds', async (req) => {
    requireSuperuser(req);
    return scaffolds();
  });

  server.get('/api/collections/meta/oauth2-providers', async (req) => {
    requireSuperuser(req);
    return builtinProviders();
  });

  server.post('/api/collections/meta/dry-run-view', async (req) => {
    requireSuperuser(req);
    const q = bodyOf(req).data.query;
    return inferViewFields(app.db, { ...scaffolds().view, viewQuery: typeof q === 'string' ? q : '', fields: [] }, app.collections);
  });

  server.put('/api/collections/import', async (req, reply) => {
    requireSuperuser(req);
    const data = bodyOf(req).data;
    await app.collections.import(data.collections, data.deleteMissing === true);
    return reply.code(204).send();
  });

  server.get('/api/collections/:collection', async (req, reply) => {
    requireSuperuser(req);
    const collection = app.collections.require(param(req, 'collection'));
    const hook = app.hooks.onCollectionViewRequest;
    if (hook.length === 0) return publicCollection(collection);
    const e: CollectionViewRequestEvent = { tags: collectionTags(collection), collection, request: requestInfo(req) };
    return runHooked(app, reply, hook, e, async (ev) => ({ status: 200, body: publicCollection(ev.collection) }));
  });

  server.post('/api/collections', async (req, reply) => {
    requireSuperuser(req);
    const hook = app.hooks.onCollectionCreateRequest;
    if (hook.length === 0) return publicCollection(await app.collections.create(bodyOf(req).data));
    const e: CollectionCreateRequestEvent = { tags: [], request: requestInfo(req), body: bodyOf(req).data };
    return runHooked(app, reply, hook, e, async (ev) => ({ status: 200, body: publicCollection(await app.collections.create(ev.body)) }));
  });

  server.patch('/api/collections/:collection', async (req, reply) => {
    requireSuperuser(req);
    const hook = app.hooks.onCollectionUpdateRequest;
    if (hook.length === 0) return publicCollection(await app.collections.update(param(req, 'collection'), bodyOf(req).data));
    const collection = app.collections.require(param(req, 'collection'));
    const e: CollectionUpdateRequestEvent = { tags: collectionTags(collection), collection, request: requestInfo(req), body: bodyOf(req).data };
    return runHooked(app, reply, hook, e, async (ev) => ({ status: 200, body: publicCollection(await app.collections.update(collection.id, ev.body)) }));
  });

  server.delete('/api/collections/:collection', async (req, reply) => {
    requireSuperuser(req);
    const hook = app.hooks.onCollectionDeleteRequest;
    if (hook.length === 0) {
      await app.collections.delete(param(req, 'collection'));
      return reply.code(204).send();
    }
    const collection = app.collections.require(param(req, 'collection'));
    const e: CollectionDeleteRequestEvent = { tags: collectionTags(collection), collection, request: requestInfo(req) };
    return runHooked(app, reply, hook, e, async () => {
      await app.collections.delete(collection.id);
      return { status: 204, body: null };
    });
  });

  server.delete('/api/collections/:collection/truncate', async (req, reply) => {
    requireSuperuser(req);
    await app.collections.truncate(param(req, 'collection'));
    return reply.code(204).send();
  });
}
