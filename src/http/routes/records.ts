/** /api/collections/{collection}/records[/{id}]: PocketBase's records CRUD. */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { App } from '../../app.js';
import { clientIp } from '../rate-limit.js';
import { bodyOf, param, requestInfo } from './helpers.js';
import { createAction, deleteAction, listAction, updateAction, viewAction, type ActionResult } from './record-actions.js';

function send(reply: FastifyReply, result: ActionResult) {
  if (result.status === 204) return reply.code(204).send();
  return reply.code(result.status).send(result.body);
}

export function registerRecordRoutes(server: FastifyInstance, app: App): void {
  const base = '/api/collections/:collection/records';
  server.get(base, async (req, reply) => {
    const collection = app.collections.require(param(req, 'collection'));
    await server.rateLimiter.checkTag(req, collection.name, 'list');
    return send(reply, await listAction(app, collection, requestInfo(req), app.db, clientIp(req, app.settings.get())));
  });
  server.get(`${base}/:id`, async (req, reply) => {
    const collection = app.collections.require(param(req, 'collection'));
    await server.rateLimiter.checkTag(req, collection.name, 'view');
    return send(reply, await viewAction(app, collection, param(req, 'id'), requestInfo(req)));
  });
  server.post(base, async (req, reply) => {
    const collection = app.collections.require(param(req, 'collection'));
    await server.rateLimiter.checkTag(req, collection.name, 'create');
    return send(reply, await createAction(app, collection, bodyOf(req), requestInfo(req)));
  });
  server.patch(`${base}/:id`, async (req, reply) => {
    const collection = app.collections.require(param(req, 'collection'));
    await server.rateLimiter.checkTag(req, collection.name, 'update');
    return send(reply, await updateAction(app, collection, param(req, 'id'), bodyOf(req), requestInfo(req)));
  });
  server.delete(`${base}/:id`, async (req, reply) => {
    const collection = app.collections.require(param(req, 'collection'));
    await server.rateLimiter.checkTag(req, collection.name, 'delete');
    return send(reply, await deleteAction(app, collection, param(req, 'id'), requestInfo(req)));
  });
}
