/** /api/collections: the schema editor's API (superusers only), PocketBase-compatible. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { App } from '../../app.js';
import type { Collection, Field } from '../../collections/model.js';
import { builtinProviders } from '../../auth/oauth2/providers.js';
import { publicCollection } from '../../collections/public.js';
import { scaffolds, tableAsCollection } from '../../collections/system-collections.js';
import { inferViewFields } from '../../collections/view-fields.js';
import { viewQuerySql } from '../../collections/view-query.js';
import { publicRecord, rowToRecord } from '../../records/record-io.js';
import { isSuperuser } from '../../rules/request-info.js';
import { ident, sql, type Sql } from '../../db/sql.js';
import { AppError, fieldError } from '../../errors/index.js';
import { parseListParams } from '../../records/query.js';
import { compileFilter, compileSort } from '../../rules/index.js';
import type {
  CollectionCreateRequestEvent,
  CollectionDeleteRequestEvent,
  CollectionUpdateRequestEvent,
  CollectionViewRequestEvent,
} from '../../hooks/index.js';
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
    const items = rows
      .map((r) => app.collections.find(r.id))
      .filter((c): c is Collection => !!c)
      .map(publicCollection);
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

  // PocketBase's answer: the fields the view would get and up to 10 sample records; errors under `query`.
  server.post('/api/collections/meta/dry-run-view', async (req) => {
    requireSuperuser(req);
    const q = bodyOf(req).data.query;
    if (typeof q !== 'string' || q.trim() === '') {
      throw AppError.validation('An error occurred while validating the submitted data.', { query: fieldError('validation_required', 'Cannot be blank.') });
    }
    const view = { ...scaffolds().view, id: '_dry_run_view', name: '_dry_run_view', viewQuery: q, fields: [] as Field[] };
    let rows: Record<string, unknown>[];
    try {
      view.fields = await inferViewFields(app.db, view, app.collections);
      rows = await app.db.all(sql`SELECT * FROM (${viewQuerySql(q)}) AS ${ident('_dry_run')} LIMIT 10`);
    } catch (err) {
      if (!(err instanceof AppError)) {
        const message = err instanceof Error ? err.message : String(err);
        throw AppError.validation('Invalid view query.', { query: fieldError('validation_invalid_view_query', `The query failed: ${message.slice(0, 300)}`) });
      }
      const first = Object.values(err.data)[0];
      throw AppError.validation(err.message, first ? { query: first } : {});
    }
    const info = requestInfo(req);
    const sample = rows.map((row) =>
      publicRecord(view as Collection, rowToRecord(view as Collection, row), { superuser: isSuperuser(info), authId: null, authCollectionId: null }),
    );
    return { fields: view.fields, sample };
  });

  server.put('/api/collections/import', async (req, reply) => {
    requireSuperuser(req);
    const data = bodyOf(req).data;
    if (!Array.isArray(data.collections) || data.collections.length === 0) {
      throw AppError.validation('An error occurred while validating the submitted data.', {
        collections: fieldError('validation_required', 'Cannot be blank.'),
      });
    }
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
    await app.writer.truncate(app.collections.require(param(req, 'collection')), requestInfo(req));
    return reply.code(204).send();
  });
}
