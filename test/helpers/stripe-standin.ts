/**
 * A local stand-in for the part of Stripe's REST API Plinth uses, for tests (Stripe's cloud is not reachable
 * here). The real `stripe` SDK talks to it (Plinth's `payments.stripe.apiBase`):
 *
 * - form-encoded requests with bracket notation (`line_items[0][price_data][currency]=usd`), JSON answers,
 *   Stripe's error shape `{error: {type, code, message, param}}`, `Authorization: Bearer <secret key>`;
 * - `Idempotency-Key`: the first answer for a key is replayed for the same request; the same key with other
 *   parameters is a 400 `idempotency_error` (as Stripe);
 * - faults on demand (`fail(n, 500 | 429 | 'timeout')`) for the next n requests;
 * - Stripe's amount limit (`maxAmount`, 99999999 minor units as for most currencies: 400 `amount_too_large`);
 * - refunds that fail later (`failRefund`: the amount goes back to the charge, as at Stripe);
 * - signed webhook events back to Plinth (`Stripe-Signature: t=…,v1=HMAC-SHA256(secret, "t.body")`);
 * - a hosted "checkout page" (`GET /checkout/<session>`) whose Pay button completes the session, sends the
 *   webhooks and redirects to the success URL, for the browser test.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Obj = Record<string, any>;

export const STANDIN_SECRET_KEY = 'sk_test_standin_0123456789abcdef';
export const STANDIN_WEBHOOK_SECRET = 'whsec_standin_0123456789abcdef';

/** `'500-saved'`: a 500 from an endpoint that began executing, which Stripe saves and replays for the key (24 h). */
type Fault = 500 | '500-saved' | 429 | 'timeout';

/** `a[b][0][c]=x&a[b][0][d]=y` → `{a: {b: [{c: 'x', d: 'y'}]}}` (Stripe's, and qs's, encoding). */
export function parseForm(text: string): Obj {
  const root: Obj = {};
  for (const pair of text.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const key = decodeURIComponent((eq < 0 ? pair : pair.slice(0, eq)).replace(/\+/g, ' '));
    const value = decodeURIComponent((eq < 0 ? '' : pair.slice(eq + 1)).replace(/\+/g, ' '));
    const parts = key.split('[').map((p, i) => (i === 0 ? p : p.replace(/\]$/, '')));
    let node: Obj = root;
    parts.forEach((part, i) => {
      const last = i === parts.length - 1;
      const nextIsIndex = !last && /^\d+$/.test(parts[i + 1] as string);
      if (last) node[part] = value;
      else node = node[part] ??= nextIsIndex ? [] : {};
    });
  }
  return root;
}

const id = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`;
const now = () => Math.floor(Date.now() / 1000);

export class StripeStandin {
  url = '';
  /** Where events go (Plinth's `/api/payments/stripe/webhook`). */
  webhookUrl = '';
  secretKey = STANDIN_SECRET_KEY;
  webhookSecret = STANDIN_WEBHOOK_SECRET;
  readonly customers = new Map<string, Obj>();
  readonly sessions = new Map<string, Obj>();
  readonly intents = new Map<string, Obj>();
  readonly charges = new Map<string, Obj>();
  readonly refunds = new Map<string, Obj>();
  readonly subscriptions = new Map<string, Obj>();
  readonly products = new Map<string, Obj>();
  readonly prices = new Map<string, Obj>();
  /** Every request received: method, path, idempotency key, params. */
  readonly requests: Array<{ method: string; path: string; key: string | undefined; params: Obj }> = [];
  private readonly idempotency = new Map<string, { fingerprint: string; status: number; body: string }>();
  private faults: Fault[] = [];
  /** The hosted page's Pay: wait this long after redirecting the buyer before sending the webhooks (a realtime test). */
  pageWebhookDelayMs = 0;
  /** Stripe's largest amount in minor units (a test may lower it, as a currency or an account with a lower limit). */
  maxAmount = 99_999_999;
  /** Runs after a request is executed and before it is answered (e.g. deliver a webhook first). */
  beforeAnswer: ((path: string, body: Obj) => Promise<void>) | null = null;
  private server: Server | null = null;
  private readonly hanging = new Set<ServerResponse>();

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const r of this.hanging) r.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** The next `n` API requests answer with `fault` (a timeout holds the answer until the client gives up). */
  fail(n: number, fault: Fault): void {
    for (let i = 0; i < n; i++) this.faults.push(fault);
  }

  /** API requests to a path (e.g. `/v1/checkout/sessions`). */
  calls(method: string, path: string): number {
    return this.requests.filter((r) => r.method === method && r.path === path).length;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', this.url);
    const method = req.method ?? 'GET';
    if (url.pathname.startsWith('/checkout/')) return this.checkoutPage(method, url, res);
    const params = method === 'GET' || method === 'DELETE' ? parseForm(url.search.slice(1)) : parseForm(raw);
    const key = typeof req.headers['idempotency-key'] === 'string' ? req.headers['idempotency-key'] : undefined;
    this.requests.push({ method, path: url.pathname, key, params });
    const send = (status: number, body: Obj, headers: Record<string, string> = {}) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'request-id': id('req'), ...headers });
      res.end(text);
      return text;
    };
    const fault = this.faults.shift();
    if (fault === 'timeout') {
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
      return; // never answers; the client's timeout fires
    }
    if (fault === 500 || fault === '500-saved') {
      const text = send(500, { error: { type: 'api_error', message: 'An unknown error occurred (stand-in fault).' } });
      if (fault === '500-saved' && key && method === 'POST')
        this.idempotency.set(key, { fingerprint: `${method} ${url.pathname} ${raw}`, status: 500, body: text });
      return;
    }
    if (fault === 429) return void send(429, { error: { type: 'invalid_request_error', code: 'rate_limit', message: 'Too many requests (stand-in fault).' } });
    const auth = req.headers.authorization ?? '';
    if (auth !== `Bearer ${this.secretKey}`) {
      const given = auth.replace(/^Bearer /, '');
      return void send(401, { error: { type: 'invalid_request_error', message: `Invalid API Key provided: ${given.slice(0, 8)}****${given.slice(-4)}` } });
    }
    const fingerprint = `${method} ${url.pathname} ${raw}`;
    if (key && method === 'POST') {
      const seen = this.idempotency.get(key);
      if (seen && seen.fingerprint !== fingerprint) {
        return void send(400, {
          error: {
            type: 'idempotency_error',
            message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
          },
        });
      }
      if (seen) {
        res.writeHead(seen.status, { 'content-type': 'application/json', 'idempotent-replayed': 'true' });
        return void res.end(seen.body);
      }
    }
    let status = 200;
    let body: Obj;
    try {
      body = this.route(method, url.pathname, params);
    } catch (err) {
      status = (err as { status?: number }).status ?? 400;
      body = {
        error: {
          type: 'invalid_request_error',
          message: (err as Error).message,
          ...((err as { code?: string }).code ? { code: (err as { code?: string }).code } : {}),
          ...((err as { param?: string }).param ? { param: (err as { param?: string }).param } : {}),
        },
      };
    }
    if (this.beforeAnswer && status === 200) await this.beforeAnswer(url.pathname, body);
    const text = send(status, body);
    if (key && method === 'POST') this.idempotency.set(key, { fingerprint, status, body: text });
  }

  private route(method: string, path: string, p: Obj): Obj {
    const notFound = (what: string) => Object.assign(new Error(`No such ${what}`), { status: 404 });
    let m: RegExpMatchArray | null;
    // A customer deleted in the dashboard, or one of other keys (test mode, another account), is not found.
    if (
      method === 'POST' &&
      p.customer !== undefined &&
      (path === '/v1/checkout/sessions' || path === '/v1/payment_intents' || path === '/v1/billing_portal/sessions')
    ) {
      if (!this.customers.has(String(p.customer)))
        throw Object.assign(new Error(`No such customer: '${p.customer}'`), { status: 400, code: 'resource_missing', param: 'customer' });
    }
    if (method === 'GET' && path === '/v1/account')
      return { id: 'acct_standin', object: 'account', email: 'owner@example.com', settings: { dashboard: { display_name: 'Stand-in Shop' } } };
    if (method === 'POST' && path === '/v1/customers') {
      const c = { id: id('cus'), object: 'customer', email: p.email ?? null, metadata: p.metadata ?? {} };
      this.customers.set(c.id, c);
      return c;
    }
    if (method === 'POST' && path === '/v1/checkout/sessions') {
      for (const [i, li] of (p.line_items ?? []).entries()) {
        if (!li.price && !li.price_data) throw Object.assign(new Error('Each line item needs a price or price_data'), { param: `line_items[${i}]` });
      }
      const amount = (p.line_items ?? []).reduce(
        (s: number, li: Obj) => s + Number(li.price_data?.unit_amount ?? this.prices.get(li.price)?.unit_amount ?? 1000) * Number(li.quantity ?? 1),
        0,
      );
      this.checkAmount(amount, 'amount_total');
      const s: Obj = {
        id: id('cs_test'),
        object: 'checkout.session',
        mode: p.mode,
        status: 'open',
        payment_status: 'unpaid',
        amount_total: amount,
        currency: p.line_items?.[0]?.price_data?.currency ?? 'usd',
        customer: p.customer ?? null,
        customer_email: p.customer_email ?? null,
        customer_details: null,
        client_reference_id: p.client_reference_id ?? null,
        metadata: p.metadata ?? {},
        payment_intent: null,
        subscription: null,
        success_url: p.success_url,
        cancel_url: p.cancel_url,
        expires_at: now() + 86400,
        line_items_params: p.line_items,
        payment_intent_data: p.payment_intent_data ?? {},
        subscription_data: p.subscription_data ?? {},
      };
      s.url = `${this.url}/checkout/${s.id}`;
      this.sessions.set(s.id, s);
      return s;
    }
    if (method === 'GET' && (m = path.match(/^\/v1\/checkout\/sessions\/([\w]+)$/))) {
      const s = this.sessions.get(m[1] as string);
      if (!s) throw notFound('checkout.session');
      return s;
    }
    if (method === 'GET' && (m = path.match(/^\/v1\/payment_intents\/(\w+)$/))) {
      const pi = this.intents.get(m[1] as string);
      if (!pi) throw notFound('payment_intent');
      return pi;
    }
    if (method === 'POST' && path === '/v1/payment_intents') {
      this.checkAmount(Number(p.amount), 'amount');
      const pi = this.newIntent(Number(p.amount), String(p.currency), p.metadata ?? {}, p.customer ?? null);
      return pi;
    }
    if (method === 'GET' && (m = path.match(/^\/v1\/charges\/(\w+)$/))) {
      const charge = this.charges.get(m[1] as string);
      if (!charge) throw notFound('charge');
      return charge;
    }
    if (method === 'POST' && path === '/v1/refunds') {
      const pi = this.intents.get(String(p.payment_intent));
      if (!pi) throw Object.assign(new Error(`No such payment_intent: '${p.payment_intent}'`), { status: 404, param: 'payment_intent' });
      const charge = this.charges.get(pi.latest_charge);
      if (!charge) throw new Error('This PaymentIntent has no successful charge to refund.');
      const amount = p.amount !== undefined ? Number(p.amount) : charge.amount - charge.amount_refunded;
      if (amount > charge.amount - charge.amount_refunded)
        throw Object.assign(new Error(`Refund amount (${amount}) is greater than unrefunded amount`), { param: 'amount' });
      charge.amount_refunded += amount;
      charge.refunded = charge.amount_refunded >= charge.amount;
      const r = {
        id: id('re'),
        object: 'refund',
        amount,
        charge: charge.id,
        payment_intent: pi.id,
        status: 'succeeded',
        failure_reason: null as string | null,
        created: now(),
        metadata: p.metadata ?? {},
      };
      this.refunds.set(r.id, r);
      return r;
    }
    if (method === 'POST' && (m = path.match(/^\/v1\/subscriptions\/(\w+)$/))) {
      const sub = this.subscriptions.get(m[1] as string);
      if (!sub) throw notFound('subscription');
      if (p.cancel_at_period_end !== undefined) sub.cancel_at_period_end = p.cancel_at_period_end === 'true';
      return sub;
    }
    if (method === 'DELETE' && (m = path.match(/^\/v1\/subscriptions\/(\w+)$/))) {
      const sub = this.subscriptions.get(m[1] as string);
      if (!sub) throw notFound('subscription');
      sub.status = 'canceled';
      sub.canceled_at = now();
      return sub;
    }
    if (method === 'POST' && path === '/v1/products') {
      if (!p.name) throw Object.assign(new Error('Missing required param: name.'), { param: 'name' });
      const prod = { id: id('prod'), object: 'product', name: p.name, description: p.description ?? null, active: true, metadata: p.metadata ?? {} };
      this.products.set(prod.id, prod);
      return prod;
    }
    if (method === 'POST' && path === '/v1/prices') {
      if (!this.products.has(String(p.product))) throw Object.assign(new Error(`No such product: '${p.product}'`), { status: 404, param: 'product' });
      const price = {
        id: id('price'),
        object: 'price',
        product: p.product,
        active: true,
        nickname: p.nickname ?? null,
        unit_amount: Number(p.unit_amount),
        currency: p.currency,
        billing_scheme: 'per_unit',
        recurring: p.recurring ? { interval: p.recurring.interval, interval_count: Number(p.recurring.interval_count ?? 1) } : null,
        metadata: p.metadata ?? {},
      };
      this.prices.set(price.id, price);
      return price;
    }
    if (method === 'GET' && (path === '/v1/products' || path === '/v1/prices')) {
      let all = [...(path === '/v1/products' ? this.products : this.prices).values()];
      if (p.active !== undefined) all = all.filter((x) => String(x.active) === p.active);
      const limit = Number(p.limit ?? 10);
      const start = p.starting_after ? all.findIndex((x) => x.id === p.starting_after) + 1 : 0;
      const data = all.slice(start, start + limit);
      return { object: 'list', url: path, data, has_more: start + limit < all.length };
    }
    if (method === 'POST' && path === '/v1/billing_portal/sessions') {
      if (!this.customers.has(String(p.customer))) throw Object.assign(new Error(`No such customer: '${p.customer}'`), { status: 404, param: 'customer' });
      return { id: id('bps'), object: 'billing_portal.session', customer: p.customer, return_url: p.return_url, url: `${this.url}/portal/${p.customer}` };
    }
    throw Object.assign(new Error(`Unrecognized request URL (${method}: ${path}).`), { status: 404 });
  }

  /** Stripe's answer to an amount over its limit (a 400 `invalid_request_error`, code `amount_too_large`). */
  private checkAmount(amount: number, param: string): void {
    if (amount > this.maxAmount)
      throw Object.assign(new Error(`Amount must be no more than ${this.maxAmount} (stand-in).`), { status: 400, code: 'amount_too_large', param });
  }

  /**
   * A refund fails after it was made (the card account closed) or is canceled: Stripe gives its amount back to
   * the charge. Returns the refund; the test delivers `refund.failed` / `refund.updated` / `charge.refund.updated`.
   */
  failRefund(refundId: string, status: 'failed' | 'canceled' = 'failed'): Obj {
    const r = this.refunds.get(refundId);
    if (!r) throw new Error(`stand-in: no refund ${refundId}`);
    r.status = status;
    if (status === 'failed') r.failure_reason = 'expired_or_canceled_card';
    const charge = this.charges.get(r.charge);
    if (charge) {
      charge.amount_refunded -= r.amount;
      charge.refunded = charge.amount_refunded >= charge.amount;
    }
    return r;
  }

  private newIntent(amount: number, currency: string, metadata: Obj, customer: string | null): Obj {
    const pi = {
      id: id('pi'),
      object: 'payment_intent',
      amount,
      amount_received: 0,
      currency,
      status: 'requires_payment_method',
      metadata,
      customer,
      latest_charge: null as string | null,
      client_secret: '',
    };
    pi.client_secret = `${pi.id}_secret_${randomBytes(8).toString('hex')}`;
    this.intents.set(pi.id, pi);
    return pi;
  }

  /** The buyer pays a checkout session: it completes (and, in subscription mode, a subscription starts). */
  pay(sessionId: string, opts: { async?: boolean } = {}): { session: Obj; intent: Obj | null; subscription: Obj | null; charge: Obj | null } {
    const s = this.sessions.get(sessionId);
    if (!s) throw new Error(`stand-in: no session ${sessionId}`);
    s.status = 'complete';
    s.payment_status = opts.async ? 'unpaid' : 'paid';
    s.customer_details = { email: s.customer_email ?? 'buyer@example.com' };
    if (!s.customer) {
      const c = { id: id('cus'), object: 'customer', email: s.customer_details.email, metadata: {} };
      this.customers.set(c.id, c);
      s.customer = c.id;
    }
    let intent: Obj | null = null;
    let charge: Obj | null = null;
    let subscription: Obj | null = null;
    if (s.mode === 'payment') {
      intent = this.newIntent(s.amount_total, s.currency, s.payment_intent_data?.metadata ?? {}, s.customer);
      s.payment_intent = intent.id;
      if (!opts.async) charge = this.succeed(intent);
    } else {
      const start = now();
      subscription = {
        id: id('sub'),
        object: 'subscription',
        status: 'active',
        customer: s.customer,
        cancel_at_period_end: false,
        canceled_at: null,
        metadata: s.subscription_data?.metadata ?? {},
        items: {
          object: 'list',
          data: [{ id: id('si'), price: { id: id('price') }, quantity: 1, current_period_start: start, current_period_end: start + 30 * 86400 }],
        },
      };
      this.subscriptions.set(subscription.id, subscription);
      s.subscription = subscription.id;
    }
    return { session: s, intent, subscription, charge };
  }

  /** A payment intent succeeds: it gets a charge, with a copy of the intent's metadata (as Stripe copies it on confirmation). */
  succeed(intent: Obj): Obj {
    intent.status = 'succeeded';
    intent.amount_received = intent.amount;
    const charge = {
      id: id('ch'),
      object: 'charge',
      amount: intent.amount,
      amount_refunded: 0,
      refunded: false,
      currency: intent.currency,
      payment_intent: intent.id,
      metadata: structuredClone(intent.metadata ?? {}),
    };
    this.charges.set(charge.id, charge);
    intent.latest_charge = charge.id;
    return charge;
  }

  /** An event of `type` about `object` (a snapshot), as Stripe sends it. */
  event(type: string, object: Obj, created = now()): Obj {
    return { id: id('evt'), object: 'event', api_version: '2026-11-18.endive', created, livemode: false, type, data: { object: structuredClone(object) } };
  }

  /** The `Stripe-Signature` header for `payload` (the secret and time can be forged for tests). */
  sign(payload: string, opts: { secret?: string; timestamp?: number } = {}): string {
    const t = opts.timestamp ?? now();
    const v1 = createHmac('sha256', opts.secret ?? this.webhookSecret)
      .update(`${t}.${payload}`)
      .digest('hex');
    return `t=${t},v1=${v1}`;
  }

  /** Delivers an event to Plinth, signed; resolves to Plinth's answer. */
  async deliver(event: Obj, opts: { signature?: string | null; payload?: string } = {}): Promise<{ status: number; body: Obj }> {
    const payload = opts.payload ?? JSON.stringify(event);
    const headers: Record<string, string> = {
      'content-type': 'application/json; charset=utf-8',
      'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
    };
    const sig = opts.signature === undefined ? this.sign(payload) : opts.signature;
    if (sig !== null) headers['stripe-signature'] = sig;
    const res = await fetch(this.webhookUrl, { method: 'POST', headers, body: payload });
    return { status: res.status, body: (await res.json()) as Obj };
  }

  /** The hosted checkout page: a Pay button that completes the session, sends its webhooks, and redirects. */
  private async checkoutPage(method: string, url: URL, res: ServerResponse): Promise<void> {
    const sessionId = url.pathname.split('/')[2] ?? '';
    const s = this.sessions.get(sessionId);
    if (!s) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      return void res.end('no such session');
    }
    if (method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return void res.end(
        `<!doctype html><title>Stand-in Checkout</title><h1>Pay ${(s.amount_total / 100).toFixed(2)} ${String(s.currency).toUpperCase()}</h1>` +
          `<form method="post" action="/checkout/${s.id}/pay"><button id="pay" type="submit">Pay</button></form>`,
      );
    }
    const { session, intent, charge, subscription } = this.pay(sessionId);
    const events = [
      this.event('checkout.session.completed', session),
      ...(intent && charge ? [this.event('payment_intent.succeeded', intent)] : []),
      ...(subscription ? [this.event('customer.subscription.created', subscription)] : []),
    ];
    const send = async () => {
      for (const e of events) await this.deliver(e);
    };
    if (this.pageWebhookDelayMs === 0) await send();
    else setTimeout(() => void send().catch(() => undefined), this.pageWebhookDelayMs);
    res.writeHead(303, { location: String(session.success_url).replace('{CHECKOUT_SESSION_ID}', session.id) });
    res.end();
  }
}
