/**
 * docs/hooks.md's worked examples are real code: every ```ts block whose first line is
 * `// plinth_hooks/<file>` is written into a hooks directory, type-checked with `plinth hooks check`, loaded
 * into a real server, and the examples are exercised over HTTP (welcome mail, computed field, enrichment
 * per caller, aborted delete, the nightly cron job, the job handler, the checkout route). `stripe` is a tiny
 * local package with the two SDK entry points the checkout example uses; its API calls go through
 * `app.http.fetch` to a loopback stand-in (allow-listed in settings.outbound.allowedHosts).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ClientResponseError } from 'pocketbase';
import { startServer, type TestServer } from '../helpers/server.js';
import { startSmtpSink, type SmtpSink } from '../helpers/auth-smtp-sink.js';
import { login, postJson, signUp } from '../helpers/auth-http.js';
import { writeFiles } from '../helpers/hooks.js';

/** The docs' hook files: name → source. */
export function docSnippets(): Record<string, string> {
  const doc = readFileSync('docs/hooks.md', 'utf8');
  const out: Record<string, string> = {};
  for (const m of doc.matchAll(/```ts\n([\s\S]*?)```/g)) {
    const code = (m[1] as string).replace(/^ {2}/gm, '');
    const name = /^\/\/ plinth_hooks\/([\w.-]+)\n/.exec(code)?.[1];
    if (name) out[name] = code;
  }
  return out;
}

const STRIPE_STUB = {
  'node_modules/stripe/package.json': JSON.stringify({
    name: 'stripe',
    version: '0.0.0-test',
    type: 'module',
    exports: { '.': { types: './index.d.ts', default: './index.js' } },
  }),
  'node_modules/stripe/index.js': `export default class Stripe {
  constructor(key, opts = {}) { this.key = key; this.http = opts.httpClient; }
  static createFetchHttpClient(fetchFn) { return { fetchFn }; }
  get checkout() {
    return { sessions: { create: async (params) => {
      const base = process.env.PLINTH_TEST_STRIPE_BASE ?? 'https://api.stripe.com';
      const res = await this.http.fetchFn(base + '/v1/checkout/sessions', { method: 'POST', body: JSON.stringify(params) });
      return res.json();
    } } };
  }
}
`,
  'node_modules/stripe/index.d.ts': `declare class Stripe {
  constructor(key: string, opts?: { httpClient?: unknown });
  static createFetchHttpClient(fn: (url: string, init?: RequestInit) => Promise<Response>): unknown;
  checkout: { sessions: { create(params: Record<string, unknown>): Promise<{ id: string; url: string | null }> } };
}
export default Stripe;
`,
};

describe('docs/hooks.md examples', () => {
  let s: TestServer;
  let dir: string;
  let smtp: SmtpSink;
  let stripeApi: Server;
  const sessions: Array<Record<string, unknown>> = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'plinth-hooks-docs-'));
    const snippets = docSnippets();
    for (const f of ['00-hello.ts', 'welcome.ts', 'slugs.ts', 'enrich.ts', 'invoices.ts', 'nightly.ts', 'reports.ts', 'checkout.ts']) {
      assert.ok(snippets[f], `docs/hooks.md has the ${f} example`);
    }
    writeFiles(dir, { ...snippets, ...STRIPE_STUB });
    // Stripe's checkout-session endpoint, on loopback: answers a session for what it was asked.
    stripeApi = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        sessions.push({ path: req.url, ...(JSON.parse(body) as Record<string, unknown>) });
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ id: `cs_test_${sessions.length}`, url: `https://checkout.example/cs_test_${sessions.length}` }));
      });
    });
    await new Promise<void>((r) => stripeApi.listen(0, '127.0.0.1', r));
    process.env.PLINTH_TEST_STRIPE_BASE = `http://127.0.0.1:${(stripeApi.address() as AddressInfo).port}`;
    s = await startServer({
      settings: { outbound: { allowedHosts: ['127.0.0.1'] } },
      hooks: { dir },
      beforeHooks: async (app) => {
        const text = (name: string) => ({ name, type: 'text' });
        await app.collections.create({
          name: 'articles',
          type: 'base',
          fields: [text('title'), text('body'), text('slug'), { name: 'words', type: 'number' }, text('author'), text('draftNotes')],
          listRule: '',
          viewRule: '',
          createRule: '',
        });
        await app.collections.create({ name: 'invoices', type: 'base', fields: [{ name: 'paid', type: 'bool' }], deleteRule: '' });
        await app.collections.create({
          name: 'orders',
          type: 'base',
          fields: [
            text('user'),
            text('product'),
            { name: 'quantity', type: 'number' },
            text('session'),
            text('status'),
            { name: 'created', type: 'autodate', onCreate: true },
          ],
        });
        await app.collections.create({ name: 'reports', type: 'base', fields: [text('day'), { name: 'orders', type: 'number' }] });
        await app.collections.create({ name: 'products', type: 'base', fields: [text('name'), text('stripePrice')], viewRule: '' });
      },
    });
    smtp = await startSmtpSink();
    await smtp.attach(s);
  });
  after(async () => {
    await s?.close();
    await smtp?.close();
    await new Promise((r) => stripeApi?.close(r));
    delete process.env.PLINTH_TEST_STRIPE_BASE;
    rmSync(dir, { recursive: true, force: true });
  });

  it('every example type-checks with plinth hooks check', async () => {
    // Asynchronously: a blocked event loop would let the server's idle keep-alive sockets go stale.
    const child = spawn(process.execPath, [resolve('bin/plinth.js'), 'hooks', 'check', `--hooksDir=${dir}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    assert.equal(code, 0, out);
  });

  it('every example loads, in name order', () => {
    assert.deepEqual(s.hooks!.files, ['00-hello.ts', 'checkout.ts', 'enrich.ts', 'invoices.ts', 'nightly.ts', 'reports.ts', 'slugs.ts', 'welcome.ts']);
    assert.deepEqual(
      s.hooks!.routes.list().map((r) => `${r.method} ${r.path}`),
      ['POST /api/shop/checkout'],
    );
  });

  it('welcome mail on sign-up', async () => {
    await signUp(s, 'newbie@example.com');
    const mail = await smtp.waitFor((m) => m.to.includes('newbie@example.com'));
    assert.match(mail.subject, /^Welcome to /);
    assert.match(mail.text, /thanks for signing up/);
  });

  it('computed field on create and update', async () => {
    const a = await s.client().collection('articles').create({ title: 'Hello, World!', body: 'one two  three' });
    assert.equal(a.slug, 'hello-world');
    assert.equal(a.words, 3);
    const b = await s.admin.collection('articles').update(a.id, { title: 'Second Take' });
    assert.equal(b.slug, 'second-take');
  });

  it('enrichment per caller', async () => {
    const id = await signUp(s, 'author@example.com');
    const author = await login(s, 'author@example.com');
    const mine = await author.collection('articles').create({ title: 'Drafty', author: id, draftNotes: 'secret plan' });
    assert.equal(mine.isMine, true);
    assert.equal(mine.draftNotes, 'secret plan');
    const seen = await s.client().collection('articles').getOne(mine.id);
    assert.equal(seen.isMine, false);
    assert.equal('draftNotes' in seen, false);
  });

  it('aborting a delete', async () => {
    const paid = await s.admin.collection('invoices').create({ paid: true });
    await assert.rejects(
      s.client().collection('invoices').delete(paid.id),
      (e: ClientResponseError) => e.status === 409 && e.response.data.paid?.code === 'validation_paid',
    );
    const open = await s.admin.collection('invoices').create({ paid: false });
    await s.client().collection('invoices').delete(open.id);
  });

  it('the nightly job runs (here: started by hand over /api/crons)', async () => {
    await s.admin.collection('orders').create({ status: 'paid' });
    const crons = await s.admin.crons.getFullList();
    assert.ok(crons.some((c) => c.id === 'nightly-summary' && c.expression === '0 3 * * *'));
    await s.admin.crons.run('nightly-summary');
    let report;
    for (let i = 0; i < 100 && !report; i++) {
      report = (await s.admin.collection('reports').getList(1, 1)).items[0];
      if (!report) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(report?.orders, 1);
  });

  it('the job example defines its handler', () => {
    assert.ok(s.app.jobs.defined().includes('build-report'));
  });

  it('the checkout route: guarded, refuses bad input, reads the product as the caller, calls Stripe, records the order', async () => {
    const route = '/api/shop/checkout';
    const guest = await postJson(s, route, { productId: 'x', quantity: 1 });
    assert.equal(guest.status, 401);
    const buyerId = await signUp(s, 'buyer@example.com');
    const buyer = await login(s, 'buyer@example.com');
    const bad = await postJson(s, route, { quantity: 0 }, buyer.authStore.token);
    assert.equal(bad.status, 400);
    assert.equal(sessions.length, 0);
    const missing = await postJson(s, route, { productId: 'nope12345678901', quantity: 1 }, buyer.authStore.token);
    assert.equal(missing.status, 404);
    const product = await s.admin.collection('products').create({ name: 'Mug', stripePrice: 'price_mug' });
    const ok = await postJson(s, route, { productId: product.id, quantity: 2 }, buyer.authStore.token);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const body = ok.body as { order: string; url: string };
    assert.match(body.url, /^https:\/\/checkout\.example\/cs_test_1$/);
    assert.deepEqual(sessions[0]?.line_items, [{ price: 'price_mug', quantity: 2 }]);
    const order = await s.admin.collection('orders').getOne(body.order);
    assert.equal(order.user, buyerId);
    assert.equal(order.product, product.id);
    assert.equal(order.session, 'cs_test_1');
    assert.equal(order.status, 'pending');
  });
});
