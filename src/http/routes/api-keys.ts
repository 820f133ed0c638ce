/**
 * API keys (beyond PocketBase): superusers manage them; a request carrying `Authorization: plk_…` acts as
 * the key inside its scopes on the records API only, and is refused everywhere else.
 *
 *   GET    /api/api-keys          → [{id, name, scopes, created, expires, lastUsed}]
 *   POST   /api/api-keys          {name, scopes: ["posts:list", "*:view", …], duration?} → {…, key} (key shown once)
 *   DELETE /api/api-keys/{id}     → 204 (revoked at once)
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { App } from '../../app.js';
import { API_KEY_PREFIX } from '../../auth/index.js';
import type { ApiKeyAction } from '../../auth/api-keys.js';
import { SUPERUSERS_COLLECTION_ID, type AuthCollection } from '../../collections/model.js';
import { AppError } from '../../errors/index.js';
import { bodyOf, param, requireSuperuser } from './helpers.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The id of the API key the request authenticated with, if any. */
    apiKeyId?: string;
  }
}

/** The records-API action a route performs, or null for every other route. */
function recordAction(req: FastifyRequest): { collection: string; action: ApiKeyAction } | null {
  const url = req.routeOptions.url;
  const collection = (req.params as Record<string, string | undefined>).collection ?? '';
  if (url === '/api/collections/:collection/records') {
    if (req.method === 'GET') return { collection, action: 'list' };
    if (req.method === 'POST') return { collection, action: 'create' };
  }
  if (url === '/api/collections/:collection/records/:id') {
    if (req.method === 'GET') return { collection, action: 'view' };
    if (req.method === 'PATCH') return { collection, action: 'update' };
    if (req.method === 'DELETE') return { collection, action: 'delete' };
  }
  return null;
}

/** Whether an Authorization value is an API key rather than a record token. */
export function isApiKey(raw: string): boolean {
  return raw.startsWith(API_KEY_PREFIX);
}

/**
 * Authenticates a request carrying an API key (called by the server's auth hook): an unknown, expired or
 * revoked key is a 401; a key outside its scopes, or any route other than the records API, a 403.
 */
export async function authenticateApiKey(app: App, req: FastifyRequest, raw: string): Promise<void> {
  const key = await app.auth.apiKeys.verify(raw);
  if (!key) throw AppError.unauthorized('Invalid, expired or revoked API key.');
  const target = recordAction(req);
  const collection = target ? app.collections.find(target.collection) : undefined;
  if (!target || !collection || !key.allows([collection.name, collection.id], target.action)) {
    throw AppError.forbidden('The API key is not allowed to perform this action.');
  }
  // A service identity: superuser powers, narrowed to the key's scopes right here.
  const superusers = app.collections.require(SUPERUSERS_COLLECTION_ID) as AuthCollection;
  req.auth = { collection: superusers, record: { id: '', email: '', tokenKey: '', apiKey: key.info.id } };
  req.apiKeyId = key.info.id;
}

/** Registers the API key endpoints (authentication itself happens in the server's auth hook). */
export function registerApiKeyRoutes(server: FastifyInstance, app: App): void {
  server.get('/api/api-keys', async (req) => {
    requireSuperuser(req);
    return app.auth.apiKeys.list();
  });

  server.post('/api/api-keys', async (req) => {
    requireSuperuser(req);
    return app.auth.apiKeys.create(bodyOf(req).data);
  });

  server.delete('/api/api-keys/:id', async (req, reply) => {
    requireSuperuser(req);
    await app.auth.apiKeys.revoke(param(req, 'id'));
    return reply.code(204).send();
  });
}
