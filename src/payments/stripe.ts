/**
 * The Stripe adapter: the provider seam (provider.ts) over the official `stripe` SDK, which is imported on the
 * first payment call only (a Plinth that takes no payments never loads it).
 *
 * - Every write carries an idempotency key the service derives from the order (same order → same Stripe
 *   object, however often the call is retried or repeated).
 * - Network errors, timeouts and 5xx are retried by the SDK (`maxNetworkRetries`, same key); 429 is retried
 *   here with backoff, also with the same key. What still fails becomes a 502 `payment_provider_error`
 *   naming Stripe's message and request id; a refusal of what was asked (amount_too_large…) a 400
 *   `payment_request_invalid`.
 * - Webhooks are verified with src/webhooks' Stripe verifier (HMAC-SHA256 of `t.body`, 300 s tolerance,
 *   several `v1` during secret rotation) before anything is decoded.
 */
import { AppError } from '../errors/index.js';
import { verifyStripe } from '../webhooks/signing.js';
import {
  type CatalogPrice,
  type CatalogProduct,
  type CheckoutRequest,
  type CheckoutSession,
  type IntentRequest,
  MISSING_CUSTOMER,
  type OrderTransition,
  type PaymentProvider,
  type ProviderEvent,
  type RefundResult,
  type SubscriptionState,
} from './provider.js';

/** How Plinth reaches Stripe. `apiBase` points the SDK elsewhere: stripe-mock, a local stand-in (tests). */
export interface StripeOptions {
  /** e.g. `http://127.0.0.1:12111` (stripe-mock); default Stripe's `https://api.stripe.com`. */
  apiBase?: string;
  /** Per-attempt timeout in ms (default 20,000). */
  timeout?: number;
  /** Retries of network errors, timeouts, 409 and 5xx, with the same idempotency key (default 2). */
  maxNetworkRetries?: number;
  /** Retries of 429 answers (default 2), waiting `rateLimitDelayMs` × 2^n (default 500). */
  rateLimitRetries?: number;
  rateLimitDelayMs?: number;
}

// biome-ignore lint/suspicious/noExplicitAny: Stripe's JSON, read field by field below
type Json = Record<string, any>;
interface StripeResource {
  create(params: Json, options?: Json): Promise<Json>;
  update(id: string, params: Json, options?: Json): Promise<Json>;
  cancel(id: string, params?: Json, options?: Json): Promise<Json>;
  retrieve(id?: string, options?: Json): Promise<Json>;
  list(params?: Json, options?: Json): Promise<Json>;
}
interface StripeClient {
  customers: StripeResource;
  checkout: { sessions: StripeResource };
  paymentIntents: StripeResource;
  refunds: StripeResource;
  charges: StripeResource;
  subscriptions: StripeResource;
  billingPortal: { sessions: StripeResource };
  accounts: StripeResource;
  products: StripeResource;
  prices: StripeResource;
}
type StripeCtor = new (key: string, config: Json) => StripeClient;

let sdk: Promise<StripeCtor> | null = null;
/** The SDK, loaded once on first use. */
function loadSdk(): Promise<StripeCtor> {
  sdk ??= import('stripe').then((m) => (m as unknown as { default: StripeCtor }).default);
  return sdk;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class StripeProvider implements PaymentProvider {
  readonly name = 'stripe';
  private client: Promise<StripeClient> | null = null;

  constructor(
    private readonly secretKey: string,
    private readonly webhookSecrets: string[],
    private readonly options: StripeOptions = {},
  ) {}

  private stripe(): Promise<StripeClient> {
    this.client ??= loadSdk().then((Stripe) => {
      const config: Json = {
        maxNetworkRetries: this.options.maxNetworkRetries ?? 2,
        timeout: this.options.timeout ?? 20_000,
        telemetry: false,
        appInfo: { name: 'Plinth', url: 'https://github.com/plinth' },
      };
      if (this.options.apiBase) {
        const u = new URL(this.options.apiBase);
        config.host = u.hostname;
        config.protocol = u.protocol.replace(':', '');
        config.port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
      }
      return new Stripe(this.secretKey, config);
    });
    return this.client;
  }

  /** One Stripe call: 429 retried with backoff (same idempotency key), errors made AppErrors. */
  private async call<T>(what: string, fn: (s: StripeClient) => Promise<T>): Promise<T> {
    const s = await this.stripe();
    const retries = this.options.rateLimitRetries ?? 2;
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn(s);
      } catch (err) {
        const e = err as { type?: string; statusCode?: number };
        if ((e.type === 'StripeRateLimitError' || e.statusCode === 429) && attempt < retries) {
          await sleep((this.options.rateLimitDelayMs ?? 500) * 2 ** attempt);
          continue;
        }
        throw stripeError(what, err);
      }
    }
  }

  verifyWebhook(headers: Record<string, string | string[] | undefined>, rawBody: Buffer): ProviderEvent {
    const result = verifyStripe(this.webhookSecrets, headers, rawBody);
    if (!result.ok) throw new AppError('webhook_signature_invalid', `Invalid Stripe-Signature: ${result.reason}.`);
    let event: Json;
    try {
      event = JSON.parse(rawBody.toString('utf8')) as Json;
    } catch {
      throw new AppError('invalid_json', 'The webhook body is not valid JSON.');
    }
    if (!event || typeof event !== 'object' || typeof event.id !== 'string' || typeof event.type !== 'string' || typeof event.data?.object !== 'object') {
      throw AppError.badRequest('The webhook body is not a Stripe event.');
    }
    return decodeEvent(event);
  }

  async testConnection(): Promise<{ accountId: string; livemode: boolean; name: string }> {
    const account = await this.call('retrieve the account', (s) => s.accounts.retrieve());
    return {
      accountId: String(account.id ?? ''),
      livemode: this.secretKey.includes('_live_'),
      name: String(account.settings?.dashboard?.display_name ?? account.business_profile?.name ?? account.email ?? ''),
    };
  }

  async createCustomer(input: { email: string; userId: string; idempotencyKey: string }): Promise<string> {
    const c = await this.call('create a customer', (s) =>
      s.customers.create({ ...(input.email ? { email: input.email } : {}), metadata: { plinth_user: input.userId } }, { idempotencyKey: input.idempotencyKey }),
    );
    return String(c.id);
  }

  async createCheckout(input: CheckoutRequest): Promise<CheckoutSession> {
    const meta: Json = { plinth_order: input.orderId, ...(input.userId ? { plinth_user: input.userId } : {}) };
    const params: Json = {
      mode: input.mode,
      line_items: input.items.map((i) =>
        i.providerPriceId
          ? { price: i.providerPriceId, quantity: i.quantity }
          : {
              quantity: i.quantity,
              price_data: {
                currency: i.currency,
                unit_amount: i.unitAmount,
                product_data: {
                  name: i.name,
                  ...(i.description ? { description: i.description } : {}),
                  ...(i.images.length ? { images: i.images.slice(0, 8) } : {}),
                  metadata: { plinth_product: i.product, plinth_price: i.price },
                },
                ...(i.interval ? { recurring: { interval: i.interval, interval_count: i.intervalCount } } : {}),
              },
            },
      ),
      success_url: input.successUrl,
      cancel_url: input.cancelUrl,
      client_reference_id: input.orderId,
      metadata: meta,
      ...(input.customerId ? { customer: input.customerId } : input.customerEmail ? { customer_email: input.customerEmail } : {}),
      ...(input.mode === 'payment'
        ? { payment_intent_data: { metadata: meta } }
        : { subscription_data: { metadata: { ...meta, plinth_price: input.items.find((i) => i.interval)?.price ?? '' } } }),
    };
    const session = await this.call('create a Checkout Session', (s) => s.checkout.sessions.create(params, { idempotencyKey: input.idempotencyKey }));
    return {
      sessionId: String(session.id),
      url: String(session.url ?? ''),
      paymentId: idOf(session.payment_intent),
      expiresAt: typeof session.expires_at === 'number' ? session.expires_at * 1000 : null,
    };
  }

  async createIntent(input: IntentRequest): Promise<{ paymentId: string; clientSecret: string }> {
    const intent = await this.call('create a PaymentIntent', (s) =>
      s.paymentIntents.create(
        {
          amount: input.amount,
          currency: input.currency,
          automatic_payment_methods: { enabled: true },
          description: input.description,
          metadata: { plinth_order: input.orderId, ...(input.userId ? { plinth_user: input.userId } : {}) },
          ...(input.customerId ? { customer: input.customerId } : {}),
        },
        { idempotencyKey: input.idempotencyKey },
      ),
    );
    return { paymentId: String(intent.id), clientSecret: String(intent.client_secret ?? '') };
  }

  async orderOfPayment(paymentId: string): Promise<string | null> {
    const intent = await this.call('read the PaymentIntent', (s) => s.paymentIntents.retrieve(paymentId));
    return str(intent.metadata?.plinth_order);
  }

  async retrieveIntent(paymentId: string): Promise<{ paymentId: string; clientSecret: string }> {
    const intent = await this.call('read the PaymentIntent', (s) => s.paymentIntents.retrieve(paymentId));
    return { paymentId: String(intent.id), clientSecret: String(intent.client_secret ?? '') };
  }

  async portalSession(customerId: string, returnUrl: string): Promise<{ url: string }> {
    const p = await this.call('create a customer portal session', (s) => s.billingPortal.sessions.create({ customer: customerId, return_url: returnUrl }));
    return { url: String(p.url ?? '') };
  }

  async refund(input: { paymentId: string; amount: number; orderId: string; idempotencyKey: string }): Promise<RefundResult> {
    const r = await this.call('create a refund', (s) =>
      s.refunds.create(
        { payment_intent: input.paymentId, amount: input.amount, metadata: { plinth_order: input.orderId } },
        { idempotencyKey: input.idempotencyKey },
      ),
    );
    // The charge's cumulative refunded amount: it also counts refunds made elsewhere (Stripe's dashboard) whose
    // webhook may not have arrived yet. Best effort: without it the order's own bookkeeping still holds.
    const chargeId = idOf(r.charge);
    const charge = chargeId ? await this.call('read the charge', (s) => s.charges.retrieve(chargeId)).catch(() => null) : null;
    return {
      refundId: String(r.id),
      amount: Number(r.amount ?? input.amount),
      status: String(r.status ?? ''),
      chargeRefunded: typeof charge?.amount_refunded === 'number' ? charge.amount_refunded : null,
    };
  }

  async setCancelAtPeriodEnd(externalId: string, value: boolean, idempotencyKey: string): Promise<SubscriptionState> {
    const sub = await this.call('update the subscription', (s) => s.subscriptions.update(externalId, { cancel_at_period_end: value }, { idempotencyKey }));
    return subscriptionState(sub);
  }

  async cancelNow(externalId: string, idempotencyKey: string): Promise<SubscriptionState> {
    const sub = await this.call('cancel the subscription', (s) => s.subscriptions.cancel(externalId, {}, { idempotencyKey }));
    return subscriptionState(sub);
  }

  async listCatalog(): Promise<{ products: CatalogProduct[]; prices: CatalogPrice[] }> {
    const all = async (resource: 'products' | 'prices'): Promise<Json[]> => {
      const out: Json[] = [];
      let after: string | undefined;
      for (let page = 0; page < 100; page++) {
        const list = await this.call(`list the ${resource}`, (s) =>
          s[resource].list({ active: true, limit: 100, ...(after ? { starting_after: after } : {}) }),
        );
        const data = Array.isArray(list.data) ? (list.data as Json[]) : [];
        out.push(...data);
        if (!list.has_more || data.length === 0) break;
        after = String(data[data.length - 1]?.id);
      }
      return out;
    };
    const [products, prices] = [await all('products'), await all('prices')];
    return {
      products: products.map((p) => ({ id: String(p.id), name: String(p.name ?? ''), description: String(p.description ?? ''), active: p.active !== false })),
      prices: prices
        .filter((p) => typeof p.unit_amount === 'number' && (p.billing_scheme ?? 'per_unit') === 'per_unit')
        .map((p) => ({
          id: String(p.id),
          product: idOf(p.product) ?? '',
          nickname: String(p.nickname ?? ''),
          amount: Number(p.unit_amount),
          currency: String(p.currency ?? ''),
          interval: (p.recurring?.interval ?? '') as CatalogPrice['interval'],
          intervalCount: Number(p.recurring?.interval_count ?? 1),
          active: p.active !== false,
        })),
    };
  }

  async createProduct(input: { name: string; description: string; plinthId: string; idempotencyKey: string }): Promise<string> {
    const p = await this.call('create a product', (s) =>
      s.products.create(
        { name: input.name, ...(input.description ? { description: input.description } : {}), metadata: { plinth_product: input.plinthId } },
        { idempotencyKey: input.idempotencyKey },
      ),
    );
    return String(p.id);
  }

  async createPrice(input: Omit<CatalogPrice, 'id' | 'active' | 'nickname'> & { nickname: string; plinthId: string; idempotencyKey: string }): Promise<string> {
    const p = await this.call('create a price', (s) =>
      s.prices.create(
        {
          product: input.product,
          unit_amount: input.amount,
          currency: input.currency,
          ...(input.nickname ? { nickname: input.nickname } : {}),
          ...(input.interval ? { recurring: { interval: input.interval, interval_count: input.intervalCount } } : {}),
          metadata: { plinth_price: input.plinthId },
        },
        { idempotencyKey: input.idempotencyKey },
      ),
    );
    return String(p.id);
  }

  dashboardUrl(kind: 'payment' | 'subscription' | 'customer' | 'session', id: string, livemode: boolean): string {
    const base = `https://dashboard.stripe.com${livemode ? '' : '/test'}`;
    const path = { payment: 'payments', subscription: 'subscriptions', customer: 'customers', session: 'checkout/sessions' }[kind];
    return `${base}/${path}/${encodeURIComponent(id)}`;
  }
}

/**
 * Stripe's `invalid_request_error` codes that name a problem with the amounts or quantities asked for
 * (https://docs.stripe.com/error-codes), not with Plinth's request or the account.
 */
const CALLER_ERROR_CODES = new Set([
  'amount_too_large',
  'amount_too_small',
  'invalid_charge_amount',
  'charge_exceeds_source_limit',
  'charge_exceeds_transaction_limit',
  'parameter_invalid_integer',
  'charge_already_refunded',
]);

/** A Stripe failure as the caller sees it: 502 with Stripe's message (never the key), the request id for support. */
function stripeError(what: string, err: unknown): AppError {
  const e = err as { type?: string; message?: string; statusCode?: number; requestId?: string; code?: string };
  const rid = e.requestId ? ` (request ${e.requestId})` : '';
  // The SDK prefixes messages with the request id ("[req_…] …"); it is at the end instead.
  if (typeof e.message === 'string') e.message = e.message.replace(/^\[req_\w+\]\s*/, '');
  let message: string;
  switch (e.type) {
    case 'StripeAuthenticationError':
      message = `Stripe refused the secret key: ${redactKey(e.message ?? '')}`;
      break;
    case 'StripePermissionError':
      message = `The Stripe key may not ${what}: ${redactKey(e.message ?? '')}`;
      break;
    case 'StripeConnectionError':
      message = `Could not reach Stripe to ${what} (${e.message ?? 'connection failed'}), after retries.`;
      break;
    case 'StripeRateLimitError':
      message = `Stripe kept rate-limiting the request to ${what}, after retries.`;
      break;
    default:
      message = `Stripe could not ${what}: ${redactKey(e.message ?? String(err))}`;
  }
  // Refused for what was asked (an amount over Stripe's limit, a quantity out of range…): the caller's 400, as
  // trying again cannot help. Outages, 5xx, timeouts and Plinth's own mistakes stay 502.
  const invalid = e.type === 'StripeInvalidRequestError' && e.statusCode === 400 && CALLER_ERROR_CODES.has(e.code ?? '');
  const out = new AppError(invalid ? 'payment_request_invalid' : 'payment_provider_error', message + rid, {}, { cause: err });
  if (e.code === 'resource_missing' && (e as { param?: string }).param === 'customer') Object.assign(out, { [MISSING_CUSTOMER]: true });
  return out;
}

/** Stripe's messages quote the key they got ("Invalid API Key provided: sk_test_****abcd"); keep only the mask. */
function redactKey(message: string): string {
  return message.replace(/\b(sk|rk)_(test|live)_[A-Za-z0-9]{5,}/g, '$1_$2_…').slice(0, 500);
}

function idOf(v: unknown): string | null {
  if (typeof v === 'string' && v !== '') return v;
  if (v && typeof v === 'object' && typeof (v as Json).id === 'string') return (v as Json).id;
  return null;
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

function subscriptionState(sub: Json): SubscriptionState {
  const item: Json = sub.items?.data?.[0] ?? {};
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries((sub.metadata ?? {}) as Json)) if (typeof v === 'string') metadata[k] = v;
  return {
    externalId: String(sub.id),
    status: String(sub.status ?? ''),
    customerId: idOf(sub.customer) ?? '',
    cancelAtPeriodEnd: sub.cancel_at_period_end === true,
    // Since API version 2025-03-31 the period lives on the items; older versions have it on the subscription.
    currentPeriodStart: num(sub.current_period_start) ?? num(item.current_period_start),
    currentPeriodEnd: num(sub.current_period_end) ?? num(item.current_period_end),
    canceledAt: num(sub.canceled_at),
    providerPriceId: idOf(item.price) ?? '',
    quantity: num(item.quantity) ?? 1,
    metadata,
  };
}

/** Stripe's event → the neutral event the service applies. Types Plinth does not use are 'ignored' (and acknowledged). */
export function decodeEvent(event: Json): ProviderEvent {
  const base = { id: String(event.id), type: String(event.type), created: typeof event.created === 'number' ? event.created : 0 };
  const o: Json = event.data.object;
  const order = (transition: OrderTransition, extra: Omit<Extract<ProviderEvent, { kind: 'order' }>, keyof typeof base | 'kind' | 'transition'>) =>
    ({ ...base, kind: 'order', transition, ...extra }) as ProviderEvent;
  switch (base.type) {
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded':
    case 'checkout.session.async_payment_failed':
    case 'checkout.session.expired': {
      const transition: OrderTransition =
        base.type === 'checkout.session.expired'
          ? 'expired'
          : base.type === 'checkout.session.async_payment_failed'
            ? 'failed'
            : o.payment_status === 'paid' || o.payment_status === 'no_payment_required'
              ? 'paid'
              : 'completed_unpaid';
      return order(transition, {
        ref: { orderId: str(o.metadata?.plinth_order) ?? str(o.client_reference_id), sessionId: str(o.id), paymentId: idOf(o.payment_intent) },
        paymentId: idOf(o.payment_intent),
        customerId: idOf(o.customer),
        email: str(o.customer_details?.email) ?? str(o.customer_email),
        subscriptionId: idOf(o.subscription),
      });
    }
    case 'payment_intent.succeeded':
    case 'payment_intent.payment_failed':
    case 'payment_intent.canceled':
      return order(base.type === 'payment_intent.succeeded' ? 'paid' : 'failed', {
        ref: { orderId: str(o.metadata?.plinth_order), sessionId: null, paymentId: str(o.id) },
        paymentId: str(o.id),
        customerId: idOf(o.customer),
        email: str(o.receipt_email),
      });
    case 'charge.refunded':
      return order('refunded', {
        ref: { orderId: str(o.metadata?.plinth_order), sessionId: null, paymentId: idOf(o.payment_intent) },
        amountRefunded: typeof o.amount_refunded === 'number' ? o.amount_refunded : 0,
      });
    case 'refund.failed':
    case 'refund.updated':
    case 'charge.refund.updated': {
      // A refund that failed at the bank (a closed card account) or was canceled: Stripe gives the money back to
      // the charge. Other updates (pending → succeeded, a reason or metadata edited) change nothing here.
      const status = o.status === 'canceled' ? 'canceled' : base.type === 'refund.failed' || o.status === 'failed' ? 'failed' : '';
      if (!status || !str(o.id)) return { ...base, kind: 'ignored' };
      return order('refund_failed', {
        ref: { orderId: str(o.metadata?.plinth_order), sessionId: null, paymentId: idOf(o.payment_intent) },
        refund: { id: String(o.id), amount: typeof o.amount === 'number' ? o.amount : 0, status },
      });
    }
    case 'charge.dispute.created':
    case 'charge.dispute.closed':
      if (base.type === 'charge.dispute.closed' && o.status !== 'won') return { ...base, kind: 'ignored' };
      return order(base.type === 'charge.dispute.created' ? 'disputed' : 'dispute_won', {
        ref: { orderId: str(o.metadata?.plinth_order), sessionId: null, paymentId: idOf(o.payment_intent) },
      });
    case 'customer.subscription.created':
    case 'customer.subscription.updated':
    case 'customer.subscription.deleted':
    case 'customer.subscription.paused':
    case 'customer.subscription.resumed':
      return { ...base, kind: 'subscription', subscription: subscriptionState(o), deleted: base.type === 'customer.subscription.deleted' };
    case 'invoice.paid':
    case 'invoice.payment_failed': {
      // Since API version 2025-03-31 the subscription and the payment moved (parent.subscription_details, payments).
      const subscriptionId = idOf(o.parent?.subscription_details?.subscription) ?? idOf(o.subscription);
      if (!subscriptionId) return { ...base, kind: 'ignored' };
      const paid = base.type === 'invoice.paid';
      return {
        ...base,
        kind: 'invoice',
        paid,
        invoiceId: String(o.id),
        subscriptionId,
        customerId: idOf(o.customer) ?? '',
        amount: Number((paid ? o.amount_paid : o.amount_due) ?? 0),
        currency: String(o.currency ?? ''),
        billingReason: String(o.billing_reason ?? ''),
        paymentId: idOf(o.payment_intent) ?? idOf(o.payments?.data?.[0]?.payment?.payment_intent),
      };
    }
    default:
      return { ...base, kind: 'ignored' };
  }
}
