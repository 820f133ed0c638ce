/**
 * The dashboard's API reference page in Chromium: it renders this instance's OpenAPI document per tag (a
 * collection created at runtime with its select enum and required fields, a custom route's declared body
 * and response), searches across tags, and opens a record schema nested in a response.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { RouteRegistry } from '../../src/http/custom-routes.js';
import { launchBrowser, requireBrowser, screenshotPath } from './admin-browser.js';
import { startServer, SUPERUSER_EMAIL, SUPERUSER_PASSWORD, type TestServer } from '../helpers/server.js';

requireBrowser();

// The bit of the DOM the in-page callback uses (this project compiles without the DOM lib).
declare const document: { documentElement: { scrollWidth: number } };

describe('dashboard API reference page in Chromium', { timeout: 120_000 }, () => {
  let s: TestServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const routes = new RouteRegistry();
  routes.post('/api/shop/checkout', () => ({ orderId: 'o1' }), {
    auth: 'any',
    openapi: {
      summary: 'Check out the cart',
      tags: ['Shop'],
      body: {
        type: 'object',
        properties: { sku: { type: 'string', description: 'The product code.' }, qty: { type: 'integer', minimum: 1 } },
        required: ['sku'],
      },
      response: { type: 'object', properties: { orderId: { type: 'string' } }, required: ['orderId'] },
    },
  });

  before(async () => {
    s = await startServer({ routes });
    await s.admin.collections.create({
      name: 'tickets',
      type: 'base',
      listRule: '',
      viewRule: '',
      fields: [
        { name: 'subject', type: 'text', required: true, max: 90 },
        { name: 'priority', type: 'select', values: ['low', 'high', 'urgent'], maxSelect: 1, required: true },
        { name: 'reporter', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
      ],
    });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  after(async () => {
    await browser?.close();
    await s?.close();
  });

  it("renders a collection's routes and schemas, a custom route, and searches across tags", async () => {
    await page.goto(`${s.url}/_/`);
    await page.getByLabel('Email').fill(SUPERUSER_EMAIL);
    await page.getByLabel('Password').fill(SUPERUSER_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API' }).click();
    await page.locator('[data-testid="api-operation"][data-path="/api/health"]').waitFor();

    // The collection's tag: its five record routes, the list parameters, the create body's enum and required marks.
    await page
      .getByRole('navigation', { name: 'API sections' })
      .getByRole('link', { name: /^tickets/ })
      .click();
    const ops = page.locator('[data-testid="api-operation"]');
    await page.locator('[data-testid="api-operation"][data-method="POST"][data-path="/api/collections/tickets/records"]').waitFor();
    assert.deepEqual(await ops.evaluateAll((els) => els.map((e) => `${e.getAttribute('data-method')} ${e.getAttribute('data-path')}`)), [
      'GET /api/collections/tickets/records',
      'POST /api/collections/tickets/records',
      'GET /api/collections/tickets/records/{id}',
      'PATCH /api/collections/tickets/records/{id}',
      'DELETE /api/collections/tickets/records/{id}',
    ]);
    const list = page.locator('[data-testid="api-operation"][data-method="GET"][data-path="/api/collections/tickets/records"]');
    const params = await list.locator('[data-testid="api-parameters"] td.schema-name').allInnerTexts();
    assert.deepEqual(params, ['page', 'perPage', 'sort', 'filter', 'skipTotal', 'expand', 'fields']);
    const create = page.locator('[data-testid="api-operation"][data-method="POST"][data-path="/api/collections/tickets/records"]');
    await create.getByText('"low" | "high" | "urgent"').first().waitFor();
    const requestRow = create.locator('[data-testid="api-request"]').first().locator('tr', { hasText: 'priority' });
    assert.match(String(await requestRow.textContent()), /priority\*/, 'required fields are marked');
    assert.match(String(await create.locator('[data-testid="api-request"]').first().locator('tr', { hasText: 'subject' }).textContent()), /max length 90/);

    // A response refers to the record schema; the relation's expand opens the users record on demand.
    const view = page.locator('[data-testid="api-operation"][data-method="GET"][data-path="/api/collections/tickets/records/{id}"]');
    await view.getByText('TicketsRecord').first().waitFor();
    const expandRow = view.locator('[data-testid="api-response"] > table > tbody > tr', { hasText: 'expand' });
    await expandRow.locator('summary').click();
    await expandRow.locator('summary', { hasText: 'fields of UsersRecord' }).click();
    await expandRow.getByRole('cell', { name: 'emailVisibility*' }).waitFor();
    await page.screenshot({ path: screenshotPath('40-api-reference'), fullPage: false });

    // The custom route under its own tag, with its declared body and answer.
    await page.getByRole('navigation', { name: 'API sections' }).getByRole('link', { name: /^Shop/ }).click();
    const checkout = page.locator('[data-testid="api-operation"][data-path="/api/shop/checkout"]');
    await checkout.getByText('Check out the cart').waitFor();
    await checkout.getByText('🔒 token').waitFor();
    await checkout.getByText('The product code.').waitFor();
    assert.match(String(await checkout.locator('[data-testid="api-request"] tr', { hasText: 'qty' }).textContent()), /integer\s*≥ 1/);
    await checkout.locator('[data-testid="api-response"]').getByText('orderId').waitFor();

    // Search across tags.
    await page.getByTestId('api-search').fill('auth-with-password');
    await page.locator('[data-testid="api-operation"][data-path="/api/collections/users/auth-with-password"]').waitFor();
    await page.locator('[data-testid="api-operation"][data-path="/api/collections/_superusers/auth-with-password"]').waitFor();
    assert.equal(await page.locator('[data-testid="api-operation"][data-path="/api/shop/checkout"]').count(), 0);
    assert.deepEqual(pageErrors, []);
  });

  it('works at 360 px wide (the sections behind a toggle, no horizontal scroll)', async () => {
    await page.setViewportSize({ width: 360, height: 740 });
    await page.goto(`${s.url}/_/#/api/tickets`);
    await page.locator('[data-testid="api-operation"][data-path="/api/collections/tickets/records"]').first().waitFor();
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 360, `no horizontal page scroll (width ${width})`);
    await page.getByRole('button', { name: 'tickets' }).click();
    await page
      .getByRole('navigation', { name: 'API sections' })
      .getByRole('link', { name: /^Health/ })
      .click();
    await page.locator('[data-testid="api-operation"][data-path="/api/health"]').waitFor();
    await page.screenshot({ path: screenshotPath('41-api-reference-mobile') });
    assert.deepEqual(pageErrors, []);
  });
});
