/**
 * The admin dashboard in a real browser (Debian's Chromium driven by playwright-core): first superuser
 * from the install link, login/logout/reload, a collection with several field types and a checked rule,
 * records added, edited, filtered, sorted, exported and deleted, a file upload, a setting changed, the
 * logs page, and the 360 px layout. Screenshots of the main screens go to test-artifacts/admin/.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import PocketBase from 'pocketbase';
import { launchBrowser, requireBrowser, screenshotPath, startBareServer, type BareServer } from './admin-browser.js';

const EMAIL = 'first@example.com';
const PASSWORD = 'first-superuser-pw';
// A 1×1 PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

requireBrowser();

// The bits of the DOM the in-page callbacks use (this project compiles without the DOM lib).
declare const document: {
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): Iterable<{ textContent: string | null }>;
  documentElement: { scrollWidth: number };
};

describe('admin dashboard in Chromium', { timeout: 180_000 }, () => {
  let s: BareServer;
  let browser: Browser;
  let page: Page;
  let api: PocketBase;
  const outside: string[] = [];
  const pageErrors: string[] = [];

  const shot = (name: string) => page.screenshot({ path: screenshotPath(name), fullPage: false });
  const dialog = () => page.getByRole('dialog');
  const editor = (testid: string) => page.locator(`[data-testid="${testid}"] .cm-content`);
  async function typeInEditor(testid: string, text: string) {
    const el = editor(testid);
    await el.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Backspace');
    await page.keyboard.type(text, { delay: 5 });
  }

  before(async () => {
    s = await startBareServer();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 820 }, acceptDownloads: true });
    page.setDefaultTimeout(15_000);
    page.on('request', (r) => {
      const u = r.url();
      if (!u.startsWith(s.url) && !u.startsWith('data:') && !u.startsWith('blob:')) outside.push(u);
    });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('dialog', (d) => void d.accept());
  });

  after(async () => {
    await browser?.close();
    await s?.close();
  });

  it('creates the first superuser from the install link and lands on the dashboard', async () => {
    const token = await s.installToken();
    await page.goto(`${s.url}/_/#/pbinstall/${token}`);
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Password confirm').fill(PASSWORD);
    await shot('01-install');
    await page.getByRole('button', { name: /Create superuser/ }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    await page.waitForURL(/#\/collections/);
    api = new PocketBase(s.url);
    await api.collection('_superusers').authWithPassword(EMAIL, PASSWORD);
    // A user to pick in relation fields.
    await api.collection('users').create({ email: 'ada@example.com', password: 'ada-password-1', passwordConfirm: 'ada-password-1', name: 'Ada' });
  });

  it('stays logged in across reloads, logs out, and logs in with the keyboard only', async () => {
    await page.reload();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    await page.reload();
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    await page.getByLabel('Email').focus();
    await page.keyboard.type(EMAIL);
    await page.keyboard.press('Tab');
    await page.keyboard.type('wrong-password');
    await page.keyboard.press('Enter');
    await page.getByRole('alert').waitFor();
    await shot('02-login');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
  });

  it('creates a collection with several field types, a checked rule and a migration preview', async () => {
    await page.getByTestId('new-collection').first().click();
    await dialog().waitFor();
    await dialog().locator('input[name="name"]').fill('posts');
    const addField = async (type: string, name: string) => {
      await page.getByTestId('add-field').click();
      await page.locator(`.type-grid [data-type="${type}"]`).click();
      const input = page.locator('.field-card .field-name:focus');
      await input.fill(name);
      return page.locator(`[data-field-row="${name}"]`);
    };
    await addField('text', 'title');
    await addField('number', 'views');
    await addField('bool', 'published');
    const status = await addField('select', 'status');
    await status.getByPlaceholder('draft, published').fill('draft, published');
    await status.getByPlaceholder('draft, published').press('Tab');
    await addField('json', 'meta');
    await addField('date', 'when');
    await addField('file', 'cover');
    const author = await addField('relation', 'author');
    await author.locator('select').first().selectOption({ label: 'users' });
    await shot('03-collection-fields');

    await page.getByRole('tab', { name: 'API rules' }).click();
    const listRule = page.locator('[data-rule="listRule"]');
    await listRule.getByLabel('Superusers only').uncheck();
    await typeInEditor('rule-listRule', 'nope = 1');
    await listRule.locator('.field-error').filter({ hasText: 'nope' }).waitFor();
    assert.equal((await listRule.locator('.cm-lintRange-error').count()) > 0, true, 'the error is marked in place');
    await typeInEditor('rule-listRule', 'publi');
    const completion = page.locator('.cm-tooltip-autocomplete');
    await completion.getByText('published', { exact: true }).waitFor();
    await shot('04-rule-autocomplete');
    await page.keyboard.press('Enter');
    await page.keyboard.type(' = true || @request.auth.id != ""', { delay: 5 });
    await page.waitForFunction(() => document.querySelector('[data-rule="listRule"] p.field-error')?.textContent === '');
    assert.equal(await editor('rule-listRule').textContent(), 'published = true || @request.auth.id != ""');
    for (const rule of ['viewRule', 'createRule', 'updateRule', 'deleteRule']) {
      await page.locator(`[data-rule="${rule}"]`).getByLabel('Superusers only').uncheck();
    }

    await page.getByRole('tab', { name: 'Migration' }).click();
    const preview = page.getByTestId('migration-preview');
    await preview.waitFor();
    const migration = (await preview.textContent()) ?? '';
    assert.match(migration, /saveCollection/);
    assert.match(migration, /"name": "posts"/);
    assert.match(migration, /published = true/);
    await shot('05-migration-preview');

    await dialog().getByRole('button', { name: 'Create', exact: true }).click();
    await page.waitForURL(/#\/collections\/posts$/);
    await page.getByRole('heading', { name: 'posts', exact: true }).waitFor();
    const saved = await api.collections.getOne('posts');
    assert.equal(saved.listRule, 'published = true || @request.auth.id != ""');
    assert.equal(saved.viewRule, '');
    assert.deepEqual(
      saved.fields.map((f: { name: string; type: string }) => `${f.name}:${f.type}`),
      [
        'id:text',
        'title:text',
        'views:number',
        'published:bool',
        'status:select',
        'meta:json',
        'when:date',
        'cover:file',
        'author:relation',
        'created:autodate',
        'updated:autodate',
      ],
    );
  });

  it('adds a record with every kind of input, including a file upload and a relation pick', async () => {
    await page.getByTestId('new-record').click();
    await dialog().waitFor();
    await page.locator('#f-title').fill('First post');
    await page.locator('#f-views').fill('42');
    await page.locator('#f-published').check();
    await page.locator('#f-status').selectOption('published');
    await typeInEditor('json-meta', '{"a": 1');
    await page.locator('#f-when').fill('2024-05-06T07:08:09');
    await page.locator('#f-cover').setInputFiles({ name: 'pixel.png', mimeType: 'image/png', buffer: PNG });
    await dialog().locator('.file-row.new img').waitFor();
    await page.locator('#f-author').click();
    await dialog().getByRole('button', { name: /Ada/ }).click();
    await dialog().locator('.chip', { hasText: 'Ada' }).waitFor();
    await shot('06-record-form');
    await dialog().getByRole('button', { name: 'Create', exact: true }).click();
    await dialog().waitFor({ state: 'detached' });
    await page.locator('table.records tbody tr', { hasText: 'First post' }).waitFor();

    const [rec] = (await api.collection('posts').getFullList()) as Array<Record<string, unknown>>;
    assert.ok(rec);
    assert.equal(rec.title, 'First post');
    assert.equal(rec.views, 42);
    assert.equal(rec.published, true);
    assert.equal(rec.status, 'published');
    assert.deepEqual(rec.meta, { a: 1 });
    assert.equal(rec.when, '2024-05-06 07:08:09.000Z');
    assert.match(String(rec.cover), /^pixel_\w+\.png$/, 'the file was uploaded');
    const ada = await api.collection('users').getFirstListItem('email = "ada@example.com"');
    assert.equal(rec.author, ada.id);
    // The uploaded image is served and previewed in the table.
    await page.locator('table.records img[alt^="pixel_"]').waitFor();
    await shot('07-records');
  });

  it('edits a record', async () => {
    const rec = (await api.collection('posts').getFullList())[0]!;
    await page.getByRole('button', { name: `Open record ${rec.id}` }).click();
    await dialog().waitFor();
    assert.equal(await page.locator('#f-title').inputValue(), 'First post');
    assert.equal(await page.locator('#f-when').inputValue(), '2024-05-06T07:08:09');
    await page.locator('#f-title').fill('First post (edited)');
    await dialog().getByRole('button', { name: 'Save changes' }).click();
    await dialog().waitFor({ state: 'detached' });
    await page.locator('table.records tbody tr', { hasText: 'First post (edited)' }).waitFor();
    assert.equal((await api.collection('posts').getOne(rec.id)).title, 'First post (edited)');
  });

  it('filters (checked as you type), sorts, exports CSV and bulk-deletes', async () => {
    await page.getByTestId('new-record').click();
    await page.locator('#f-title').fill('Second');
    await page.locator('#f-views').fill('7');
    await dialog().getByRole('button', { name: 'Create', exact: true }).click();
    await dialog().waitFor({ state: 'detached' });
    await page.getByTestId('records-total').filter({ hasText: '2 records' }).waitFor();

    await typeInEditor('records-filter', 'bogus = 1');
    await page.locator('.toolbar .field-error').filter({ hasText: 'bogus' }).waitFor();
    await typeInEditor('records-filter', 'title ~ "Second"');
    await page.waitForFunction(() => document.querySelector('.toolbar p.field-error')?.textContent === '');
    await page.keyboard.press('Enter');
    await page.getByTestId('records-total').filter({ hasText: '1 record' }).waitFor();
    await shot('08-records-filtered');
    await typeInEditor('records-filter', '');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByTestId('records-total').filter({ hasText: '2 records' }).waitFor();

    await page.getByRole('button', { name: 'views', exact: true }).click();
    await page.locator('th[aria-sort="ascending"]', { hasText: 'views' }).waitFor();
    await page.locator('table.records tbody tr').first().filter({ hasText: 'Second' }).waitFor();
    await page.getByRole('button', { name: 'views', exact: true }).click();
    await page.locator('table.records tbody tr').first().filter({ hasText: 'First post (edited)' }).waitFor();

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    const csv = readFileSync((await download.path())!, 'utf8');
    assert.match(csv.split('\r\n')[0]!, /^id,title,views,published/);
    assert.match(csv, /First post \(edited\)/);
    assert.match(csv, /Second/);

    const second = await api.collection('posts').getFirstListItem('title = "Second"');
    await page.getByLabel(`Select record ${second.id}`).check();
    await page.getByTestId('delete-selected').click();
    await page.getByTestId('records-total').filter({ hasText: '1 record' }).waitFor();
    assert.equal((await api.collection('posts').getFullList()).length, 1);
  });

  it('picks columns', async () => {
    const header = page.locator('table.records th', { hasText: 'meta' });
    assert.equal(await header.count(), 1);
    await page.getByRole('button', { name: 'Columns' }).click();
    await page.getByRole('group', { name: 'Visible columns' }).getByLabel('meta').uncheck();
    await page.getByRole('button', { name: 'Done' }).click();
    await header.waitFor({ state: 'detached' });
    await page.reload();
    await page.locator('table.records th', { hasText: 'title' }).waitFor();
    assert.equal(await header.count(), 0, 'the choice is remembered');
  });

  it('impersonates a user and edits auth options', async () => {
    await page.getByRole('link', { name: 'users' }).click();
    await page.getByRole('heading', { name: 'users', exact: true }).waitFor();
    const ada = await api.collection('users').getFirstListItem('email = "ada@example.com"');
    await page.getByRole('button', { name: `Open record ${ada.id}` }).click();
    await dialog().getByRole('button', { name: 'Impersonate' }).click();
    const token = await dialog().locator('textarea[readonly]').inputValue();
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'a JWT is shown');
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { id: string; refreshable: boolean };
    assert.equal(claims.id, ada.id);
    assert.equal(claims.refreshable, false);
    await shot('09-user-impersonate');
    await page.keyboard.press('Escape');
    await dialog().waitFor({ state: 'detached' });

    await page.getByRole('button', { name: 'Edit collection users' }).click();
    await page.getByRole('tab', { name: 'Auth options' }).click();
    await dialog().getByText('Token lifetimes').click();
    await dialog().getByLabel('authToken (s)').fill('1209600');
    await shot('10-auth-options');
    await dialog().getByRole('button', { name: 'Save changes' }).click();
    await dialog().waitFor({ state: 'detached' });
    assert.equal(((await api.collections.getOne('users')) as unknown as { authToken: { duration: number } }).authToken.duration, 1209600);
    await page.getByRole('link', { name: 'posts' }).click();
  });

  it('changes a setting', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
    await page.locator('input[name="appName"]').fill('Acme Backend');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Settings saved.').waitFor();
    await shot('11-settings');
    assert.equal((await api.settings.getAll()).meta.appName, 'Acme Backend');
    await page.goto(`${s.url}/_/#/settings/batch`);
    await page.locator('input[name="batchEnabled"]').check();
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Settings saved.').first().waitFor();
    assert.equal((await api.settings.getAll()).batch.enabled, true);
  });

  it('shows request logs with a chart', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Logs' }).click();
    await page.locator('table.logs tbody tr', { hasText: '/api/collections/posts/records' }).first().waitFor();
    await page.locator('.chart svg rect.bar').first().waitFor();
    await typeInEditor('logs-filter', 'data.method = "PATCH"');
    await Promise.all([
      page.waitForResponse((r) => r.url().includes('/api/logs?') && decodeURIComponent(r.url()).includes('PATCH')),
      page.keyboard.press('Enter'),
    ]);
    await page.locator('table.logs tbody tr', { hasText: 'PATCH /api/collections/posts/records' }).first().waitFor();
    await page.waitForFunction(() => ![...document.querySelectorAll('table.logs tbody tr')].some((tr) => tr.textContent?.includes('GET ')));
    await shot('12-logs');
  });

  it('works at 360 px wide', async () => {
    await page.setViewportSize({ width: 360, height: 740 });
    await page.goto(`${s.url}/_/#/collections/posts`);
    await page.getByRole('heading', { name: 'posts', exact: true }).waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(overflow <= 360, `no horizontal page scroll (width ${overflow})`);
    await shot('13-mobile-records');
    await page.getByRole('button', { name: 'posts', exact: true }).click();
    await page.getByRole('link', { name: 'users' }).waitFor();
    await shot('14-mobile-collections');
    await page.getByRole('link', { name: 'users' }).click();
    await page.getByRole('heading', { name: 'users', exact: true }).waitFor();
    await page.getByTestId('new-record').click();
    await dialog().waitFor();
    await shot('15-mobile-record-form');
    await page.keyboard.press('Escape');
    await dialog().waitFor({ state: 'detached' });
  });

  it('deletes a collection', async () => {
    await page.setViewportSize({ width: 1280, height: 820 });
    await page.goto(`${s.url}/_/#/collections/posts`);
    await page.getByRole('button', { name: 'Edit collection posts' }).click();
    await dialog().getByRole('button', { name: 'Delete', exact: true }).click();
    await page.waitForURL(/#\/collections(\/users)?$/);
    await assert.rejects(api.collections.getOne('posts'), (e: { status: number }) => e.status === 404);
  });

  it('made no request to any outside host and threw no page errors', () => {
    assert.deepEqual(outside, []);
    assert.deepEqual(pageErrors, []);
  });
});
