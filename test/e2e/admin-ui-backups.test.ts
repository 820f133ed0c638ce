/**
 * The dashboard's Backups page in headless Chromium: reached from the navigation, creates a named backup
 * (a bad name shows the field error), uploads a zip, downloads one through a file token, deletes one after
 * the confirm, a restore on a server that cannot restart itself shows the server's refusal; the schedule is
 * set in Settings › Backups.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { Browser, Page } from 'playwright-core';
import { addSuperuser, SUPERUSER_EMAIL, SUPERUSER_PASSWORD } from '../helpers/server.js';
import { launchBrowser, requireBrowser, screenshotPath, startBareServer, type BareServer } from './admin-browser.js';

describe('dashboard: backups page', () => {
  requireBrowser();
  let s: BareServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    s = await startBareServer();
    await addSuperuser(s.app);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 820 }, acceptDownloads: true });
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('dialog', (d) => void d.accept());
  });
  after(async () => {
    await browser?.close();
    await s?.close();
  });

  it('lists, creates, uploads, downloads, deletes and restores', async () => {
    await page.goto(`${s.url}/_/`);
    await page.getByLabel('Email').fill(SUPERUSER_EMAIL);
    await page.getByLabel('Password').fill(SUPERUSER_PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Backups' }).click();
    await page.getByRole('heading', { name: 'Backups' }).waitFor();
    await page.getByText('No backups yet.').waitFor();

    await page.getByLabel('Backup name').fill('Bad Name');
    await page.getByRole('button', { name: 'Create backup' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: /valid format/ })
      .waitFor();
    await page.getByLabel('Backup name').fill('from_the_ui.zip');
    await page.getByRole('button', { name: 'Create backup' }).click();
    await page.getByRole('cell', { name: 'from_the_ui.zip', exact: true }).waitFor();

    // Upload: a copy of the backup under another name.
    const copy = join(tmpdir(), `uploaded_copy_${Date.now()}.zip`);
    writeFileSync(copy, readFileSync(join(s.app.config.dataDir, 'backups', 'from_the_ui.zip')));
    await page.getByTestId('backup-upload').setInputFiles(copy);
    const uploadedName = copy.split('/').pop() as string;
    await page.getByRole('cell', { name: uploadedName, exact: true }).waitFor();
    await page.screenshot({ path: screenshotPath('backups-01-list') });

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download from_the_ui.zip' }).click()]);
    assert.equal(download.suggestedFilename(), 'from_the_ui.zip');
    const saved = join(tmpdir(), `dl_${Date.now()}.zip`);
    await download.saveAs(saved);
    assert.deepEqual(readFileSync(saved), readFileSync(join(s.app.config.dataDir, 'backups', 'from_the_ui.zip')));

    await page.getByRole('button', { name: `Delete ${uploadedName}` }).click();
    await page.getByRole('cell', { name: uploadedName, exact: true }).waitFor({ state: 'detached' });

    // This test server has no restart handler: the refusal reaches the user, the data stays.
    await page.getByRole('button', { name: 'Restore from_the_ui.zip' }).click();
    await page
      .getByText(/cannot restart itself|not supported on PostgreSQL/)
      .first()
      .waitFor();
    assert.deepEqual(
      (await s.app.backups.list()).map((b) => b.key),
      ['from_the_ui.zip'],
    );

    // Settings › Backups: the schedule (a bad expression shows the field error) and the number kept.
    await page.getByRole('link', { name: 'Settings › Backups' }).click();
    await page.locator('input[name="backupsCron"]').fill('every day');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page
      .getByText(/backups\.cron/)
      .first()
      .waitFor();
    await page.locator('input[name="backupsCron"]').fill('0 4 * * *');
    await page.locator('input[name="backupsCronMaxKeep"]').fill('5');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Settings saved.').first().waitFor();
    assert.equal(s.app.settings.get().backups.cron, '0 4 * * *');
    assert.equal(s.app.settings.get().backups.cronMaxKeep, 5);
    assert.ok(s.app.cron.list().some((j) => j.id === '__pbAutoBackup__' && j.expression === '0 4 * * *'));
    assert.deepEqual(pageErrors, []);
  });
});
