/** Payments (docs/payments.md): the provider seam, the Stripe adapter, orders and subscriptions kept in collections. */
export { PaymentService, PAYMENT_COLLECTIONS, type PaymentDeps, type PaymentsOptions } from './service.js';
export type { PaymentProvider, ProviderEvent, LineItem, SubscriptionState } from './provider.js';
export type { StripeOptions } from './stripe.js';
export { ORDERS, PRICES, PRODUCTS, SUBSCRIPTIONS, ORDER_STATUSES } from './schema.js';
