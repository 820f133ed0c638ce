/** /api/collections/{collection}/records[/{id}]: PocketBase's records CRUD. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../../app.js';
import type { Collection } from '../../collections/model.js';
import { clientIp } from '../rate-limit.js';
import { bodyOf, param, requestInfo } from './helpers.js';
import { createAction, deleteAction, listAction, updateAction, viewAction, type ActionResult } from './record-actions.js';

export function registerRecordRoutes(server: FastifyInstance, app: App): void {
  /** A handler for `action`: resolves the collection (404), applies its rate-limit tag, runs, answers. */
  const recordRoute =
    (action: string, run: (req: FastifyRequest, collection: Collection) => Promise<ActionResult>) => async (req: FastifyRequest, reply: FastifyReply) => {
      const collection = app.collections.require(param(req, 'collection'));
      // Only a limited tag (or a cluster's shared counter) returns a promise; awaiting nothing costs a tick.
      const limiting = server.rateLimiter.checkTag(req, collection.name, action);
      if (limiting) await limiting;
      const result = await run(req, collection);
      if (result.status === 204) return reply.code(204).send();
      return reply.code(result.status).send(result.body);
    };

  const base = '/api/collections/:collection/records';
  server.get(
    base,
    recordRoute('list', (req, collection) => listAction(app, collection, requestInfo(req), app.db, clientIp(req, app.settings.get()))),
  );
  server.get(
    `${base}/:id`,
    recordRoute('view', (req, collection) => viewAction(app, collection, param(req, 'id'), requestInfo(req))),
  );
  server.post(
    base,
    recordRoute('create', (req, collection) => createAction(app, collection, bodyOf(req), requestInfo(req))),
  );
  server.patch(
    `${base}/:id`,
    recordRoute('update', (req, collection) => updateAction(app, collection, param(req, 'id'), bodyOf(req), requestInfo(req))),
  );
  server.delete(
    `${base}/:id`,
    recordRoute('delete', (req, collection) => deleteAction(app, collection, param(req, 'id'), requestInfo(req))),
  );
}
