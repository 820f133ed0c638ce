/**
 * The dashboard's Jobs page in Chromium: counts per status, a failed job's error in its details, retry
 * (the job then runs and is done) and discard (the job is gone).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { sql } from '../../src/db/sql.js';
import { launchBrowser, requireBrowser, screenshotPath } from './admin-browser.js';
import { startServer, SUPERUSER_EMAIL, SUPERUSER_PASSWORD, type TestServer } from '../helpers/server.js';

requireBrowser();

describe('dashboard Jobs page in Chromium', { timeout: 120_000 }, () => {
  let s: TestServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  let failing = true;
  let failedId = '';
  let waitingId = '';

  const status = async (id: string) => (await s.app.db.get<{ status: string }>(sql`SELECT status FROM "_jobs" WHERE id = ${id}`))?.status;

  before(async () => {
    s = await startServer({ jobs: { pollMs: 50 } });
    s.app.jobs.define(
      'send-invoice',
      () => {
        if (failing) throw new Error('payment provider said 502');
      },
      { retries: 0 },
    );
    failedId = (await s.app.jobs.enqueue('send-invoice', { invoice: 'INV-7' })).id;
    waitingId = (await s.app.jobs.enqueue('not-defined-anywhere', { x: 1 })).id;
    for (let i = 0; i < 100 && (await status(failedId)) !== 'failed'; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await status(failedId), 'failed');
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('dialog', (d) => void d.accept());
  });

  after(async () => {
    await browser?.close();
    await s?.close();
  });

  it('lists failed and queued jobs, retries one and discards another', async () => {
    await page.goto(`${s.url}/_/`);
    await page.getByLabel('Email').fill(SUPERUSER_EMAIL);
    await page.getByLabel('Password').fill(SUPERUSER_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Jobs' }).click();
    await page.locator('tr[data-testid="job-row"]', { hasText: 'send-invoice' }).waitFor();
    await page.getByText('not-defined-anywhere').first().waitFor();
    await page.getByText(/Queued jobs no handler on this node runs: not-defined-anywhere/).waitFor();

    await page.locator('[data-testid="jobs-tab-failed"]').click();
    await page.locator('tr[data-testid="job-row"]', { hasText: 'not-defined-anywhere' }).waitFor({ state: 'detached' });
    const failedRow = page.locator('tr[data-testid="job-row"]', { hasText: 'send-invoice' });
    await failedRow.getByText('payment provider said 502').waitFor();
    assert.equal(await page.locator('tr[data-testid="job-row"]').count(), 1, 'only the failed job');
    await failedRow.getByRole('button', { name: `Details of job ${failedId}` }).click();
    await page.getByRole('dialog').getByText('INV-7').waitFor();
    await page.screenshot({ path: screenshotPath('20-jobs') });

    failing = false;
    await page.getByRole('dialog').getByRole('button', { name: 'Retry' }).click();
    await page.getByText(`Job ${failedId} queued again.`).first().waitFor();
    for (let i = 0; i < 100 && (await status(failedId)) !== 'done'; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await status(failedId), 'done');

    await page.locator('[data-testid="jobs-tab-queued"]').click();
    await page.getByRole('button', { name: `Discard job ${waitingId}` }).click();
    await page.getByText(`Job ${waitingId} discarded.`).first().waitFor();
    assert.equal(await status(waitingId), undefined);
    assert.deepEqual(pageErrors, []);
  });
});
