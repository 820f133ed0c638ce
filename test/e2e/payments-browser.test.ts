/**
 * Payments in Chromium: a static shop page (served from the public dir) uses the PocketBase SDK to start a
 * checkout; the browser goes to the Stripe stand-in's hosted checkout page, pays, comes back to the success
 * URL, and that page shows the order turning from pending to paid over realtime (the webhook is sent after the
 * redirect). Then the dashboard's Payments page lists the order as paid, refunds it, and shows it refunded.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, requireBrowser, screenshotPath } from './admin-browser.js';
import { startServer, SUPERUSER_EMAIL, SUPERUSER_PASSWORD, type TestServer } from '../helpers/server.js';
import { STANDIN_SECRET_KEY, STANDIN_WEBHOOK_SECRET, StripeStandin } from '../helpers/stripe-standin.js';

requireBrowser();

const SHOP_JS = `
import PocketBase from './sdk.mjs';
const pb = new PocketBase(location.origin);
window.pb = pb;
window.statusLog = [];
const params = new URLSearchParams(location.search);
const orderId = params.get('order');
const out = document.getElementById('status');
if (orderId) {
  const order = await pb.collection('orders').getOne(orderId);
  window.statusLog.push('fetch:' + order.status);
  out.textContent = order.status;
  await pb.collection('orders').subscribe(orderId, (e) => {
    window.statusLog.push('realtime:' + e.record.status);
    out.textContent = e.record.status;
  });
  document.body.dataset.subscribed = 'yes';
} else {
  document.getElementById('buy').onclick = async () => {
    const res = await pb.send('/api/payments/checkout', { method: 'POST', body: { items: [{ price: document.body.dataset.price, quantity: 1 }] } });
    location.href = res.url;
  };
}
`;

describe('payments in Chromium: checkout from a page, back to the success URL, paid over realtime', { timeout: 120_000 }, () => {
  let s: TestServer;
  let stripe: StripeStandin;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  let priceId = '';

  before(async () => {
    stripe = await new StripeStandin().start();
    stripe.pageWebhookDelayMs = 1500;
    const pub = mkdtempSync(join(tmpdir(), 'plinth-shop-'));
    mkdirSync(pub, { recursive: true });
    copyFileSync(join('node_modules', 'pocketbase', 'dist', 'pocketbase.es.mjs'), join(pub, 'sdk.mjs'));
    writeFileSync(join(pub, 'shop.mjs'), SHOP_JS);
    s = await startServer({ payments: { stripe: { apiBase: stripe.url } }, server: { publicDir: pub, indexFallback: false } });
    stripe.webhookUrl = `${s.url}/api/payments/stripe/webhook`;
    await s.admin.settings.update({
      meta: { appURL: s.url },
      payments: {
        stripe: {
          enabled: true,
          secretKey: STANDIN_SECRET_KEY,
          webhookSecret: STANDIN_WEBHOOK_SECRET,
          publishableKey: 'pk_test_standin',
          currencies: ['eur'],
          successUrl: `${s.url}/?order={ORDER_ID}`,
          cancelUrl: `${s.url}/`,
        },
      },
    });
    await s.app.payments.ensureCollections();
    const product = await s.admin.collection('products').create({ name: 'Poster', active: true });
    priceId = (await s.admin.collection('prices').create({ product: product.id, amount: 1990, currency: 'eur', active: true })).id;
    writeFileSync(
      join(pub, 'index.html'),
      `<!doctype html><html><head><title>Shop</title><script type="module" src="/shop.mjs"></script></head>` +
        `<body data-price="${priceId}"><button id="buy" type="button">Buy the poster</button><p>Order: <span id="status">none</span></p></body></html>`,
    );
    await s.admin.collection('users').create({ email: 'shopper@example.com', password: 'a-long-password', passwordConfirm: 'a-long-password' });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('dialog', (d) => void d.accept(d.type() === 'prompt' ? d.defaultValue() : undefined));
  });

  after(async () => {
    await browser?.close();
    await s?.close();
    await stripe?.close();
  });

  it('button → stand-in checkout page → success URL → the order shows paid over realtime', async () => {
    await page.goto(`${s.url}/`);
    await page.waitForFunction('window.pb !== undefined');
    await page.evaluate("window.pb.collection('users').authWithPassword('shopper@example.com', 'a-long-password')");
    await page.getByRole('button', { name: 'Buy the poster' }).click();
    await page.waitForURL(`${stripe.url}/checkout/**`);
    await page.getByText('Pay 19.90 EUR').waitFor();
    await page.getByRole('button', { name: 'Pay' }).click();
    await page.waitForURL(new RegExp(`^${s.url}/\\?order=`));
    await page.locator('body[data-subscribed="yes"]').waitFor();
    await page.locator('#status', { hasText: 'paid' }).waitFor();
    const log = (await page.evaluate('window.statusLog')) as string[];
    assert.equal(log[0], 'fetch:pending', JSON.stringify(log));
    assert.ok(log.includes('realtime:paid'), JSON.stringify(log));
    await page.screenshot({ path: screenshotPath('payments-success') });
    const orderId = new URL(page.url()).searchParams.get('order')!;
    assert.equal((await s.admin.collection('orders').getOne(orderId)).status, 'paid');
    assert.deepEqual(pageErrors, []);
  });

  it('the dashboard lists the order as paid and refunds it', async () => {
    const dash = await browser.newPage({ viewport: { width: 1280, height: 820 } });
    dash.setDefaultTimeout(15_000);
    dash.on('pageerror', (e) => pageErrors.push(e.message));
    dash.on('dialog', (d) => void d.accept(d.type() === 'prompt' ? d.defaultValue() : undefined));
    await dash.goto(`${s.url}/_/`);
    await dash.getByLabel('Email').fill(SUPERUSER_EMAIL);
    await dash.getByLabel('Password').fill(SUPERUSER_PASSWORD);
    await dash.getByRole('button', { name: 'Log in' }).click();
    await dash.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Payments' }).click();
    const row = dash.locator('tr[data-testid="order-row"][data-status="paid"]');
    await row.waitFor();
    await row.getByText('shopper@example.com').waitFor();
    assert.match(await row.innerText(), /19[.,]90/);
    assert.match((await row.locator('a').getAttribute('href')) ?? '', /^https:\/\/dashboard\.stripe\.com\/test\/payments\/pi_/);
    await dash.locator('[data-testid="payments-chart"] rect').first().waitFor({ state: 'attached' });
    await row.getByRole('button', { name: /Refund order/ }).click();
    await dash.locator('tr[data-testid="order-row"][data-status="refunded"]').waitFor();
    assert.equal(stripe.refunds.size, 1);
    await dash.getByRole('button', { name: 'Export to Stripe' }).click();
    await dash.getByText('Exported 1 products and 1 prices to Stripe.').waitFor();
    assert.equal(stripe.prices.size, 1);
    await dash.getByRole('button', { name: 'Subscriptions' }).click();
    await dash.getByText('No subscriptions.').waitFor();
    await dash.goto(`${s.url}/_/#/settings/payments`);
    await dash.getByRole('heading', { name: 'Payments (Stripe)' }).waitFor();
    await dash.getByRole('button', { name: 'Test connection' }).click();
    await dash.getByText(/Connected to Stripe: Stand-in Shop \(test mode\)/).waitFor();
    await dash.screenshot({ path: screenshotPath('payments-settings') });
    assert.deepEqual(pageErrors, []);
  });
});
