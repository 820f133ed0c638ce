/**
 * The provider seam: what the payments service needs from a payment provider, in the provider's neutral terms.
 * The orders/subscriptions model, the webhook bookkeeping (event ids stored once, status precedence, hooks)
 * and the routes live in service.ts and know nothing of Stripe; an adapter (stripe.ts) turns these calls into
 * its API and its webhook deliveries into {@link ProviderEvent}s.
 *
 * Providers that fit the same shape (docs/payments.md): Paddle and LemonSqueezy (hosted checkout, merchant of
 * record, signed webhooks, subscriptions), Mollie (hosted payment page, payments/refunds/subscriptions, webhooks
 * that carry an id to fetch), Adyen (sessions flow, HMAC-signed notifications, captures/refunds by reference).
 */

/** One validated line of an order, amounts in minor units; built by the service from the stored prices. */
export interface LineItem {
  /** The Plinth price record id. */
  price: string;
  product: string;
  name: string;
  description: string;
  images: string[];
  unitAmount: number;
  currency: string;
  quantity: number;
  /** '' for a one-off price, else the billing interval of a recurring one. */
  interval: '' | 'day' | 'week' | 'month' | 'year';
  intervalCount: number;
  /** The provider's own price id when the price is linked to the provider's catalog ('' = sent inline). */
  providerPriceId: string;
}

export interface CheckoutRequest {
  orderId: string;
  mode: 'payment' | 'subscription';
  items: LineItem[];
  currency: string;
  customerId: string | null;
  customerEmail: string | null;
  userId: string | null;
  successUrl: string;
  cancelUrl: string;
  idempotencyKey: string;
}

export interface CheckoutSession {
  sessionId: string;
  url: string;
  /** Known at creation only for some providers and flows (null: it arrives with the webhook). */
  paymentId: string | null;
  /** When the hosted page stops accepting the payment (ms since epoch), when the provider says. */
  expiresAt: number | null;
}

export interface IntentRequest {
  orderId: string;
  amount: number;
  currency: string;
  description: string;
  customerId: string | null;
  userId: string | null;
  idempotencyKey: string;
}

export interface RefundResult {
  refundId: string;
  amount: number;
  status: string;
  /** What the payment has had refunded in all after this refund (refunds made elsewhere included), when known. */
  chargeRefunded: number | null;
}

export interface SubscriptionState {
  externalId: string;
  /** The provider's status (Stripe: incomplete, incomplete_expired, trialing, active, past_due, canceled, unpaid, paused). */
  status: string;
  customerId: string;
  cancelAtPeriodEnd: boolean;
  /** Unix seconds, or null. */
  currentPeriodStart: number | null;
  currentPeriodEnd: number | null;
  canceledAt: number | null;
  providerPriceId: string;
  quantity: number;
  /** What the service put on the subscription at checkout (plinth_user, plinth_order, plinth_price). */
  metadata: Record<string, string>;
}

/** Where an order event points: any of the ids the service stored (the order id travels in the metadata). */
export interface OrderRef {
  orderId: string | null;
  sessionId: string | null;
  paymentId: string | null;
}

export type OrderTransition =
  /** Checkout finished but the money has not arrived (delayed methods: SEPA, ACH…). */
  | 'completed_unpaid'
  | 'paid'
  | 'failed'
  | 'expired'
  /** A refund happened; `amountRefunded` is the cumulative total. */
  | 'refunded'
  | 'disputed'
  | 'dispute_won'
  /** A refund failed or was canceled after it was made: its amount is the buyer's to keep paying for (`refund`). */
  | 'refund_failed';

interface EventBase {
  /** The provider's event id: stored once, so a re-delivery changes nothing. */
  id: string;
  /** The provider's event type, as sent. */
  type: string;
  /** When the provider created the event (unix seconds): orders events out of sequence. */
  created: number;
}

export type ProviderEvent =
  | (EventBase & {
      kind: 'order';
      transition: OrderTransition;
      ref: OrderRef;
      /** Facts the event carries, merged into the order when present. */
      paymentId?: string | null;
      customerId?: string | null;
      email?: string | null;
      amountRefunded?: number;
      /** The refund a `refund_failed` event is about (status: the provider's, e.g. failed or canceled). */
      refund?: { id: string; amount: number; status: string };
      subscriptionId?: string | null;
    })
  | (EventBase & { kind: 'subscription'; subscription: SubscriptionState; deleted: boolean })
  /** A subscription invoice was paid or its payment failed (renewals become orders of their own). */
  | (EventBase & {
      kind: 'invoice';
      paid: boolean;
      invoiceId: string;
      subscriptionId: string;
      customerId: string;
      amount: number;
      currency: string;
      /** Stripe: subscription_create (the first invoice, covered by the checkout's order), subscription_cycle, … */
      billingReason: string;
      paymentId: string | null;
    })
  | (EventBase & { kind: 'ignored' });

/**
 * Marks a provider error saying the customer it was given does not exist there (deleted in the provider's
 * dashboard, or made with other keys: test mode before going live, another account). The service then
 * forgets that customer and makes a new one.
 */
export const MISSING_CUSTOMER = Symbol('plinth.payments.missingCustomer');

export function isMissingCustomer(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { [MISSING_CUSTOMER]?: boolean })[MISSING_CUSTOMER] === true;
}

/** A product of the provider's catalog (`sync`). */
export interface CatalogProduct {
  id: string;
  name: string;
  description: string;
  active: boolean;
}

/** A price of the provider's catalog; `interval` '' for one-off. */
export interface CatalogPrice {
  id: string;
  product: string;
  nickname: string;
  amount: number;
  currency: string;
  interval: '' | 'day' | 'week' | 'month' | 'year';
  intervalCount: number;
  active: boolean;
}

export interface PaymentProvider {
  readonly name: string;
  /** Checks the signature over the raw body and decodes the event; throws a 400 AppError when it does not verify. */
  verifyWebhook(headers: Record<string, string | string[] | undefined>, rawBody: Buffer): ProviderEvent;
  /** A cheap authenticated call: which account the key belongs to. */
  testConnection(): Promise<{ accountId: string; livemode: boolean; name: string }>;
  createCustomer(input: { email: string; userId: string; idempotencyKey: string }): Promise<string>;
  createCheckout(input: CheckoutRequest): Promise<CheckoutSession>;
  createIntent(input: IntentRequest): Promise<{ paymentId: string; clientSecret: string }>;
  /** The Plinth order a payment was made for (its metadata), for an event that names only the payment. */
  orderOfPayment(paymentId: string): Promise<string | null>;
  /** An intent made earlier (a repeated intent call for the same order). */
  retrieveIntent(paymentId: string): Promise<{ paymentId: string; clientSecret: string }>;
  portalSession(customerId: string, returnUrl: string): Promise<{ url: string }>;
  refund(input: { paymentId: string; amount: number; orderId: string; idempotencyKey: string }): Promise<RefundResult>;
  setCancelAtPeriodEnd(externalId: string, value: boolean, idempotencyKey: string): Promise<SubscriptionState>;
  cancelNow(externalId: string, idempotencyKey: string): Promise<SubscriptionState>;
  /** The active products and prices of the provider's catalog (all pages). */
  listCatalog(): Promise<{ products: CatalogProduct[]; prices: CatalogPrice[] }>;
  createProduct(input: { name: string; description: string; plinthId: string; idempotencyKey: string }): Promise<string>;
  createPrice(input: Omit<CatalogPrice, 'id' | 'active' | 'nickname'> & { nickname: string; plinthId: string; idempotencyKey: string }): Promise<string>;
  /** A link to the object in the provider's dashboard (the admin UI shows it). */
  dashboardUrl(kind: 'payment' | 'subscription' | 'customer' | 'session', id: string, livemode: boolean): string;
}
