/**
 * The dashboard's Webhooks page in Chromium: create an endpoint with the events picker (the secret is shown
 * once, and it verifies the deliveries), the counters and the delivery log with its status filter, a failed
 * message's attempts, replay, and "send test event".
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, requireBrowser, screenshotPath } from './admin-browser.js';
import { startServer, SUPERUSER_EMAIL, SUPERUSER_PASSWORD, type TestServer } from '../helpers/server.js';
import { eventually, startReceiver, verifyHit, type Receiver } from '../helpers/webhook-receiver.js';

requireBrowser();

describe('dashboard Webhooks page in Chromium', { timeout: 120_000 }, () => {
  let s: TestServer;
  let r: Receiver;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  let failing = true;

  before(async () => {
    s = await startServer({
      settings: { outbound: { allowedHosts: ['127.0.0.1'] } },
      jobs: { pollMs: 50 },
      webhooks: { scheduleMs: [0, 100], timeoutMs: 1000 },
    });
    await s.admin.collections.create({ name: 'posts', type: 'base', fields: [{ name: 'title', type: 'text' }] });
    r = await startReceiver((_q, res) => {
      res.statusCode = failing ? 500 : 200;
      res.end(failing ? 'receiver is down' : 'ok');
    });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('dialog', (d) => void d.accept());
  });

  after(async () => {
    await browser?.close();
    await r?.close();
    await s?.close();
  });

  it('creates an endpoint, shows the secret once, lists deliveries, replays a failed one and sends a test event', async () => {
    await page.goto(`${s.url}/_/`);
    await page.getByLabel('Email').fill(SUPERUSER_EMAIL);
    await page.getByLabel('Password').fill(SUPERUSER_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Webhooks' }).click();
    await page.getByText('No endpoints yet.').waitFor();

    await page.getByRole('button', { name: '+ New endpoint' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('URL').fill('ftp://nope');
    await dialog.getByLabel('posts.create').check();
    await dialog.getByRole('button', { name: 'Create' }).click();
    // The browser's own URL check passes ftp:, the server refuses it.
    await dialog.getByText(/only http and https/i).waitFor();
    await dialog.getByLabel('URL').fill(`${r.url}/hook`);
    await dialog.getByRole('button', { name: 'Create' }).click();
    const secret = (await page.locator('[data-testid="webhook-secret-value"]').textContent())?.trim() ?? '';
    assert.match(secret, /^whsec_/);
    const row = page.locator('tr[data-testid="webhook-row"]', { hasText: `${r.url}/hook` });
    await row.waitFor();
    const listed = await s.admin.send('/api/webhooks', {});
    assert.equal(listed.items.length, 1);
    assert.equal(listed.items[0].events.join(), 'posts.create');

    // A write while the receiver fails: both attempts fail.
    await s.admin.collection('posts').create({ title: 'from the test' });
    await r.waitFor(2);
    await eventually(async () => (await s.admin.send(`/api/webhooks/${listed.items[0].id}/messages`, { query: { status: 'failed' } })).totalItems === 1);
    await page.getByRole('button', { name: '↻ Refresh' }).click();
    await row.locator('[data-testid="count-failed"]', { hasText: '1' }).waitFor();
    await row.getByRole('button', { name: `Delivery log of ${r.url}/hook` }).click();
    await page.locator('[data-testid="messages-tab-failed"]').click();
    const msgRow = page.locator('tr[data-testid="message-row"]', { hasText: 'posts.create' });
    await msgRow.waitFor();
    await msgRow.getByRole('button', { name: /^Attempts of/ }).click();
    await page.getByRole('dialog').locator('tr[data-testid="attempt-row"]').nth(1).waitFor();
    await page.getByRole('dialog').getByText('receiver is down').first().waitFor();
    await page.screenshot({ path: screenshotPath('21-webhooks') });

    failing = false;
    await page.getByRole('dialog').getByRole('button', { name: 'Replay' }).click();
    await r.waitFor(3);
    const body = verifyHit(secret, r.hits[2]!);
    assert.equal(body.type, 'posts.create');
    assert.equal(body.data.record.title, 'from the test');
    assert.equal(r.hits[2]!.headers['webhook-id'], r.hits[0]!.headers['webhook-id']);
    await page.getByRole('button', { name: '↻ Refresh' }).click();
    await row.locator('[data-testid="count-delivered"]', { hasText: '1' }).waitFor();

    await row.getByRole('button', { name: `Send a test event to ${r.url}/hook` }).click();
    await r.waitFor(4);
    assert.equal(verifyHit(secret, r.hits[3]!).type, 'webhook.test');
    await page.locator('[data-testid="messages-tab-delivered"]').click();
    await page.locator('tr[data-testid="message-row"]', { hasText: 'webhook.test' }).waitFor();
    await page.screenshot({ path: screenshotPath('22-webhooks-log') });
    assert.deepEqual(pageErrors, []);
  });
});
