/**
 * Payments (docs/payments.md): checkout, payment intents, the customer portal, refunds, subscription
 * cancel/resume, and the webhook that moves orders and subscriptions through their states exactly once.
 *
 * Money-critical rules, in one place:
 * - The client names prices and quantities only; amounts come from the `prices` collection (never the body).
 * - The order row is committed BEFORE the provider is called, and its id travels in the provider's metadata,
 *   so a webhook that arrives before the checkout call returns finds it.
 * - Every provider write carries an idempotency key derived from the order (`plinth_checkout_<order>`…): a
 *   repeated or retried call gives the same session, intent or refund.
 * - A webhook's event id is inserted into `_paymentEvents` in the SAME transaction as the order/subscription
 *   change and the hooks it fires: a crash before commit leaves nothing (the provider retries and it runs
 *   once); a re-delivery finds the id and changes nothing.
 * - Status only moves forward (pending → paid → partially_refunded → refunded; disputes and refunds that fail
 *   later at the provider aside, the latter once per refund), so events
 *   out of order cannot move a paid order back to pending; subscriptions apply an event only if it is not
 *   older than the last one applied, and `canceled` is final.
 * - Order and subscription rows are updated under a row lock (PostgreSQL FOR UPDATE; SQLite has one writer).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Collection } from '../collections/model.js';
import { USERS_COLLECTION_ID } from '../collections/model.js';
import type { CollectionStore } from '../collections/store.js';
import type { Database, Executor } from '../db/dialect.js';
import { ident, sql } from '../db/sql.js';
import { AppError, fieldError, type FieldErrors } from '../errors/index.js';
import type { HookBus, PaymentEvent, RecordData } from '../hooks/index.js';
import type { RecordReader } from '../records/query.js';
import { systemRequest } from '../records/system-request.js';
import type { RecordWriter } from '../records/write.js';
import { isSuperuser, type AuthState, type RequestInfo } from '../rules/request-info.js';
import type { Settings, SettingsStore } from '../settings/index.js';
import { formatDateTime } from '../util/datetime.js';
import type { Logger } from '../util/logger.js';
import { isMissingCustomer, type LineItem, type OrderTransition, type PaymentProvider, type ProviderEvent, type SubscriptionState } from './provider.js';
import { createPaymentTables, ensurePaymentCollections, lockRow, ORDERS, PRICES, PRODUCTS, SUBSCRIPTIONS, type OrderStatus } from './schema.js';
import { StripeProvider, type StripeOptions } from './stripe.js';

export interface PaymentsOptions {
  /** How Plinth reaches Stripe (stripe-mock or a local stand-in for tests: `apiBase`). */
  stripe?: StripeOptions;
}

export interface PaymentDeps {
  db: Database;
  collections: CollectionStore;
  reader: RecordReader;
  writer: RecordWriter;
  hooks: HookBus;
  settings: SettingsStore;
  logger: Logger;
}

const MAX_ITEMS = 100;
const MAX_QUANTITY = 10_000;
/** Stripe's largest amount (eight digits of minor units; https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts). */
const MAX_TOTAL = 99_999_999;
/** Same signed-in user, same cart, within this window (and the one before): the same checkout. */
const DEDUP_WINDOW_MS = 10 * 60_000;

/** Forward-only order of statuses: an event may move an order only to a higher rank (disputes aside). */
const RANK: Record<OrderStatus, number> = { pending: 0, failed: 1, expired: 1, paid: 2, partially_refunded: 3, refunded: 4, disputed: 5 };

interface CheckoutInput {
  items: Array<{ price: string; quantity: number }>;
  successUrl?: string;
  cancelUrl?: string;
  returnUrl?: string;
  email?: string;
}

export class PaymentService {
  private providerCache: { key: string; provider: PaymentProvider } | null = null;
  private ensuring: Promise<void> | null = null;

  constructor(
    private readonly deps: PaymentDeps,
    private readonly options: PaymentsOptions = {},
  ) {}

  /** Internal tables at start; the collections now if payments are enabled, else when they get enabled. */
  async init(): Promise<void> {
    await createPaymentTables(this.deps.db);
    this.deps.hooks.onSettingsChange.bind(
      async (e, next) => {
        await next();
        if ((e.settings as Settings).payments?.stripe?.enabled) {
          await this.ensureCollections().catch((err) => this.deps.logger.error({ err }, 'payments: could not create the payment collections'));
        }
      },
      { id: '__plinthPayments__' },
    );
    // A linked provider price is immutable: a price record whose amount, currency or interval changes is unlinked
    // (the next checkout sends it inline, the next export creates a new provider price), so the buyer is never
    // charged the old amount while the order records the new one.
    this.deps.hooks.onRecordUpdate.bind(
      (e, next) => {
        const prev = e.previous;
        const r = e.record;
        if (prev && r.providerPriceId && r.providerPriceId === prev.providerPriceId) {
          if (['amount', 'currency', 'interval', 'intervalCount'].some((k) => JSON.stringify(r[k]) !== JSON.stringify(prev[k]))) r.providerPriceId = '';
        }
        return next();
      },
      { id: '__plinthPaymentsPriceLink__', tags: [PRICES] },
    );
    // A problem here (say, the users collection was removed) must not stop the server: the payment calls report it.
    if (this.config().enabled)
      await this.ensureCollections().catch((err) => this.deps.logger.error({ err }, 'payments: could not create the payment collections'));
  }

  private config(): Settings['payments']['stripe'] {
    return this.deps.settings.get().payments.stripe;
  }

  ensureCollections(): Promise<void> {
    if (PAYMENT_COLLECTIONS.every((n) => this.deps.collections.find(n))) return Promise.resolve();
    this.ensuring ??= ensurePaymentCollections(this.deps.collections).finally(() => {
      this.ensuring = null;
    });
    return this.ensuring;
  }

  /** The configured provider (rebuilt when the keys change); 400 while payments are not set up. */
  provider(requireEnabled = true): PaymentProvider {
    const cfg = this.config();
    if (requireEnabled && !cfg.enabled) throw new AppError('payments_not_configured', 'Payments are not enabled (settings payments.stripe.enabled).');
    if (cfg.secretKey === '') throw new AppError('payments_not_configured', 'The Stripe secret key is not set (settings payments.stripe.secretKey).');
    const cacheKey = `${cfg.secretKey}\0${cfg.webhookSecret}`;
    // The secrets are plain text in memory; the settings store seals them at rest (SECRET_PATHS, docs/security.md).
    if (this.providerCache?.key !== cacheKey) {
      this.providerCache = { key: cacheKey, provider: new StripeProvider(cfg.secretKey, cfg.webhookSecret ? [cfg.webhookSecret] : [], this.options.stripe) };
    }
    return this.providerCache.provider;
  }

  private col(name: string): Collection {
    const c = this.deps.collections.find(name);
    if (!c) throw new AppError('payments_not_configured', `The "${name}" collection is missing (enable payments to create it).`);
    return c;
  }

  private sys(): RequestInfo {
    return systemRequest(this.deps.collections);
  }

  // ---------------------------------------------------------------------------------------------------
  // Set-up

  async testConnection(): Promise<{ ok: true; accountId: string; livemode: boolean; name: string }> {
    const info = await this.provider(false).testConnection();
    return { ok: true, ...info };
  }

  /** What a front end needs (public): whether payments are on, the publishable key, the currencies. */
  publicConfig(): { enabled: boolean; provider: string; publishableKey: string; currencies: string[] } {
    const cfg = this.config();
    return { enabled: cfg.enabled, provider: 'stripe', publishableKey: cfg.publishableKey, currencies: [...cfg.currencies] };
  }

  // ---------------------------------------------------------------------------------------------------
  // Checkout and payment intents

  async checkout(
    auth: AuthState | null,
    body: Record<string, unknown>,
    idempotencyHeader: string | undefined,
  ): Promise<{ url: string; orderId: string; sessionId: string }> {
    const provider = this.provider();
    await this.ensureCollections();
    const input = parseCheckoutBody(body, ['items', 'successUrl', 'cancelUrl', 'email']);
    const buyer = this.buyer(auth);
    const cart = await this.priceCart(input, buyer);
    const successUrl = this.returnUrl(input.successUrl, 'successUrl', this.config().successUrl, '/?checkout=success&order={ORDER_ID}');
    const cancelUrl = this.returnUrl(input.cancelUrl, 'cancelUrl', this.config().cancelUrl, '/?checkout=cancel&order={ORDER_ID}');
    const fingerprint = hash(JSON.stringify(['checkout', cart.fingerprint, successUrl, cancelUrl, input.email ?? '']));
    const order = await this.openOrder(buyer, cart, 'checkout', fingerprint, idempotencyHeader, input.email ?? null);
    if (order.sessionId && order.checkoutUrl) return { url: String(order.checkoutUrl), orderId: String(order.id), sessionId: String(order.sessionId) };
    const orderId = String(order.id);
    const retry = retryKeySuffix(order);
    const { result: session, customerId } = await this.withCustomer(provider, buyer, (customerId, keySuffix) =>
      this.providerCall(orderId, () =>
        provider.createCheckout({
          orderId,
          mode: cart.mode,
          items: cart.items,
          currency: cart.currency,
          customerId,
          customerEmail: customerId ? null : (input.email ?? null),
          userId: buyer.userId,
          successUrl: successUrl.replaceAll('{ORDER_ID}', orderId),
          cancelUrl: cancelUrl.replaceAll('{ORDER_ID}', orderId),
          idempotencyKey: `plinth_checkout_${orderId}${keySuffix}${retry}`,
        }),
      ),
    );
    await this.mutateOrder(orderId, null, (o) => ({
      sessionId: session.sessionId,
      checkoutUrl: session.url,
      lastError: '',
      ...(session.paymentId && !o.paymentId ? { paymentId: session.paymentId } : {}),
      ...(customerId && !o.customerId ? { customerId } : {}),
    }));
    return { url: session.url, orderId, sessionId: session.sessionId };
  }

  async intent(
    auth: AuthState | null,
    body: Record<string, unknown>,
    idempotencyHeader: string | undefined,
  ): Promise<{ clientSecret: string; orderId: string; paymentIntentId: string; publishableKey: string }> {
    const provider = this.provider();
    await this.ensureCollections();
    const input = parseCheckoutBody(body, ['items', 'email']);
    const buyer = this.buyer(auth);
    const cart = await this.priceCart(input, buyer);
    if (cart.mode !== 'payment') throw fieldsError({ items: fieldError('validation_invalid_value', 'Recurring prices need a checkout, not a payment intent') });
    const fingerprint = hash(JSON.stringify(['intent', cart.fingerprint, input.email ?? '']));
    const order = await this.openOrder(buyer, cart, 'intent', fingerprint, idempotencyHeader, input.email ?? null);
    const orderId = String(order.id);
    // Repeating the call (same order) returns the same intent.
    if (order.paymentId) {
      const known = await this.providerCall(orderId, () => provider.retrieveIntent(String(order.paymentId)));
      return { clientSecret: known.clientSecret, orderId, paymentIntentId: known.paymentId, publishableKey: this.config().publishableKey };
    }
    const retry = retryKeySuffix(order);
    const { result: intent, customerId } = await this.withCustomer(provider, buyer, (customerId, keySuffix) =>
      this.providerCall(orderId, () =>
        provider.createIntent({
          orderId,
          amount: cart.total,
          currency: cart.currency,
          description: cart.items
            .map((i) => `${i.quantity} × ${i.name}`)
            .join(', ')
            .slice(0, 500),
          customerId,
          userId: buyer.userId,
          idempotencyKey: `plinth_intent_${orderId}${keySuffix}${retry}`,
        }),
      ),
    );
    await this.mutateOrder(orderId, null, (o) => ({
      lastError: '',
      ...(!o.paymentId ? { paymentId: intent.paymentId } : {}),
      ...(customerId && !o.customerId ? { customerId } : {}),
    }));
    return { clientSecret: intent.clientSecret, orderId, paymentIntentId: intent.paymentId, publishableKey: this.config().publishableKey };
  }

  async portal(auth: AuthState | null, body: Record<string, unknown>): Promise<{ url: string }> {
    const provider = this.provider();
    const buyer = this.buyer(auth);
    if (!buyer.userId) throw AppError.unauthorized('The customer portal needs a signed-in user.');
    const input = parseCheckoutBody(body, ['returnUrl']);
    const returnUrl = this.returnUrl(input.returnUrl, 'returnUrl', '', '/');
    const row = await this.deps.db.get<{ customer: string }>(
      sql`SELECT customer FROM "_paymentCustomers" WHERE provider = ${provider.name} AND "user" = ${buyer.userId}`,
    );
    const none = () => AppError.notFound('This user has no billing account yet (it is created with the first checkout).');
    if (!row || row.customer.startsWith('!')) throw none();
    try {
      return await this.providerCall(null, () => provider.portalSession(row.customer, returnUrl));
    } catch (err) {
      if (!isMissingCustomer(err)) throw err;
      // Made with other keys (test mode before going live) or deleted in Stripe: none with these keys.
      await this.forgetCustomer(provider, buyer.userId, row.customer);
      throw none();
    }
  }

  private buyer(auth: AuthState | null): { userId: string | null; email: string | null } {
    if (!auth) return { userId: null, email: null };
    if (isSuperuser({ auth })) throw AppError.badRequest('Superusers do not check out; sign in as a user (or as a guest, if the product allows).');
    if (auth.collection.id !== USERS_COLLECTION_ID) throw AppError.badRequest('Checkout is for records of the "users" collection.');
    return { userId: String(auth.record.id), email: typeof auth.record.email === 'string' && auth.record.email !== '' ? auth.record.email : null };
  }

  /** The cart priced from the database: every line checked (active, currency allowed, guests allowed). */
  private async priceCart(
    input: CheckoutInput,
    buyer: { userId: string | null },
  ): Promise<{ items: LineItem[]; currency: string; total: number; mode: 'payment' | 'subscription'; fingerprint: string }> {
    const prices = this.col(PRICES);
    const products = this.col(PRODUCTS);
    const allowed = this.config().currencies;
    const errors: FieldErrors = {};
    const items: LineItem[] = [];
    for (const [i, line] of input.items.entries()) {
      const price = await this.deps.reader.findById(prices, line.price);
      const product = price ? await this.deps.reader.findById(products, String(price.product)) : undefined;
      const at = (message: string) => {
        errors[String(i)] = { price: fieldError('validation_invalid_value', message) };
      };
      if (!price || !product) {
        at(`Unknown price "${line.price.slice(0, 50)}"`);
        continue;
      }
      if (!price.active || !product.active) {
        at('This price is not for sale');
        continue;
      }
      if (!buyer.userId && !product.allowGuests) {
        errors[String(i)] = { price: fieldError('validation_auth_required', 'Sign in to buy this product') };
        continue;
      }
      const currency = String(price.currency);
      if (!allowed.includes(currency)) {
        at(`The currency "${currency}" is not accepted (settings payments.stripe.currencies)`);
        continue;
      }
      const images = Array.isArray(product.images) ? (product.images as string[]) : [];
      const appUrl = this.deps.settings.get().meta.appURL.replace(/\/+$/, '');
      items.push({
        price: String(price.id),
        product: String(product.id),
        name: String(product.name) + (price.label ? ` (${String(price.label)})` : ''),
        description: String(product.description ?? ''),
        images: images.map((f) => `${appUrl}/api/files/${products.id}/${String(product.id)}/${encodeURIComponent(f)}`),
        unitAmount: Number(price.amount),
        currency,
        quantity: line.quantity,
        interval: (price.interval as LineItem['interval']) || '',
        intervalCount: Math.max(1, Number(price.intervalCount) || 1),
        providerPriceId: String(price.providerPriceId ?? ''),
      });
    }
    if (Object.keys(errors).length) throw fieldsError({ items: errors });
    const currencies = new Set(items.map((i) => i.currency));
    if (currencies.size > 1) throw fieldsError({ items: fieldError('validation_invalid_value', 'All prices of one checkout must be in the same currency') });
    const recurring = items.filter((i) => i.interval);
    if (new Set(recurring.map((i) => `${i.interval}/${i.intervalCount}`)).size > 1) {
      throw fieldsError({ items: fieldError('validation_invalid_value', 'Recurring prices of one checkout must share the billing interval') });
    }
    const total = items.reduce((sum, i) => sum + i.unitAmount * i.quantity, 0);
    if (!Number.isSafeInteger(total) || total < 1)
      throw fieldsError({ items: fieldError('validation_invalid_value', 'The total must be at least 1 (minor unit)') });
    // Checked here, before an order or a provider call exists: Stripe refuses more (amount_too_large).
    if (total > MAX_TOTAL)
      throw fieldsError({
        items: fieldError('validation_invalid_value', `The total must be at most ${MAX_TOTAL} minor units (Stripe's limit); split the order`),
      });
    // What was priced, not only what was asked for: a price edited between two tries makes a different order
    // (the order's amount and the provider's session must agree, and the provider call keyed by the order
    // must carry the same parameters every time).
    const fingerprint = hash(
      JSON.stringify(items.map((i) => [i.price, i.quantity, i.unitAmount, i.currency, i.interval, i.intervalCount, i.providerPriceId, i.name]).sort()),
    );
    return { items, currency: [...currencies][0] as string, total, mode: recurring.length ? 'subscription' : 'payment', fingerprint };
  }

  /**
   * The pending order for this request: the one an earlier identical request made (same Idempotency-Key, or
   * the same signed-in user and cart within ten minutes), else a new one committed now.
   */
  private async openOrder(
    buyer: { userId: string | null; email: string | null },
    cart: { items: LineItem[]; currency: string; total: number; mode: 'payment' | 'subscription' },
    flow: 'checkout' | 'intent',
    fingerprint: string,
    header: string | undefined,
    email: string | null,
  ): Promise<RecordData> {
    const orders = this.col(ORDERS);
    // Guests share no identity: their header keys are scoped by the email they give, so two guests' keys never meet.
    const who = buyer.userId ?? `guest:${email ?? ''}`;
    let keys: string[];
    if (header !== undefined) {
      if (header === '' || header.length > 255) throw AppError.badRequest('The Idempotency-Key header must be 1-255 characters.');
      keys = [hash(`h|${flow}|${who}|${header}`)];
    } else if (buyer.userId) {
      const w = Math.floor(Date.now() / DEDUP_WINDOW_MS);
      keys = [hash(`d|${who}|${fingerprint}|${w}`), hash(`d|${who}|${fingerprint}|${w - 1}`)];
    } else keys = [hash(`r|${randomUUID()}`)];
    for (let attempt = 0; attempt < 3; attempt++) {
      for (const key of keys) {
        const row = await this.deps.db.get<{ id: string }>(sql`SELECT id FROM ${ident(ORDERS)} WHERE ${ident('checkoutKey')} = ${key}`);
        if (!row) continue;
        const existing = await this.deps.reader.findById(orders, row.id);
        if (!existing) continue;
        if (existing.fingerprint !== fingerprint) {
          if (header !== undefined) {
            throw new AppError('idempotency_key_reused', 'This Idempotency-Key was used for a different request (or the prices changed since); use a new key.');
          }
          continue;
        }
        // A header key replays the first answer whatever became of the order; a derived one only while it is pending.
        if (header !== undefined || existing.status === 'pending') return existing;
        keys = keys.filter((k) => k !== key);
      }
      try {
        return await this.deps.writer.create(
          orders,
          {
            data: {
              user: buyer.userId ?? '',
              email: buyer.email ?? email ?? '',
              status: 'pending',
              flow,
              mode: cart.mode,
              amountTotal: cart.total,
              currency: cart.currency,
              items: cart.items.map((i) => ({
                price: i.price,
                product: i.product,
                name: i.name,
                quantity: i.quantity,
                unitAmount: i.unitAmount,
                interval: i.interval,
              })),
              refundedAmount: 0,
              refunds: [],
              provider: 'stripe',
              checkoutKey: keys[0] ?? hash(`r|${randomUUID()}`),
              fingerprint,
            },
          },
          this.sys(),
        );
      } catch (err) {
        // The same request at the same moment: the other one's order won the unique key; use it.
        if (err instanceof AppError && err.data.checkoutKey) continue;
        throw err;
      }
    }
    throw new AppError('unavailable', 'The checkout could not be recorded; try again.');
  }

  /** The provider customer of a signed-in user: created once (idempotent on the user id), remembered. */
  private async customerFor(provider: PaymentProvider, buyer: { userId: string | null; email: string | null }): Promise<string> {
    const userId = buyer.userId as string;
    const read = async () =>
      (await this.deps.db.get<{ customer: string }>(sql`SELECT customer FROM "_paymentCustomers" WHERE provider = ${provider.name} AND "user" = ${userId}`))
        ?.customer;
    const found = await read();
    if (found && !found.startsWith('!')) return found;
    // A forgotten customer (a tombstone) gives the key of the next one.
    const keySuffix = found ? `_${hash(found).slice(0, 12)}` : '';
    const customer = await this.providerCall(null, () =>
      provider.createCustomer({ email: buyer.email ?? '', userId, idempotencyKey: `plinth_customer_${userId}${keySuffix}` }),
    );
    if (found) {
      await this.deps.db.run(
        sql`UPDATE "_paymentCustomers" SET customer = ${customer}, created = ${Date.now()} WHERE provider = ${provider.name} AND "user" = ${userId} AND customer = ${found}`,
      );
    } else {
      await this.deps.db.run(
        sql`INSERT INTO "_paymentCustomers" (provider, "user", customer, created) VALUES (${provider.name}, ${userId}, ${customer}, ${Date.now()}) ON CONFLICT DO NOTHING`,
      );
    }
    const now = await read();
    return now && !now.startsWith('!') ? now : customer;
  }

  /**
   * A provider call on behalf of the buyer's customer (none for a guest). When the provider no longer knows the
   * stored customer (deleted in its dashboard, or made with other keys: test mode before going live, another
   * account), the mapping is replaced by a new customer and the call made once more, under an idempotency key
   * of its own (`keySuffix`) since its parameters differ.
   */
  private async withCustomer<T>(
    provider: PaymentProvider,
    buyer: { userId: string | null; email: string | null },
    call: (customerId: string | null, keySuffix: string) => Promise<T>,
  ): Promise<{ result: T; customerId: string | null }> {
    if (!buyer.userId) return { result: await call(null, ''), customerId: null };
    const stored = await this.customerFor(provider, buyer);
    try {
      return { result: await call(stored, ''), customerId: stored };
    } catch (err) {
      if (!isMissingCustomer(err)) throw err;
      this.deps.logger.warn({ user: buyer.userId, customer: stored }, 'payments: the provider does not know the stored customer; making a new one');
      await this.forgetCustomer(provider, buyer.userId, stored);
      const fresh = await this.customerFor(provider, buyer);
      return { result: await call(fresh, `_${hash(fresh).slice(0, 12)}`), customerId: fresh };
    }
  }

  /**
   * Leaves a tombstone (`!<old id>`) rather than deleting the row: the next customer is made under an idempotency
   * key derived from it, so neither the provider's replay of an earlier key nor two concurrent replacements can
   * bring back a forgotten customer or make two.
   */
  private async forgetCustomer(provider: PaymentProvider, userId: string, customer: string): Promise<void> {
    await this.deps.db.run(
      sql`UPDATE "_paymentCustomers" SET customer = ${`!${customer}`} WHERE provider = ${provider.name} AND "user" = ${userId} AND customer = ${customer}`,
    );
  }

  /** A provider call; on failure the order (when there is one) keeps its state and records the error. */
  private async providerCall<T>(orderId: string | null, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (orderId && err instanceof AppError && (err.code === 'payment_provider_error' || err.code === 'payment_request_invalid')) {
        await this.mutateOrder(orderId, null, () => ({ lastError: err.message.slice(0, 1000) })).catch(() => undefined);
      }
      throw err;
    }
  }

  /** A return URL from the client must be on an origin the settings already name (no open redirects). */
  private returnUrl(given: string | undefined, field: string, configured: string, fallbackPath: string): string {
    const s = this.deps.settings.get();
    const appUrl = s.meta.appURL.replace(/\/+$/, '');
    if (given === undefined || given === '') return configured || appUrl + fallbackPath;
    const allowed = new Set<string>();
    for (const u of [s.payments.stripe.successUrl, s.payments.stripe.cancelUrl, appUrl]) {
      try {
        if (u) allowed.add(new URL(u.replace('{CHECKOUT_SESSION_ID}', 'x')).origin);
      } catch {
        // an unparsable setting allows nothing
      }
    }
    let origin = '';
    try {
      const u = new URL(given.replaceAll('{CHECKOUT_SESSION_ID}', 'x').replaceAll('{ORDER_ID}', 'x'));
      if (u.protocol === 'http:' || u.protocol === 'https:') origin = u.origin;
    } catch {
      // invalid below
    }
    if (!origin || !allowed.has(origin)) {
      throw fieldsError({ [field]: fieldError('validation_invalid_url', 'Must be an http(s) URL on the app URL or the configured success/cancel URL origin') });
    }
    return given;
  }

  // ---------------------------------------------------------------------------------------------------
  // Refunds and subscription changes

  async refund(orderId: string, body: Record<string, unknown>, header: string | undefined): Promise<RecordData> {
    const provider = this.provider();
    const orders = this.col(ORDERS);
    for (const k of Object.keys(body)) if (k !== 'amount') throw fieldsError({ [k]: fieldError('validation_unknown_field', 'Unknown field') });
    const order = await this.deps.reader.findById(orders, orderId);
    if (!order) throw AppError.notFound();
    if (header !== undefined && (header === '' || header.length > 255)) throw AppError.badRequest('The Idempotency-Key header must be 1-255 characters.');
    const refunds = Array.isArray(order.refunds) ? (order.refunds as Array<Record<string, unknown>>) : [];
    const headerKey = header !== undefined ? `plinth_refund_${orderId}_${hash(header).slice(0, 32)}` : null;
    const prior = headerKey ? refunds.find((r) => r.key === headerKey) : undefined;
    if (prior) {
      // This request already refunded; the same key for another amount is a mistake to report, not to replay.
      if (body.amount !== undefined && body.amount !== Number(prior.amount)) {
        throw new AppError(
          'idempotency_key_reused',
          `This Idempotency-Key already refunded ${Number(prior.amount)} of this order; use a new key for another refund.`,
        );
      }
      return order;
    }
    const total = Number(order.amountTotal);
    const refunded = Number(order.refundedAmount) || 0;
    const remaining = total - refunded;
    if (body.amount === undefined && order.status === 'refunded') return order; // a repeated full refund: nothing left to do
    if (!['paid', 'partially_refunded'].includes(String(order.status)) || !order.paymentId) {
      throw AppError.badRequest(`Only a paid order can be refunded (this one is ${String(order.status)}).`);
    }
    const amount = body.amount === undefined ? remaining : body.amount;
    if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount < 1 || amount > remaining) {
      throw fieldsError({ amount: fieldError('validation_invalid_value', `Must be a whole number of minor units from 1 to ${remaining}`) });
    }
    // Without a header, the same refund asked twice against the same state (a double click) is one refund. After a
    // refund failed, the state may be the same as before it: the count of failed refunds tells them apart (the
    // old key would replay the failed refund).
    const failed = refunds.filter(isFailedRefund).length;
    const key = headerKey ?? `plinth_refund_${orderId}_${refunded}_${amount}${failed ? `_f${failed}` : ''}`;
    const result = await this.providerCall(null, () => provider.refund({ paymentId: String(order.paymentId), amount, orderId, idempotencyKey: key }));
    const updated = await this.mutateOrder(
      orderId,
      null,
      (o) => {
        const list = Array.isArray(o.refunds) ? [...(o.refunds as Array<Record<string, unknown>>)] : [];
        if (!list.some((r) => r.id === result.refundId))
          list.push({ id: result.refundId, amount: result.amount, status: result.status, key, created: formatDateTime(new Date()) });
        return {
          refunds: list,
          // Refunds made in Stripe's dashboard are not in the list: the charge's own total counts them.
          ...refundPatch(
            o,
            Math.max(
              list.reduce((s, r) => s + (isFailedRefund(r) ? 0 : Number(r.amount) || 0), 0),
              result.chargeRefunded ?? 0,
            ),
          ),
        };
      },
      'onPaymentRefunded',
    );
    return updated;
  }

  async changeSubscription(
    auth: AuthState | null,
    id: string,
    action: 'cancel' | 'resume',
    body: Record<string, unknown>,
    header: string | undefined,
  ): Promise<RecordData> {
    const provider = this.provider();
    const subs = this.col(SUBSCRIPTIONS);
    for (const k of Object.keys(body))
      if (k !== 'immediately' || action !== 'cancel') throw fieldsError({ [k]: fieldError('validation_unknown_field', 'Unknown field') });
    if (body.immediately !== undefined && typeof body.immediately !== 'boolean')
      throw fieldsError({ immediately: fieldError('validation_invalid_value', 'Must be a boolean') });
    if (!auth) throw AppError.unauthorized('Sign in to change a subscription.');
    const sub = await this.deps.reader.findById(subs, id);
    // Someone else's subscription is simply not found (as the view rule answers).
    if (!sub || (!isSuperuser({ auth }) && (auth.collection.id !== USERS_COLLECTION_ID || sub.user !== auth.record.id))) throw AppError.notFound();
    if (sub.status === 'canceled') throw AppError.badRequest('This subscription is already canceled.');
    const key = `plinth_sub_${String(sub.externalId)}_${action}${body.immediately ? '_now' : ''}_${header !== undefined ? hash(header).slice(0, 32) : randomUUID()}`;
    const state =
      action === 'cancel' && body.immediately
        ? await this.providerCall(null, () => provider.cancelNow(String(sub.externalId), key))
        : await this.providerCall(null, () => provider.setCancelAtPeriodEnd(String(sub.externalId), action === 'cancel', key));
    // The answer is the newest state there is: applied now as if it were an event of this second.
    return this.deps.db.transaction(async (tx) => {
      const applied = await this.applySubscription(
        tx,
        { id: '', type: `api.subscription.${action}`, created: Math.floor(Date.now() / 1000), subscription: state },
        true,
      );
      return applied ?? ((await this.deps.reader.findById(subs, id, tx)) as RecordData);
    });
  }

  // ---------------------------------------------------------------------------------------------------
  // Webhooks

  async webhook(headers: Record<string, string | string[] | undefined>, rawBody: Buffer): Promise<{ received: true; duplicate: boolean; type: string }> {
    const cfg = this.config();
    if (cfg.webhookSecret === '')
      throw new AppError('payments_not_configured', 'The Stripe webhook secret is not set (settings payments.stripe.webhookSecret).');
    const provider = this.provider(false);
    const event = provider.verifyWebhook(headers, rawBody);
    if (event.kind !== 'ignored') await this.ensureCollections();
    // Disputes, and refunds made in Stripe's dashboard, name only the payment.
    const paymentOnly = event.kind === 'order' && ['disputed', 'dispute_won', 'refund_failed'].includes(event.transition);
    if (paymentOnly && !event.ref.orderId && event.ref.paymentId && !(await this.findOrderId(this.deps.db, event.ref))) {
      // A dispute names only the payment, which Plinth may not have linked to its order yet (the checkout's own
      // event not applied yet): the payment's metadata names the order. Asked before the transaction, so no write
      // lock is held over a network call; a provider failure leaves the event unmatched, as before. (Other order
      // events carry the order id in their own metadata.)
      event.ref.orderId = await provider.orderOfPayment(event.ref.paymentId).catch(() => null);
    }
    const apply = () =>
      this.deps.db.transaction(async (tx) => {
        const res = await tx.run(
          sql`INSERT INTO "_paymentEvents" (provider, id, type, created, received) VALUES (${provider.name}, ${event.id}, ${event.type}, ${event.created}, ${Date.now()}) ON CONFLICT DO NOTHING`,
        );
        if (res.changes !== 1) return false;
        if (event.kind === 'order') await this.applyOrderEvent(tx, event);
        else if (event.kind === 'subscription') await this.applySubscription(tx, event, false);
        else if (event.kind === 'invoice') await this.applyInvoice(tx, event);
        return true;
      });
    // Two events about one new subscription or renewal, delivered at once (PostgreSQL): both see no record and the
    // second create hits the unique index. Run again, it then finds the record and updates it.
    let fresh: boolean;
    for (let attempt = 1; ; attempt++) {
      try {
        fresh = await apply();
        break;
      } catch (err) {
        if (attempt >= 3 || !isUniqueViolation(err)) throw err;
      }
    }
    return { received: true, duplicate: !fresh, type: event.type };
  }

  private async findOrderId(tx: Executor, ref: { orderId: string | null; sessionId: string | null; paymentId: string | null }): Promise<string | null> {
    if (ref.orderId) {
      const row = await tx.get<{ id: string }>(sql`SELECT id FROM ${ident(ORDERS)} WHERE id = ${ref.orderId}`);
      if (row) return row.id;
    }
    for (const [column, value] of [
      ['sessionId', ref.sessionId],
      ['paymentId', ref.paymentId],
    ] as const) {
      if (!value) continue;
      const row = await tx.get<{ id: string }>(sql`SELECT id FROM ${ident(ORDERS)} WHERE ${ident(column)} = ${value}`);
      if (row) return row.id;
    }
    return null;
  }

  private async applyOrderEvent(tx: Executor, event: Extract<ProviderEvent, { kind: 'order' }>): Promise<void> {
    const orderId = await this.findOrderId(tx, event.ref);
    if (!orderId) {
      // Not an order Plinth made (another integration on the same account) or one deleted since: acknowledged.
      this.deps.logger.warn({ event: event.id, type: event.type }, 'payments: a webhook event names no known order; ignored');
      return;
    }
    const providerEvent = { id: event.id, type: event.type };
    if (event.transition === 'refunded' || event.transition === 'disputed') {
      // A refund or a dispute means the payment went through. Arriving before the payment event (which a hook
      // may have failed, to be retried later), it makes the order paid first: onPaymentSucceeded fires once for
      // every paid order, and the late payment event then finds nothing to do.
      await this.mutateOrder(
        orderId,
        tx,
        (o) => (RANK[o.status as OrderStatus] < RANK.paid ? (orderTransition(o, 'paid', event)?.patch ?? null) : null),
        'onPaymentSucceeded',
        providerEvent,
      );
    }
    await this.mutateOrder(
      orderId,
      tx,
      (o) => {
        const facts: Record<string, unknown> = {};
        if (event.paymentId && !o.paymentId) facts.paymentId = event.paymentId;
        if (event.customerId && !o.customerId) facts.customerId = event.customerId;
        if (event.email && !o.email) facts.email = event.email;
        if (event.subscriptionId && !o.subscriptionId) facts.subscriptionId = event.subscriptionId;
        if (event.ref.sessionId && !o.sessionId) facts.sessionId = event.ref.sessionId;
        const change = orderTransition(o, event.transition, event);
        return change ? { ...facts, ...change.patch } : facts;
      },
      () => orderTransitionHook(event.transition),
      providerEvent,
    );
  }

  /**
   * Reads the order under a row lock, computes a patch from it, writes it, and (when `hook` names one and the
   * status or refunded amount changed) fires the hook in the same transaction.
   */
  private async mutateOrder(
    orderId: string,
    exec: Executor | null,
    compute: (order: RecordData) => Record<string, unknown> | null,
    hook?: HookName | ((order: RecordData) => HookName | null),
    providerEvent: { id: string; type: string } | null = null,
  ): Promise<RecordData> {
    const orders = this.col(ORDERS);
    const run = async (tx: Executor): Promise<RecordData> => {
      await lockRow(tx, this.deps.db, ORDERS, orderId);
      const current = await this.deps.reader.findById(orders, orderId, tx);
      if (!current) throw AppError.notFound();
      const patch = compute(current);
      if (!patch || Object.keys(patch).every((k) => JSON.stringify(patch[k]) === JSON.stringify(current[k]))) return current;
      const hookName = typeof hook === 'function' ? hook(current) : (hook ?? null);
      const updated = await this.deps.writer.update(orders, orderId, { data: patch }, this.sys(), tx);
      const moved = updated.status !== current.status || Number(updated.refundedAmount) !== Number(current.refundedAmount);
      if (hookName && moved) {
        const e: PaymentEvent = { tags: [orders.id, orders.name], order: updated, previousStatus: String(current.status), providerEvent, tx };
        await this.deps.hooks[hookName].trigger(e);
      }
      return updated;
    };
    return exec ? run(exec) : this.deps.db.transaction(run);
  }

  /** Mirrors a subscription's provider state; returns the record when it changed (null: stale or no change). */
  private async applySubscription(
    tx: Executor,
    event: { id: string; type: string; created: number; subscription: SubscriptionState; deleted?: boolean },
    fromApi: boolean,
  ): Promise<RecordData | null> {
    const subs = this.col(SUBSCRIPTIONS);
    const s = event.subscription;
    const providerEvent = fromApi ? null : { id: event.id, type: event.type };
    const row = await tx.get<{ id: string }>(sql`SELECT id FROM ${ident(SUBSCRIPTIONS)} WHERE ${ident('externalId')} = ${s.externalId}`);
    const provided = {
      status: event.deleted ? 'canceled' : s.status,
      customerId: s.customerId,
      cancelAtPeriodEnd: s.cancelAtPeriodEnd,
      currentPeriodStart: unixDate(s.currentPeriodStart),
      currentPeriodEnd: unixDate(s.currentPeriodEnd),
      canceledAt: unixDate(s.canceledAt),
      providerPriceId: s.providerPriceId,
      quantity: s.quantity,
    };
    if (!row) {
      // A subscription Plinth did not start (another integration on the account) is not mirrored: Plinth's carry its
      // metadata, and one started elsewhere (Stripe's dashboard) for a Plinth customer is theirs too.
      if (!s.metadata.plinth_order && !s.metadata.plinth_user && !(await this.customerUser(tx, s.customerId))) {
        this.deps.logger.warn({ event: event.id, type: event.type }, 'payments: a subscription event names no Plinth subscription or customer; ignored');
        return null;
      }
      const owner = await this.subscriptionOwner(tx, s);
      const created = await this.deps.writer.create(
        subs,
        { data: { ...provided, ...owner, provider: 'stripe', externalId: s.externalId, lastEventAt: event.created } },
        this.sys(),
        tx,
      );
      await this.deps.hooks.onSubscriptionChanged.trigger({ tags: [subs.id, subs.name], subscription: created, previous: null, providerEvent, tx });
      return created;
    }
    await lockRow(tx, this.deps.db, SUBSCRIPTIONS, row.id);
    const current = (await this.deps.reader.findById(subs, row.id, tx)) as RecordData;
    const last = Number(current.lastEventAt) || 0;
    if (event.created < last) return null; // an older event than the state we have
    if (event.created === last && event.type === 'customer.subscription.created') return null; // a late "created" never undoes an update
    if (current.status === 'canceled' && provided.status !== 'canceled') return null; // canceled is final
    // Another provider price (a plan switched in the customer portal): the record follows it to the price linked
    // to it, or to none; keeping the old one would grant the old plan.
    const priceMoved = s.providerPriceId !== '' && current.providerPriceId !== '' && s.providerPriceId !== current.providerPriceId;
    const state: Record<string, unknown> = { ...provided };
    if (priceMoved) {
      const linked = await tx.get<{ id: string }>(sql`SELECT id FROM ${ident(PRICES)} WHERE ${ident('providerPriceId')} = ${s.providerPriceId}`);
      state.price = linked?.id ?? '';
    }
    const changed = Object.keys(state).filter((k) => JSON.stringify(state[k] ?? '') !== JSON.stringify(current[k] ?? ''));
    if (changed.length === 0) {
      if (event.created > last) await this.deps.writer.update(subs, row.id, { data: { lastEventAt: event.created } }, this.sys(), tx);
      return null;
    }
    const updated = await this.deps.writer.update(subs, row.id, { data: { ...state, lastEventAt: Math.max(last, event.created) } }, this.sys(), tx);
    await this.deps.hooks.onSubscriptionChanged.trigger({ tags: [subs.id, subs.name], subscription: updated, previous: current, providerEvent, tx });
    return updated;
  }

  /**
   * A renewal: each subscription invoice after the first becomes an order of its own (flow `renewal`, one per
   * invoice), so `onPaymentSucceeded` / `onPaymentFailed` fire per billing period; the first invoice is the
   * checkout's order. A failed attempt followed by a successful retry moves the same order from failed to paid.
   */
  private async applyInvoice(tx: Executor, event: Extract<ProviderEvent, { kind: 'invoice' }>): Promise<void> {
    if (event.billingReason === 'subscription_create') return;
    const orders = this.col(ORDERS);
    const key = hash(`invoice|${event.invoiceId}`);
    let row = await tx.get<{ id: string }>(sql`SELECT id FROM ${ident(ORDERS)} WHERE ${ident('checkoutKey')} = ${key}`);
    if (!row) {
      const sub = await tx.get<{ user: string; price: string }>(
        sql`SELECT ${ident('user')} AS "user", ${ident('price')} AS price FROM ${ident(SUBSCRIPTIONS)} WHERE ${ident('externalId')} = ${event.subscriptionId}`,
      );
      const customerUser = await this.customerUser(tx, event.customerId);
      if (!sub && !customerUser) {
        // Not a subscription Plinth mirrors (another integration on the account): no order, no hook.
        this.deps.logger.warn({ event: event.id, type: event.type }, 'payments: an invoice names no Plinth subscription or customer; ignored');
        return;
      }
      const user = sub?.user || customerUser || '';
      const created = await this.deps.writer.create(
        orders,
        {
          data: {
            user,
            status: 'pending',
            flow: 'renewal',
            mode: 'subscription',
            amountTotal: event.amount,
            currency: event.currency,
            items: sub?.price ? [{ price: sub.price, quantity: 1 }] : [],
            refundedAmount: 0,
            refunds: [],
            provider: 'stripe',
            subscriptionId: event.subscriptionId,
            invoiceId: event.invoiceId,
            customerId: event.customerId,
            checkoutKey: key,
            fingerprint: key,
          },
        },
        this.sys(),
        tx,
      );
      row = { id: String(created.id) };
    }
    const transition: OrderTransition = event.paid ? 'paid' : 'failed';
    await this.mutateOrder(
      row.id,
      tx,
      (o) => {
        const change = orderTransition(o, transition, event);
        return { ...(event.paymentId && !o.paymentId ? { paymentId: event.paymentId } : {}), ...(change?.patch ?? {}) };
      },
      transition === 'paid' ? 'onPaymentSucceeded' : 'onPaymentFailed',
      { id: event.id, type: event.type },
    );
  }

  /** The user a provider customer was created for ('' when the customer is not one of Plinth's). */
  private async customerUser(tx: Executor, customerId: string): Promise<string> {
    if (!customerId) return '';
    const row = await tx.get<{ user: string }>(sql`SELECT "user" FROM "_paymentCustomers" WHERE provider = 'stripe' AND customer = ${customerId}`);
    return row?.user ?? '';
  }

  /** Who a new subscription belongs to: the metadata Plinth set at checkout, else the customer's user. */
  private async subscriptionOwner(tx: Executor, s: SubscriptionState): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    const users = this.deps.collections.find(USERS_COLLECTION_ID);
    let userId = s.metadata.plinth_user ?? '';
    if (!userId && s.customerId) {
      const row = await tx.get<{ user: string }>(sql`SELECT "user" FROM "_paymentCustomers" WHERE provider = 'stripe' AND customer = ${s.customerId}`);
      userId = row?.user ?? '';
    }
    if (userId && users && (await this.deps.reader.findById(users, userId, tx))) out.user = userId;
    const priceId = s.metadata.plinth_price ?? '';
    const prices = this.col(PRICES);
    if (priceId && (await this.deps.reader.findById(prices, priceId, tx))) out.price = priceId;
    else if (s.providerPriceId) {
      const row = await tx.get<{ id: string }>(sql`SELECT id FROM ${ident(PRICES)} WHERE ${ident('providerPriceId')} = ${s.providerPriceId}`);
      if (row) out.price = row.id;
    }
    const orderId = s.metadata.plinth_order ?? '';
    if (orderId && (await this.deps.reader.findById(this.col(ORDERS), orderId, tx))) out.order = orderId;
    return out;
  }

  // ---------------------------------------------------------------------------------------------------
  // Catalog sync (superusers): import the provider's active products and prices, or export ours to it.

  /** Upserts the provider's active products (by providerProductId) and their prices (by providerPriceId). */
  async syncImport(): Promise<{ products: { created: number; updated: number }; prices: { created: number; updated: number }; skipped: number }> {
    const provider = this.provider(false);
    await this.ensureCollections();
    const products = this.col(PRODUCTS);
    const prices = this.col(PRICES);
    const catalog = await provider.listCatalog();
    const out = { products: { created: 0, updated: 0 }, prices: { created: 0, updated: 0 }, skipped: 0 };
    const local = new Map<string, string>();
    for (const p of catalog.products) {
      const row = await this.deps.db.get<{ id: string }>(sql`SELECT id FROM ${ident(PRODUCTS)} WHERE ${ident('providerProductId')} = ${p.id}`);
      const data = { name: p.name.slice(0, 250) || p.id, description: p.description.slice(0, 5000), active: p.active, providerProductId: p.id };
      if (row) {
        await this.deps.writer.update(products, row.id, { data }, this.sys());
        out.products.updated++;
        local.set(p.id, row.id);
      } else {
        const created = await this.deps.writer.create(products, { data }, this.sys());
        out.products.created++;
        local.set(p.id, String(created.id));
      }
    }
    for (const p of catalog.prices) {
      const product = local.get(p.product);
      if (!product || !/^[a-z]{3}$/.test(p.currency)) {
        out.skipped++;
        continue;
      }
      const row = await this.deps.db.get<{ id: string }>(sql`SELECT id FROM ${ident(PRICES)} WHERE ${ident('providerPriceId')} = ${p.id}`);
      const data = {
        product,
        label: p.nickname.slice(0, 250),
        amount: p.amount,
        currency: p.currency,
        interval: p.interval,
        intervalCount: p.interval ? p.intervalCount : 0,
        active: p.active,
        providerPriceId: p.id,
      };
      if (row) {
        await this.deps.writer.update(prices, row.id, { data }, this.sys());
        out.prices.updated++;
      } else {
        await this.deps.writer.create(prices, { data }, this.sys());
        out.prices.created++;
      }
    }
    return out;
  }

  /** Creates provider products and prices for the records not linked yet (idempotent per record and amount). */
  async syncExport(): Promise<{ products: number; prices: number }> {
    const provider = this.provider(false);
    await this.ensureCollections();
    const products = this.col(PRODUCTS);
    const prices = this.col(PRICES);
    const out = { products: 0, prices: 0 };
    const unlinked = await this.deps.db.all<{ id: string }>(sql`SELECT id FROM ${ident(PRODUCTS)} WHERE ${ident('providerProductId')} = ''`);
    for (const { id } of unlinked) {
      const p = (await this.deps.reader.findById(products, id)) as RecordData;
      const externalId = await provider.createProduct({
        name: String(p.name),
        description: String(p.description ?? ''),
        plinthId: id,
        idempotencyKey: `plinth_product_${id}`,
      });
      await this.deps.writer.update(products, id, { data: { providerProductId: externalId } }, this.sys());
      out.products++;
    }
    const open = await this.deps.db.all<{ id: string }>(sql`SELECT id FROM ${ident(PRICES)} WHERE ${ident('providerPriceId')} = ''`);
    for (const { id } of open) {
      const p = (await this.deps.reader.findById(prices, id)) as RecordData;
      const product = await this.deps.reader.findById(products, String(p.product));
      if (!product?.providerProductId) continue;
      const spec = {
        product: String(product.providerProductId),
        amount: Number(p.amount),
        currency: String(p.currency),
        interval: (p.interval || '') as LineItem['interval'],
        intervalCount: Math.max(1, Number(p.intervalCount) || 1),
      };
      const externalId = await provider.createPrice({
        ...spec,
        nickname: String(p.label ?? ''),
        plinthId: id,
        // The key covers what Stripe fixes forever: a changed amount is a new provider price.
        idempotencyKey: `plinth_price_${id}_${hash(JSON.stringify(spec)).slice(0, 16)}`,
      });
      await this.deps.writer.update(prices, id, { data: { providerPriceId: externalId } }, this.sys());
      out.prices++;
    }
    return out;
  }

  /**
   * Forgets processed event ids older than `maxAgeMs` (default 90 days; Stripe retries for 3 days). A very old
   * event resent by hand from Stripe's dashboard after that still cannot move an order backwards.
   */
  async prune(maxAgeMs = 90 * 86_400_000): Promise<number> {
    return (await this.deps.db.run(sql`DELETE FROM "_paymentEvents" WHERE received < ${Date.now() - maxAgeMs}`)).changes;
  }

  // ---------------------------------------------------------------------------------------------------
  // Reports (the dashboard)

  /** Paid amounts per UTC day and currency over the last `days` days (refunds subtracted). */
  async dailyTotals(days: number): Promise<Array<{ day: string; currency: string; amount: number; orders: number }>> {
    this.col(ORDERS);
    const since = formatDateTime(new Date(Date.now() - days * 86_400_000));
    const rows = await this.deps.db.all<{ created: string; currency: string; amountTotal: number; refundedAmount: number }>(
      sql`SELECT ${ident('created')} AS created, ${ident('currency')} AS currency, ${ident('amountTotal')} AS "amountTotal", ${ident('refundedAmount')} AS "refundedAmount"
          FROM ${ident(ORDERS)} WHERE ${ident('created')} >= ${since} AND ${ident('status')} IN ('paid', 'partially_refunded', 'refunded', 'disputed')`,
    );
    const map = new Map<string, { day: string; currency: string; amount: number; orders: number }>();
    for (const r of rows) {
      const day = String(r.created).slice(0, 10);
      const k = `${day}|${r.currency}`;
      const e = map.get(k) ?? { day, currency: String(r.currency), amount: 0, orders: 0 };
      e.amount += Number(r.amountTotal) - Number(r.refundedAmount || 0);
      e.orders++;
      map.set(k, e);
    }
    return [...map.values()].sort((a, b) => a.day.localeCompare(b.day) || a.currency.localeCompare(b.currency));
  }

  dashboardUrl(kind: 'payment' | 'subscription' | 'customer' | 'session', id: string): string {
    const cfg = this.config();
    return this.provider(false).dashboardUrl(kind, id, cfg.publishableKey.startsWith('pk_live_'));
  }
}

type HookName = 'onPaymentSucceeded' | 'onPaymentFailed' | 'onPaymentRefunded' | 'onPaymentRefundFailed' | 'onPaymentDisputed';

export const PAYMENT_COLLECTIONS = [PRODUCTS, PRICES, ORDERS, SUBSCRIPTIONS];

/** The status change an event asks for, if the order's current status allows it. */
function orderTransition(
  o: RecordData,
  t: OrderTransition,
  event: { amountRefunded?: number; refund?: { id: string; amount: number; status: string }; type: string; created: number },
): { patch: Record<string, unknown> } | null {
  const status = o.status as OrderStatus;
  const paidAt = { paidAt: o.paidAt || unixDate(event.created) || formatDateTime(new Date()) };
  switch (t) {
    case 'paid':
      return RANK[status] < RANK.paid ? { patch: { status: 'paid', ...paidAt } } : null;
    case 'failed':
      // In a Checkout, a declined card is followed by another try on the same page: only the session's own events decide.
      if (o.flow === 'checkout' && event.type.startsWith('payment_intent.')) return null;
      return status === 'pending' ? { patch: { status: 'failed' } } : null;
    case 'expired':
      return status === 'pending' ? { patch: { status: 'expired' } } : null;
    case 'refunded': {
      // A cumulative total from before a refund failed still counts the failed one (an event delivered late).
      const failedSince = refundList(o)
        .filter((r) => isFailedRefund(r) && Number(r.failedAt) >= event.created)
        .reduce((s, r) => s + (Number(r.amount) || 0), 0);
      const patch = refundPatch(o, (event.amountRefunded ?? 0) - failedSince);
      if (RANK[status] < RANK.paid) Object.assign(patch, paidAt);
      return { patch };
    }
    case 'disputed':
      return status === 'disputed' ? null : { patch: { status: 'disputed' } };
    case 'dispute_won': {
      if (status !== 'disputed') return null;
      const refunded = Number(o.refundedAmount) || 0;
      return { patch: { status: refunded >= Number(o.amountTotal) ? 'refunded' : refunded > 0 ? 'partially_refunded' : 'paid' } };
    }
    case 'refund_failed': {
      const r = event.refund;
      if (!r) return null;
      const list = refundList(o);
      const i = list.findIndex((x) => x.id === r.id);
      const known = i >= 0 ? list[i] : undefined;
      if (known && isFailedRefund(known)) return null; // already taken back (another event about the same failure)
      // A refund Plinth made is in the list and in the refunded amount. One made in Stripe's dashboard is counted
      // only through charge.refunded: at most what the refunded amount holds beyond the listed refunds.
      const total = Number(o.amountTotal);
      const current = Number(o.refundedAmount) || 0;
      const listed = list.reduce((s, x) => s + (isFailedRefund(x) ? 0 : Number(x.amount) || 0), 0);
      const back = known ? Number(known.amount) || 0 : Math.min(r.amount, Math.max(0, current - listed));
      const entry = { ...(known ?? { id: r.id, amount: r.amount, created: unixDate(event.created) }), status: r.status, failedAt: event.created };
      if (known) list[i] = entry;
      else list.push(entry);
      const refundedAmount = Math.max(0, current - back);
      const patch: Record<string, unknown> = { refunds: list, refundedAmount };
      if (['paid', 'partially_refunded', 'refunded'].includes(status))
        patch.status = refundedAmount >= total ? 'refunded' : refundedAmount > 0 ? 'partially_refunded' : 'paid';
      return { patch };
    }
    default:
      return null;
  }
}

function refundList(o: RecordData): Array<Record<string, unknown>> {
  return Array.isArray(o.refunds) ? [...(o.refunds as Array<Record<string, unknown>>)] : [];
}

/** A refund that failed or was canceled after it was made: its amount went back to the payment. */
function isFailedRefund(r: Record<string, unknown>): boolean {
  return r.status === 'failed' || r.status === 'canceled';
}

/** Which hook a transition fires (a won dispute only restores the status: no hook). */
function orderTransitionHook(t: OrderTransition): HookName | null {
  if (t === 'paid') return 'onPaymentSucceeded';
  if (t === 'failed' || t === 'expired') return 'onPaymentFailed';
  if (t === 'refunded') return 'onPaymentRefunded';
  if (t === 'refund_failed') return 'onPaymentRefundFailed';
  if (t === 'disputed') return 'onPaymentDisputed';
  return null;
}

/** The refunded amount never decreases (refunds reported in any order); the status follows it unless disputed. */
function refundPatch(o: RecordData, reported: number): Record<string, unknown> {
  const refundedAmount = Math.max(Number(o.refundedAmount) || 0, reported);
  const total = Number(o.amountTotal);
  if (o.status === 'disputed') return { refundedAmount };
  return { refundedAmount, status: refundedAmount >= total ? 'refunded' : refundedAmount > 0 ? 'partially_refunded' : o.status };
}

/**
 * After a failed attempt (the order's `lastError`), the next provider call for the order gets a key of its own:
 * Stripe saves a 500 for its key once the endpoint began executing and replays it for 24 hours, so the same key
 * would fail every retry. Derived from the failure, so concurrent retries of one state still share a key.
 */
function retryKeySuffix(order: RecordData): string {
  return order.lastError ? `_retry_${hash(`${String(order.lastError)}|${String(order.updated)}`).slice(0, 12)}` : '';
}

/** A record create refused by a unique index (`validation_not_unique` on the field). */
function isUniqueViolation(err: unknown): boolean {
  return (
    err instanceof AppError &&
    Object.values(err.data).some((e) => typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'validation_not_unique')
  );
}

function unixDate(seconds: number | null | undefined): string {
  return typeof seconds === 'number' && seconds > 0 ? formatDateTime(new Date(seconds * 1000)) : '';
}

function hash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 48);
}

function fieldsError(data: FieldErrors): AppError {
  return AppError.validation('Failed to process the payment request.', data);
}

/** The request body: only the given keys; line items `{price, quantity}` and nothing else (no amounts). */
function parseCheckoutBody(body: Record<string, unknown>, keys: string[]): CheckoutInput {
  const errors: FieldErrors = {};
  for (const k of Object.keys(body)) if (!keys.includes(k)) errors[k] = fieldError('validation_unknown_field', 'Unknown field (amounts come from the prices)');
  const out: CheckoutInput = { items: [] };
  if (keys.includes('items')) {
    const items = body.items;
    if (!Array.isArray(items) || items.length === 0 || items.length > MAX_ITEMS) {
      errors.items = fieldError('validation_required', `Give 1 to ${MAX_ITEMS} line items: [{"price": "<price id>", "quantity": 1}]`);
    } else {
      const itemErrors: FieldErrors = {};
      const seen = new Set<string>();
      items.forEach((raw, i) => {
        const e: FieldErrors = {};
        const line = raw as Record<string, unknown>;
        if (typeof line !== 'object' || line === null || Array.isArray(line)) {
          itemErrors[String(i)] = fieldError('validation_invalid_value', 'Must be {"price": "<price id>", "quantity": n}');
          return;
        }
        for (const k of Object.keys(line))
          if (k !== 'price' && k !== 'quantity') e[k] = fieldError('validation_unknown_field', 'Unknown field (amounts come from the prices)');
        if (typeof line.price !== 'string' || !/^\w{1,100}$/.test(line.price)) e.price = fieldError('validation_required', 'Must be a price id');
        else if (seen.has(line.price)) e.price = fieldError('validation_invalid_value', 'Each price once (use the quantity)');
        else seen.add(line.price);
        const q = line.quantity ?? 1;
        if (typeof q !== 'number' || !Number.isInteger(q) || q < 1 || q > MAX_QUANTITY)
          e.quantity = fieldError('validation_invalid_value', `Must be a whole number from 1 to ${MAX_QUANTITY}`);
        if (Object.keys(e).length) itemErrors[String(i)] = e;
        else out.items.push({ price: line.price as string, quantity: q as number });
      });
      if (Object.keys(itemErrors).length) errors.items = itemErrors;
    }
  }
  for (const k of ['successUrl', 'cancelUrl', 'returnUrl', 'email'] as const) {
    if (!keys.includes(k) || body[k] === undefined) continue;
    const v = body[k];
    if (typeof v !== 'string' || v.length > 2000) errors[k] = fieldError('validation_invalid_value', 'Must be a string');
    else if (k === 'email' && v !== '' && !/^[^\s@]+@[^\s@]+$/.test(v)) errors[k] = fieldError('validation_is_email', 'Must be a valid email address');
    else out[k] = v;
  }
  if (Object.keys(errors).length) throw fieldsError(errors);
  return out;
}
