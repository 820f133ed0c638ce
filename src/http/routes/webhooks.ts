/**
 * Webhooks (docs/webhooks.md). Superusers only, except the inbound endpoints:
 *
 *   GET    /api/webhooks                                   list envelope of endpoints (no secrets)
 *   POST   /api/webhooks                                   create; the answer carries `secret` (only time shown)
 *   GET    /api/webhooks/stats                             [{endpoint, url, pending, delivered, failed}]
 *   GET    /api/webhooks/:id                               one endpoint
 *   PATCH  /api/webhooks/:id                               update (url, description, events, filter, headers, enabled)
 *   DELETE /api/webhooks/:id                               delete (its messages and attempts too)
 *   POST   /api/webhooks/:id/rotate-secret                 {overlapHours?} → the endpoint + new `secret`
 *   POST   /api/webhooks/:id/test                          sends a `webhook.test` event
 *   GET    /api/webhooks/:id/messages                      ?status=&type=&since=&page=&perPage=
 *   GET    /api/webhooks/:id/messages/:msgId/attempts      the attempts of one message
 *   POST   /api/webhooks/:id/messages/:msgId/replay        send it again (same webhook-id)
 *   POST   /api/webhooks/:id/replay-failed                 {since?} → {replayed}
 *   POST   /api/webhooks/inbound/:name                     verified inbound webhook (app.webhooks.inbound)
 */
import { readAll } from '../body-parser.js';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { App } from '../../app.js';
import { AppError } from '../../errors/index.js';
import { bodyOf, param, query, requireSuperuser } from './helpers.js';

const DEFAULT_INBOUND_LIMIT = 1024 * 1024;

export function registerWebhookRoutes(server: FastifyInstance, app: App): void {
  const hooks = app.webhooks;
  server.get('/api/webhooks', async (req) => {
    requireSuperuser(req);
    const items = await hooks.list();
    return { page: 1, perPage: Math.max(items.length, 1), totalItems: items.length, totalPages: 1, items };
  });
  server.post('/api/webhooks', async (req) => {
    requireSuperuser(req);
    return hooks.create(bodyOf(req).data);
  });
  server.get('/api/webhooks/stats', async (req) => {
    requireSuperuser(req);
    return hooks.stats();
  });
  server.get('/api/webhooks/:id', async (req) => {
    requireSuperuser(req);
    return hooks.get(param(req, 'id'));
  });
  server.patch('/api/webhooks/:id', async (req) => {
    requireSuperuser(req);
    return hooks.update(param(req, 'id'), bodyOf(req).data);
  });
  server.delete('/api/webhooks/:id', async (req, reply) => {
    requireSuperuser(req);
    await hooks.delete(param(req, 'id'));
    return reply.code(204).send();
  });
  server.post('/api/webhooks/:id/rotate-secret', async (req) => {
    requireSuperuser(req);
    const body = bodyOf(req).data;
    return hooks.rotateSecret(param(req, 'id'), body.overlapHours ?? 24);
  });
  server.post('/api/webhooks/:id/test', async (req) => {
    requireSuperuser(req);
    return hooks.test(param(req, 'id'));
  });
  server.get('/api/webhooks/:id/messages', async (req) => {
    requireSuperuser(req);
    return hooks.messages(param(req, 'id'), query(req));
  });
  server.get('/api/webhooks/:id/messages/:msgId/attempts', async (req) => {
    requireSuperuser(req);
    return hooks.attempts(param(req, 'id'), param(req, 'msgId'));
  });
  server.post('/api/webhooks/:id/messages/:msgId/replay', async (req) => {
    requireSuperuser(req);
    return hooks.replay(param(req, 'id'), param(req, 'msgId'));
  });
  server.post('/api/webhooks/:id/replay-failed', async (req) => {
    requireSuperuser(req);
    return hooks.replayFailed(param(req, 'id'), bodyOf(req).data.since);
  });

  // Inbound: in a context of its own whose body parser keeps the raw bytes (signatures are over them).
  void server.register(async (child) => {
    child.removeAllContentTypeParsers();
    child.addContentTypeParser('*', (req: FastifyRequest, payload: Readable, done: (err: Error | null, body?: Buffer) => void) => {
      const name = (req.params as Record<string, string | undefined>).name ?? '';
      if (!hooks.inbounds.has(name)) {
        payload.resume();
        return done(AppError.notFound('Unknown inbound webhook.'));
      }
      const limit = hooks.inbounds.limitFor(name) ?? DEFAULT_INBOUND_LIMIT;
      const media = (String(req.headers['content-type'] ?? '').split(';')[0] ?? '').trim().toLowerCase();
      if (media !== 'application/json' && !media.endsWith('+json')) {
        payload.resume();
        return done(new AppError('unsupported_media_type', 'Inbound webhooks must be sent as application/json.'));
      }
      const tooLarge = () => new AppError('payload_too_large', `The webhook body is larger than ${limit} bytes.`);
      if (Number(req.headers['content-length']) > limit) {
        payload.resume();
        return done(tooLarge());
      }
      readAll(payload, limit, tooLarge).then(
        (body) => done(null, body),
        (err: Error) => done(err),
      );
    });
    child.post('/api/webhooks/inbound/:name', { bodyLimit: 32 * 1024 * 1024 }, async (req) => {
      const name = param(req, 'name');
      if (!hooks.inbounds.has(name)) throw AppError.notFound('Unknown inbound webhook.');
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      return hooks.inbounds.receive({ name, headers: req.headers, rawBody: raw }, String(req.headers['content-type'] ?? ''));
    });
  });
}
