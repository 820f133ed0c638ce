/**
 * Stripe events → the neutral events the service applies, across API versions: the subscription period on the
 * subscription (before 2025-03-31) or on its items (since), an invoice's subscription at the top level or under
 * `parent.subscription_details`, expanded or bare ids, and the types Plinth ignores.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEvent } from './stripe.js';

const event = (type: string, object: Record<string, unknown>) => ({ id: 'evt_1', type, created: 1_700_000_000, data: { object } });

describe('decodeEvent', () => {
  it('checkout.session.completed: paid or waiting for a delayed method; the order id from metadata or client_reference_id', () => {
    const paid = decodeEvent(
      event('checkout.session.completed', { id: 'cs_1', payment_status: 'paid', metadata: { plinth_order: 'o1' }, payment_intent: 'pi_1' }),
    );
    assert.deepEqual(paid.kind === 'order' && [paid.transition, paid.ref], ['paid', { orderId: 'o1', sessionId: 'cs_1', paymentId: 'pi_1' }]);
    const unpaid = decodeEvent(
      event('checkout.session.completed', { id: 'cs_2', payment_status: 'unpaid', client_reference_id: 'o2', payment_intent: { id: 'pi_2' } }),
    );
    assert.deepEqual(unpaid.kind === 'order' && [unpaid.transition, unpaid.ref.orderId, unpaid.paymentId], ['completed_unpaid', 'o2', 'pi_2']);
    const free = decodeEvent(event('checkout.session.completed', { id: 'cs_3', payment_status: 'no_payment_required' }));
    assert.equal(free.kind === 'order' && free.transition, 'paid');
  });

  it('subscriptions: the period from the items (new API versions) or the subscription (old ones); deleted is canceled', () => {
    const now = decodeEvent(
      event('customer.subscription.updated', {
        id: 'sub_1',
        status: 'active',
        customer: 'cus_1',
        cancel_at_period_end: true,
        items: { data: [{ price: { id: 'price_1' }, quantity: 2, current_period_start: 10, current_period_end: 20 }] },
        metadata: { plinth_user: 'u1', other: 5 },
      }),
    );
    assert.ok(now.kind === 'subscription');
    assert.deepEqual(
      [now.subscription.currentPeriodStart, now.subscription.currentPeriodEnd, now.subscription.providerPriceId, now.subscription.quantity],
      [10, 20, 'price_1', 2],
    );
    assert.deepEqual(now.subscription.metadata, { plinth_user: 'u1' }, 'only string metadata');
    const old = decodeEvent(
      event('customer.subscription.deleted', { id: 'sub_2', status: 'canceled', current_period_start: 1, current_period_end: 2, items: { data: [] } }),
    );
    assert.ok(old.kind === 'subscription' && old.deleted);
    assert.deepEqual([old.subscription.currentPeriodStart, old.subscription.currentPeriodEnd], [1, 2]);
  });

  it('invoices: the subscription under parent.subscription_details (new) or at the top (old); no subscription → ignored', () => {
    const fresh = decodeEvent(
      event('invoice.paid', {
        id: 'in_1',
        billing_reason: 'subscription_cycle',
        amount_paid: 900,
        currency: 'usd',
        parent: { subscription_details: { subscription: 'sub_1' } },
        payments: { data: [{ payment: { payment_intent: 'pi_9' } }] },
      }),
    );
    assert.ok(fresh.kind === 'invoice');
    assert.deepEqual([fresh.subscriptionId, fresh.amount, fresh.paymentId, fresh.paid], ['sub_1', 900, 'pi_9', true]);
    const legacy = decodeEvent(event('invoice.payment_failed', { id: 'in_2', subscription: 'sub_2', amount_due: 500, payment_intent: 'pi_8' }));
    assert.ok(legacy.kind === 'invoice');
    assert.deepEqual([legacy.subscriptionId, legacy.amount, legacy.paymentId, legacy.paid], ['sub_2', 500, 'pi_8', false]);
    assert.equal(decodeEvent(event('invoice.paid', { id: 'in_3', amount_paid: 100 })).kind, 'ignored');
  });

  it('refunds carry the cumulative amount; a lost dispute and unknown types are ignored', () => {
    const r = decodeEvent(event('charge.refunded', { id: 'ch_1', payment_intent: 'pi_1', amount_refunded: 300 }));
    assert.deepEqual(r.kind === 'order' && [r.transition, r.amountRefunded, r.ref.paymentId], ['refunded', 300, 'pi_1']);
    assert.equal(decodeEvent(event('charge.dispute.closed', { id: 'dp_1', status: 'lost', payment_intent: 'pi_1' })).kind, 'ignored');
    const won = decodeEvent(event('charge.dispute.closed', { id: 'dp_1', status: 'won', payment_intent: 'pi_1' }));
    assert.equal(won.kind === 'order' && won.transition, 'dispute_won');
    assert.equal(decodeEvent(event('customer.created', { id: 'cus_1' })).kind, 'ignored');
  });
  it('refund failures: refund.failed, or refund.updated / charge.refund.updated with status failed or canceled; other refund updates ignored', () => {
    const refund = { id: 're_1', object: 'refund', amount: 300, payment_intent: 'pi_1', metadata: { plinth_order: 'o1' } };
    for (const [type, status, want] of [
      ['refund.failed', 'failed', 'failed'],
      ['refund.updated', 'canceled', 'canceled'],
      ['charge.refund.updated', 'failed', 'failed'],
    ] as const) {
      const e = decodeEvent(event(type, { ...refund, status }));
      assert.ok(e.kind === 'order', type);
      assert.deepEqual(
        [e.transition, e.ref, e.refund],
        ['refund_failed', { orderId: 'o1', sessionId: null, paymentId: 'pi_1' }, { id: 're_1', amount: 300, status: want }],
      );
    }
    for (const status of ['succeeded', 'pending', 'requires_action']) assert.equal(decodeEvent(event('refund.updated', { ...refund, status })).kind, 'ignored');
  });
});
