/**
 * The payments data: four system collections (created the first time payments are enabled, so a Plinth that
 * takes no payments has none of them) and two internal tables (created at start, like the webhook tables).
 *
 * The collections are `system`: their names, API rules and the fields Plinth writes cannot be changed or
 * removed, but a user may add fields (a `sku`, a `shippingAddress`…) and indexes. Their rules, out of the box:
 * products and prices are public while active; a user lists and views only their own orders and subscriptions
 * (a guest order is viewable by its unguessable id, so a guest's success page can follow it over realtime);
 * no client writes anything (the payments endpoints and the webhook do, as the system; refunds are superusers').
 */
import type { CollectionStore } from '../collections/store.js';
import { USERS_COLLECTION_ID } from '../collections/model.js';
import type { Database, Executor } from '../db/dialect.js';
import { ident, sql } from '../db/sql.js';

export const PRODUCTS = 'products';
export const PRICES = 'prices';
export const ORDERS = 'orders';
export const SUBSCRIPTIONS = 'subscriptions';
const IDS = { products: 'pbc_plinth_products', prices: 'pbc_plinth_prices', orders: 'pbc_plinth_orders', subscriptions: 'pbc_plinth_subs' } as const;

export const ORDER_STATUSES = ['pending', 'paid', 'failed', 'expired', 'partially_refunded', 'refunded', 'disputed'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];
export const SUBSCRIPTION_STATUSES = ['incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'canceled', 'unpaid', 'paused'] as const;

/** Creates `_paymentEvents` (each provider event id once) and `_paymentCustomers` (user → provider customer). */
export async function createPaymentTables(exec: Executor): Promise<void> {
  await exec.transaction(async (tx) => {
    await tx.run(sql`CREATE TABLE IF NOT EXISTS "_paymentEvents" (
      provider TEXT NOT NULL,
      id TEXT NOT NULL,
      type TEXT NOT NULL,
      created BIGINT NOT NULL,
      received BIGINT NOT NULL,
      PRIMARY KEY (provider, id)
    )`);
    await tx.run(sql`CREATE TABLE IF NOT EXISTS "_paymentCustomers" (
      provider TEXT NOT NULL,
      "user" TEXT NOT NULL,
      customer TEXT NOT NULL,
      created BIGINT NOT NULL,
      PRIMARY KEY (provider, "user")
    )`);
    await tx.run(sql`CREATE INDEX IF NOT EXISTS "_paymentCustomers_customer" ON "_paymentCustomers" (provider, customer)`);
  });
}

const sys = { system: true };
const text = (name: string, extra: Record<string, unknown> = {}) => ({ name, type: 'text', max: 2000, ...sys, ...extra });
const num = (name: string, extra: Record<string, unknown> = {}) => ({ name, type: 'number', onlyInt: true, ...sys, ...extra });
const bool = (name: string) => ({ name, type: 'bool', ...sys });
const json = (name: string) => ({ name, type: 'json', maxSize: 200_000, ...sys });
const date = (name: string) => ({ name, type: 'date', ...sys });
const select = (name: string, values: readonly string[], extra: Record<string, unknown> = {}) => ({
  name,
  type: 'select',
  values,
  maxSelect: 1,
  ...sys,
  ...extra,
});
const relation = (name: string, collectionId: string, extra: Record<string, unknown> = {}) => ({
  name,
  type: 'relation',
  collectionId,
  maxSelect: 1,
  cascadeDelete: false,
  ...sys,
  ...extra,
});
const autodates = [
  { name: 'created', type: 'autodate', onCreate: true, onUpdate: false, ...sys },
  { name: 'updated', type: 'autodate', onCreate: true, onUpdate: true, ...sys },
];
const OWN = '@request.auth.id != "" && user = @request.auth.id';

function definitions(): Array<Record<string, unknown>> {
  const users = USERS_COLLECTION_ID;
  return [
    {
      id: IDS.products,
      name: PRODUCTS,
      type: 'base',
      system: true,
      listRule: 'active = true',
      viewRule: 'active = true',
      createRule: null,
      updateRule: null,
      deleteRule: null,
      fields: [
        text('name', { required: true, max: 250 }),
        text('description', { max: 5000 }),
        {
          name: 'images',
          type: 'file',
          maxSelect: 8,
          maxSize: 5 * 1024 * 1024,
          mimeTypes: ['image/jpeg', 'image/png', 'image/webp', 'image/gif'],
          ...sys,
        },
        bool('active'),
        bool('allowGuests'),
        json('metadata'),
        text('providerProductId', { max: 255 }),
        ...autodates,
      ],
      indexes: [],
    },
    {
      id: IDS.prices,
      name: PRICES,
      type: 'base',
      system: true,
      listRule: 'active = true && product.active = true',
      viewRule: 'active = true && product.active = true',
      createRule: null,
      updateRule: null,
      deleteRule: null,
      fields: [
        relation('product', IDS.products, { required: true, cascadeDelete: true }),
        text('label', { max: 250 }),
        num('amount', { min: 0, max: 99_999_999 }),
        text('currency', { required: true, pattern: '^[a-z]{3}$', max: 3, min: 3 }),
        select('interval', ['day', 'week', 'month', 'year']),
        num('intervalCount', { min: 0, max: 365 }),
        bool('active'),
        text('providerPriceId', { max: 255 }),
        ...autodates,
      ],
      indexes: ['CREATE INDEX `idx_prices_product` ON `prices` (`product`)'],
    },
    {
      id: IDS.orders,
      name: ORDERS,
      type: 'base',
      system: true,
      listRule: OWN,
      viewRule: `(${OWN}) || user = ""`,
      createRule: null,
      updateRule: null,
      deleteRule: null,
      fields: [
        relation('user', users),
        text('email', { max: 320 }),
        select('status', ORDER_STATUSES, { required: true }),
        select('flow', ['checkout', 'intent', 'renewal']),
        select('mode', ['payment', 'subscription']),
        num('amountTotal', { min: 0 }),
        text('currency', { max: 3 }),
        json('items'),
        num('refundedAmount', { min: 0 }),
        json('refunds'),
        text('provider', { max: 50 }),
        text('sessionId', { max: 255 }),
        text('checkoutUrl', { max: 5000, hidden: false }),
        text('paymentId', { max: 255 }),
        text('customerId', { max: 255 }),
        text('subscriptionId', { max: 255 }),
        text('invoiceId', { max: 255 }),
        date('paidAt'),
        text('lastError', { max: 1000 }),
        text('checkoutKey', { max: 100, hidden: true }),
        text('fingerprint', { max: 100, hidden: true }),
        ...autodates,
      ],
      indexes: [
        'CREATE UNIQUE INDEX `idx_orders_checkoutKey` ON `orders` (`checkoutKey`)',
        'CREATE INDEX `idx_orders_user` ON `orders` (`user`)',
        'CREATE INDEX `idx_orders_sessionId` ON `orders` (`sessionId`)',
        'CREATE INDEX `idx_orders_paymentId` ON `orders` (`paymentId`)',
        'CREATE INDEX `idx_orders_created` ON `orders` (`created`)',
      ],
    },
    {
      id: IDS.subscriptions,
      name: SUBSCRIPTIONS,
      type: 'base',
      system: true,
      listRule: OWN,
      viewRule: OWN,
      createRule: null,
      updateRule: null,
      deleteRule: null,
      fields: [
        relation('user', users),
        text('status', { required: true, max: 50 }),
        relation('price', IDS.prices),
        relation('order', IDS.orders),
        text('providerPriceId', { max: 255 }),
        num('quantity', { min: 0 }),
        text('provider', { max: 50 }),
        text('externalId', { required: true, max: 255 }),
        text('customerId', { max: 255 }),
        date('currentPeriodStart'),
        date('currentPeriodEnd'),
        bool('cancelAtPeriodEnd'),
        date('canceledAt'),
        num('lastEventAt', { hidden: true }),
        ...autodates,
      ],
      indexes: [
        'CREATE UNIQUE INDEX `idx_subscriptions_externalId` ON `subscriptions` (`externalId`)',
        'CREATE INDEX `idx_subscriptions_user` ON `subscriptions` (`user`)',
      ],
    },
  ];
}

/** Creates whichever of the four collections is missing (by name); an existing one is left as it is. */
export async function ensurePaymentCollections(collections: CollectionStore): Promise<void> {
  for (const def of definitions()) {
    if (collections.find(def.name as string)) continue;
    await collections.create(def, 'bootstrap');
  }
}

/** PostgreSQL: locks an order/subscription row for the rest of the transaction (SQLite has one writer anyway). */
export async function lockRow(tx: Executor, db: Database, table: string, id: string): Promise<void> {
  if (db.dialect.name !== 'postgres') return;
  await tx.run(sql`SELECT 1 FROM ${ident(table)} WHERE id = ${id} FOR UPDATE`);
}
