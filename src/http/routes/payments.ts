/**
 * Payments (docs/payments.md), Plinth extensions of PocketBase's API:
 *
 *   GET    /api/payments/config                         {enabled, provider, publishableKey, currencies} (public)
 *   POST   /api/payments/checkout                       {items:[{price, quantity}], successUrl?, cancelUrl?, email?} → {url, orderId, sessionId}
 *   POST   /api/payments/intent                         {items, email?} → {clientSecret, orderId, paymentIntentId, publishableKey}
 *   POST   /api/payments/portal                         {returnUrl?} → {url} (signed-in user)
 *   POST   /api/payments/orders/:id/refund              {amount?} → the order (superusers)
 *   POST   /api/payments/subscriptions/:id/cancel       {immediately?} → the subscription (owner or superuser)
 *   POST   /api/payments/subscriptions/:id/resume       → the subscription (owner or superuser)
 *   POST   /api/payments/stripe/test                    → {ok, accountId, livemode, name} (superusers)
 *   POST   /api/payments/stripe/sync                    {direction: import|export} → counts (superusers)
 *   GET    /api/payments/stats?days=30                  paid totals per day and currency (superusers)
 *   POST   /api/payments/stripe/webhook                 Stripe's events (signature-checked over the raw body)
 *
 * Checkout, intent, refund and subscription changes honour an `Idempotency-Key` request header.
 */
import { readAll } from '../body-parser.js';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { App } from '../../app.js';
import { AppError, fieldError } from '../../errors/index.js';
import { guestRequest } from '../../rules/request-info.js';
import { ORDERS, SUBSCRIPTIONS } from '../../payments/index.js';
import { bodyOf, param, query, requireSuperuser } from './helpers.js';

const WEBHOOK_LIMIT = 1024 * 1024;

function idempotencyKey(req: FastifyRequest): string | undefined {
  const h = req.headers['idempotency-key'];
  return Array.isArray(h) ? h[0] : h;
}

export function registerPaymentRoutes(server: FastifyInstance, app: App): void {
  const payments = app.payments;
  /** A record as its owner sees it through the records API (hidden fields removed). */
  const publicRecord = async (collection: string, record: Record<string, unknown>, req: FastifyRequest) => {
    const c = app.collections.require(collection);
    const [out] = await app.reader.serialise(c, [record], '', guestRequest({ auth: req.auth }), app.db, false);
    return out;
  };

  server.get('/api/payments/config', async () => payments.publicConfig());
  server.post('/api/payments/checkout', async (req) => payments.checkout(req.auth, bodyOf(req).data, idempotencyKey(req)));
  server.post('/api/payments/intent', async (req) => payments.intent(req.auth, bodyOf(req).data, idempotencyKey(req)));
  server.post('/api/payments/portal', async (req) => payments.portal(req.auth, bodyOf(req).data));
  server.post('/api/payments/orders/:id/refund', async (req) => {
    requireSuperuser(req);
    const order = await payments.refund(param(req, 'id'), bodyOf(req).data, idempotencyKey(req));
    return publicRecord(ORDERS, order, req);
  });
  for (const action of ['cancel', 'resume'] as const) {
    server.post(`/api/payments/subscriptions/:id/${action}`, async (req) => {
      const sub = await payments.changeSubscription(req.auth, param(req, 'id'), action, bodyOf(req).data, idempotencyKey(req));
      return publicRecord(SUBSCRIPTIONS, sub, req);
    });
  }
  server.post('/api/payments/stripe/test', async (req) => {
    requireSuperuser(req);
    return payments.testConnection();
  });
  server.post('/api/payments/stripe/sync', async (req) => {
    requireSuperuser(req);
    const body = bodyOf(req).data;
    for (const k of Object.keys(body)) if (k !== 'direction') throw AppError.badRequest(`Unknown field "${k.slice(0, 50)}".`);
    if (body.direction === 'import') return { direction: 'import', ...(await payments.syncImport()) };
    if (body.direction === 'export') return { direction: 'export', ...(await payments.syncExport()) };
    throw AppError.validation('Failed to sync the catalog.', { direction: fieldError('validation_in_invalid', 'Must be "import" or "export"') });
  });
  server.get('/api/payments/stats', async (req) => {
    requireSuperuser(req);
    const days = Number(query(req).days ?? 30);
    if (!Number.isInteger(days) || days < 1 || days > 366) throw AppError.badRequest('days must be a whole number from 1 to 366.');
    return { days, totals: await payments.dailyTotals(days) };
  });

  // The webhook: in a context of its own whose body parser keeps the raw bytes (the signature is over them).
  void server.register(async (child) => {
    child.removeAllContentTypeParsers();
    child.addContentTypeParser('*', (req: FastifyRequest, payload: Readable, done: (err: Error | null, body?: Buffer) => void) => {
      if (Number(req.headers['content-length']) > WEBHOOK_LIMIT) {
        payload.resume();
        return done(new AppError('payload_too_large', `The webhook body is larger than ${WEBHOOK_LIMIT} bytes.`));
      }
      readAll(payload, WEBHOOK_LIMIT, () => new AppError('payload_too_large', `The webhook body is larger than ${WEBHOOK_LIMIT} bytes.`)).then(
        (body) => done(null, body),
        (err: Error) => done(err),
      );
    });
    child.post('/api/payments/stripe/webhook', { bodyLimit: 2 * WEBHOOK_LIMIT }, async (req) => {
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      return payments.webhook(req.headers, raw);
    });
  });
}
