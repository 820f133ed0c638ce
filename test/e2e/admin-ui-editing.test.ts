/**
 * The dashboard's first hour, in Chromium (issue 11): the first-run page without the install link, the
 * mail-not-configured notice, "discard unsaved changes?" on Esc / overlay clicks (and Esc that only closes
 * an autocomplete popup), relation cells by presentable field, the rich-text editor with sanitised HTML
 * (pasted and stored scripts, event handlers and javascript: links stripped), the SQL view-query editor
 * with its dry-run preview, Settings → Migrations, and the untrusted proxy header warning.
 * Screenshots go to test-artifacts/admin/2x-*.png.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import PocketBase from 'pocketbase';
import { launchBrowser, requireBrowser, screenshotPath, startBareServer, type BareServer } from './admin-browser.js';

const EMAIL = 'owner@example.com';
const PASSWORD = 'owner-superuser-pw';

requireBrowser();

// The bits of the DOM the in-page callbacks use (this project compiles without the DOM lib).
declare const document: {
  querySelector(selector: string): ({ textContent: string | null; innerHTML: string } & EventTargetLike) | null;
};
interface EventTargetLike {
  dispatchEvent(e: unknown): boolean;
}
declare const window: Record<string, unknown>;
declare const DataTransfer: new () => { setData(type: string, data: string): void };
declare const ClipboardEvent: new (type: string, init: Record<string, unknown>) => unknown;

describe('dashboard first-hour fixes in Chromium', { timeout: 240_000 }, () => {
  let s: BareServer;
  let browser: Browser;
  let page: Page;
  let api: PocketBase;
  const pageErrors: string[] = [];
  const richTextChunks: string[] = [];

  const shot = (name: string) => page.screenshot({ path: screenshotPath(name), fullPage: false });
  const dialog = () => page.getByRole('dialog');
  const confirmBox = () => page.getByRole('alertdialog');
  const editor = (testid: string) => page.locator(`[data-testid="${testid}"] .cm-content`);
  async function typeInEditor(testid: string, text: string) {
    // focus, not click: an open autocomplete popup may cover the text
    await editor(testid).focus();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Backspace');
    await page.keyboard.type(text, { delay: 5 });
  }
  /** Opens a dashboard URL as a fresh page load (the collections list is read once per load). */
  async function open(hash: string) {
    await page.goto(`${s.url}/_/#${hash}`);
    await page.reload();
  }
  /** A click on the dimmed overlay beside the drawer. */
  const clickOverlay = () => page.mouse.click(60, 400);

  before(async () => {
    s = await startBareServer();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (e) => {
      pageErrors.push(e.message);
      if (process.env.DEBUG_PAGE_ERRORS) console.error(e.stack);
    });
    page.on('request', (r) => {
      if (/\/assets\/rich-text-[\w-]+\.js$/.test(r.url())) richTextChunks.push(r.url());
    });
    page.on('dialog', (d) => void d.accept());
  });

  after(async () => {
    await browser?.close();
    await s?.close();
  });

  it('first run without the install link: says where the link is and how to create a superuser from the CLI', async () => {
    await page.goto(`${s.url}/_/`);
    const help = page.getByTestId('first-run-help');
    await help.waitFor();
    const text = (await help.textContent()) ?? '';
    assert.match(text, /printed in the server's\s+console when it started/);
    assert.match(text, /npx plinth superuser upsert EMAIL PASSWORD/);
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    await shot('20-first-run-help');

    // A stale or mistyped install link says the same.
    await page.goto(`${s.url}/_/#/pbinstall/not-the-token`);
    await page.getByRole('alert').waitFor();
    await page.getByTestId('first-run-help').waitFor();

    // Once a superuser exists (here: through the install endpoint), the hint is gone.
    const token = await s.installToken();
    const res = await fetch(`${s.url}/api/install`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, email: EMAIL, password: PASSWORD, passwordConfirm: PASSWORD }),
    });
    assert.equal(res.status, 204);
    await page.goto('about:blank');
    const status = page.waitForResponse((r) => r.url().endsWith('/api/install') && r.request().method() === 'GET');
    await page.goto(`${s.url}/_/#/login`);
    assert.deepEqual(await (await status).json(), { needed: false });
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    await page.waitForTimeout(100);
    assert.equal(await page.getByTestId('first-run-help').count(), 0);

    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    api = new PocketBase(s.url);
    await api.collection('_superusers').authWithPassword(EMAIL, PASSWORD);
  });

  it('says once that mail is not configured, and Settings → Mail keeps a note', async () => {
    const notice = page.getByTestId('mail-notice');
    await notice.waitFor();
    assert.match((await notice.textContent()) ?? '', /Mail is not configured/);
    await shot('21-mail-notice');
    // It stays on the next page (one notice, not one per page) until dismissed…
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Logs' }).click();
    await notice.waitFor();
    await page.getByRole('button', { name: 'Dismiss the mail notice' }).click();
    await notice.waitFor({ state: 'detached' });
    // …and is not shown again in this browser session.
    await page.reload();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    await page.locator('table.logs').waitFor();
    assert.equal(await notice.count(), 0);

    await page.goto(`${s.url}/_/#/settings/smtp`);
    const note = page.getByTestId('smtp-off-note');
    await note.waitFor();
    assert.match((await note.textContent()) ?? '', /Mail is not configured/);
    await page.locator('.settings-nav a[href="#/settings/smtp"] .attention').waitFor();
    await shot('22-settings-mail-note');
    // Enabled and saved: the note goes.
    await page.getByLabel('Send mail through this SMTP server').check();
    await page.getByLabel('Host').fill('smtp.example.com');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Settings saved.').first().waitFor();
    assert.equal((await api.settings.getAll()).smtp.enabled, true);
    await page.reload();
    await page.locator('form[data-section="smtp"]').waitFor();
    assert.equal(await note.count(), 0);
    await api.settings.update({ smtp: { enabled: false } });
  });

  it('asks before Esc or an overlay click throws away an unsaved collection; Esc on an autocomplete only closes it', async () => {
    await page.goto(`${s.url}/_/#/collections`);
    // Nothing typed: Esc closes at once.
    await page.getByTestId('new-collection').first().click();
    await dialog().waitFor();
    await page.keyboard.press('Escape');
    await dialog().waitFor({ state: 'detached' });

    await page.getByTestId('new-collection').first().click();
    await dialog().waitFor();
    await dialog().locator('input[name="name"]').fill('drafts');
    for (const name of ['title', 'summary']) {
      await page.getByTestId('add-field').click();
      await page.locator('.type-grid [data-type="text"]').click();
      await page.locator('.field-card .field-name:focus').fill(name);
    }
    // Esc on the open field-type menu closes the menu only.
    await page.getByTestId('add-field').click();
    await page.locator('.type-grid').waitFor();
    await page.getByTestId('add-field').focus();
    await page.keyboard.press('Escape');
    await page.locator('.type-grid').waitFor({ state: 'detached' });
    assert.equal(await confirmBox().count(), 0);
    assert.equal(await dialog().count(), 1);

    // Esc on the rule editor's autocomplete popup closes the popup only.
    await page.getByRole('tab', { name: 'API rules' }).click();
    await page.locator('[data-rule="listRule"]').getByLabel('Superusers only').uncheck();
    await typeInEditor('rule-listRule', 'summ');
    const completion = page.locator('.cm-tooltip-autocomplete');
    await completion.getByText('summary', { exact: true }).waitFor();
    await page.keyboard.press('Escape');
    await completion.waitFor({ state: 'detached' });
    assert.equal(await confirmBox().count(), 0, 'no discard question for the popup’s Esc');
    assert.equal(await dialog().count(), 1, 'the panel is still open');

    // A second Esc is for the panel: it asks.
    await page.keyboard.press('Escape');
    await confirmBox().waitFor();
    assert.match((await confirmBox().textContent()) ?? '', /You have unsaved changes\. Discard them\?/);
    await shot('23-discard-question');
    await confirmBox().getByRole('button', { name: 'Keep editing' }).click();
    await confirmBox().waitFor({ state: 'detached' });
    await page.getByRole('tab', { name: 'Fields' }).click();
    await page.locator('[data-field-row="summary"]').waitFor();
    // Esc while asking = keep editing.
    await clickOverlay();
    await confirmBox().waitFor();
    await page.keyboard.press('Escape');
    await confirmBox().waitFor({ state: 'detached' });
    assert.equal(await dialog().count(), 1);
    // Cancel asks too; Discard closes and nothing was created.
    await dialog().getByRole('button', { name: 'Cancel' }).click();
    await confirmBox().getByRole('button', { name: 'Discard' }).click();
    await dialog().waitFor({ state: 'detached' });
    await assert.rejects(api.collections.getOne('drafts'), (e: { status: number }) => e.status === 404);
  });

  it('asks before throwing away an unsaved record, not when nothing changed', async () => {
    await api.collections.create({ name: 'notes', type: 'base', fields: [{ name: 'title', type: 'text' }], listRule: '', viewRule: '' });
    const rec = await api.collection('notes').create({ title: 'Keep me' });
    await open('/collections/notes');
    await page.getByRole('button', { name: `Open record ${rec.id}` }).click();
    await dialog().waitFor();
    await clickOverlay();
    await dialog().waitFor({ state: 'detached' });

    await page.getByRole('button', { name: `Open record ${rec.id}` }).click();
    await page.locator('#f-title').fill('Changed');
    await page.keyboard.press('Escape');
    await confirmBox().waitFor();
    await confirmBox().getByRole('button', { name: 'Keep editing' }).click();
    assert.equal(await page.locator('#f-title').inputValue(), 'Changed', 'the edit is still there');
    await clickOverlay();
    await confirmBox().getByRole('button', { name: 'Discard' }).click();
    await dialog().waitFor({ state: 'detached' });
    assert.equal((await api.collection('notes').getOne(rec.id)).title, 'Keep me');
  });

  it('shows relation cells by the related record’s presentable field, with a name-like fallback', async () => {
    const authors = await api.collections.create({
      name: 'authors',
      type: 'base',
      fields: [
        { name: 'code', type: 'text' },
        { name: 'fullName', type: 'text', presentable: true },
      ],
    });
    const tags = await api.collections.create({ name: 'tags', type: 'base', fields: [{ name: 'title', type: 'text' }] });
    await api.collections.create({
      name: 'books',
      type: 'base',
      fields: [
        { name: 'name', type: 'text' },
        { name: 'author', type: 'relation', collectionId: authors.id, maxSelect: 1 },
        { name: 'tags', type: 'relation', collectionId: tags.id, maxSelect: 5 },
      ],
    });
    const ada = await api.collection('authors').create({ code: 'A1', fullName: 'Ada Lovelace' });
    const red = await api.collection('tags').create({ title: 'red' });
    const blue = await api.collection('tags').create({ title: 'blue' });
    await api.collection('books').create({ name: 'Notes on the Engine', author: ada.id, tags: [red.id, blue.id] });

    await open('/collections/books');
    const row = page.locator('table.records tbody tr', { hasText: 'Notes on the Engine' });
    await row.waitFor();
    const author = row.locator('td.type-relation').nth(0);
    const tagCell = row.locator('td.type-relation').nth(1);
    await author.locator('.rel-chip', { hasText: 'Ada Lovelace' }).waitFor();
    await tagCell.locator('.rel-chip', { hasText: 'red' }).waitFor();
    await tagCell.locator('.rel-chip', { hasText: 'blue' }).waitFor();
    const cells = `${await author.textContent()} ${await tagCell.textContent()}`;
    for (const id of [ada.id, red.id, blue.id]) assert.doesNotMatch(cells, new RegExp(id), 'no raw ids in the cells');
    await shot('24-relation-cells');

    // Opening a collection's settings and leaving without a change never asks (every tab visited).
    for (const name of ['books', 'users']) {
      await open(`/collections/${name}`);
      await page.getByRole('button', { name: `Edit collection ${name}` }).click();
      await dialog().waitFor();
      for (const tab of await dialog().getByRole('tab').all()) await tab.click();
      await page.getByRole('tab', { name: 'Fields' }).click();
      await clickOverlay();
      await dialog().waitFor({ state: 'detached' });
    }
  });

  it('edits an editor field with a rich-text editor (loaded on first use) whose HTML is sanitised', async () => {
    await api.collections.create({
      name: 'articles',
      type: 'base',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'body', type: 'editor' },
      ],
    });
    const stored = await api.collection('articles').create({
      title: 'Stored',
      body: '<p>Hello <img src="x" onerror="window.__xss=1"><script>window.__xss=2</script><a href="javascript:window.__xss=3">bad</a> <b onclick="window.__xss=4">bold</b></p>',
    });
    await open('/collections/articles');
    await page.getByTestId('new-record').waitFor();
    assert.deepEqual(richTextChunks, [], 'the editor is not loaded before an editor field is shown');

    // A stored value with scripts, handlers and javascript: links opens cleaned.
    await page.getByRole('button', { name: `Open record ${stored.id}` }).click();
    const content = dialog().locator('.rich-content');
    await content.waitFor();
    assert.equal(richTextChunks.length, 1, 'the editor chunk loads when first needed');
    const html = await content.innerHTML();
    assert.doesNotMatch(html, /<img|<script|onerror|onclick|javascript:/i);
    assert.match(html, /<strong>bold<\/strong>/);
    assert.equal(await page.evaluate(() => window.__xss ?? null), null, 'nothing ran');
    await page.keyboard.press('Escape');
    await dialog().waitFor({ state: 'detached' });

    // A new record typed with the toolbar, plus a paste of hostile HTML.
    await page.getByTestId('new-record').click();
    await page.locator('#f-title').fill('Typed');
    await content.click();
    const toolbar = dialog().getByRole('toolbar', { name: 'Formatting for body' });
    await toolbar.getByRole('button', { name: 'Heading', exact: true }).click();
    await page.keyboard.type('A heading');
    await page.keyboard.press('Enter');
    await page.keyboard.type('Some ');
    await toolbar.getByRole('button', { name: 'Bold', exact: true }).click();
    await page.keyboard.type('bold');
    await toolbar.getByRole('button', { name: 'Bold', exact: true }).click();
    await page.keyboard.type(' and ');
    await toolbar.getByRole('button', { name: 'Italic', exact: true }).click();
    await page.keyboard.type('italic');
    await toolbar.getByRole('button', { name: 'Italic', exact: true }).click();
    await page.keyboard.type(' text, ');
    await toolbar.getByRole('button', { name: 'Inline code', exact: true }).click();
    await page.keyboard.type('x = 1');
    await toolbar.getByRole('button', { name: 'Inline code', exact: true }).click();
    await page.keyboard.press('Enter');
    await toolbar.getByRole('button', { name: 'Bullet list', exact: true }).click();
    await page.keyboard.type('one');
    await page.keyboard.press('Enter');
    await page.keyboard.type('two');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Enter');
    await toolbar.getByRole('button', { name: 'Quote', exact: true }).click();
    await page.keyboard.type('quoted');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Enter');
    // A link: a javascript: address is refused, Esc closes only the link box, https is accepted.
    await toolbar.getByRole('button', { name: 'Link', exact: true }).click();
    const linkInput = dialog().getByLabel('Link address');
    await linkInput.fill('javascript:alert(1)');
    await linkInput.press('Enter');
    await dialog().getByText('Links may point to http(s), mailto: or tel: addresses only.').waitFor();
    await linkInput.press('Escape');
    await linkInput.waitFor({ state: 'detached' });
    assert.equal(await confirmBox().count(), 0);
    assert.equal(await dialog().count(), 1);
    await toolbar.getByRole('button', { name: 'Link', exact: true }).click();
    await linkInput.fill('https://example.com/docs');
    await linkInput.press('Enter');
    await page.keyboard.press('End');
    await page.keyboard.press('Enter');
    // Paste hostile HTML, as a browser does (a paste event with text/html).
    await page.evaluate(() => {
      const target = document.querySelector('[role="dialog"] .rich-content');
      const data = new DataTransfer();
      data.setData(
        'text/html',
        '<p>pasted <img src="x" onerror="window.__xss=5"><script>window.__xss=6</script><a href="javascript:window.__xss=7">js link</a> <a href="https://ok.example/">ok link</a> <span style="color:red" onmouseover="window.__xss=8">styled</span></p><iframe src="https://evil.example/"></iframe>',
      );
      data.setData('text/plain', 'pasted');
      target!.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    });
    await content.getByText('styled').waitFor();
    await shot('25-rich-editor');
    await dialog().getByRole('button', { name: 'Create', exact: true }).click();
    await dialog().waitFor({ state: 'detached' });

    const saved = await api.collection('articles').getFirstListItem('title = "Typed"');
    const body = String(saved.body);
    assert.match(body, /<h2>A heading<\/h2>/);
    assert.match(body, /<strong>bold<\/strong>/);
    assert.match(body, /<em>italic<\/em>/);
    assert.match(body, /<code>x = 1<\/code>/);
    assert.match(body, /<ul><li><p>one<\/p><\/li><li><p>two<\/p><\/li><\/ul>/);
    assert.match(body, /<blockquote><p>quoted<\/p><\/blockquote>/);
    assert.match(body, /<a [^>]*href="https:\/\/example\.com\/docs"/);
    assert.match(body, /<a [^>]*href="https:\/\/ok\.example\/"[^>]*>ok link<\/a>/);
    assert.match(body, /pasted/);
    assert.doesNotMatch(body, /<script|<img|<iframe|onerror|onmouseover|onclick|javascript:|style=/i);
    assert.doesNotMatch(body, /<a [^>]*>js link/, 'the javascript: link lost its link');
    assert.equal(await page.evaluate(() => window.__xss ?? null), null, 'nothing ran');
    await page.locator('table.records tbody tr', { hasText: 'Typed' }).waitFor();

    // Leaving the page with an editor open (the browser's back button, a link) tears it down cleanly.
    await page.getByRole('button', { name: `Open record ${saved.id}` }).click();
    await content.click();
    await page.keyboard.type(' more');
    await page.goto(`${s.url}/_/#/settings/application`);
    await page.locator('form[data-section="application"]').waitFor();
    assert.deepEqual(pageErrors, [], 'no error while the editor was torn down');
  });

  it('edits a view query in the SQL code editor with a dry-run preview of its fields', async () => {
    await open('/collections/books');
    await page.getByTestId('new-collection').first().click();
    await dialog().waitFor();
    await dialog().locator('input[name="name"]').fill('book_names');
    await dialog().locator('select').first().selectOption('view');
    await page.getByRole('tab', { name: 'Query' }).click();
    const query = editor('view-query');
    await query.waitFor();
    await typeInEditor('view-query', 'SELECT id, name AS label, author FROM books');
    const preview = page.getByTestId('view-preview');
    await preview.locator('li', { hasText: 'label' }).waitFor();
    const fields = (await preview.locator('li').allTextContents()).map((t) => t.replace(/\s+/g, ' ').trim());
    assert.deepEqual(fields, ['id text', 'label text', 'author relation']);
    // SQL highlighting: keywords are their own styled tokens.
    const select = query.locator('span', { hasText: /^SELECT$/ });
    assert.equal(await select.count(), 1, 'SELECT is a highlighted token');
    await shot('26-view-query');

    await typeInEditor('view-query', 'SELECT id, nope FROM books');
    const err = page.locator('[data-testid="view-query"] + p.field-error');
    await err.filter({ hasText: /nope/ }).waitFor();
    assert.equal(await preview.locator('li').count(), 0);
    await page.locator('[data-testid="view-query"] .cm-lintRange-error').first().waitFor();
    await shot('27-view-query-error');

    await typeInEditor('view-query', 'SELECT id, name FROM books');
    await preview.locator('li', { hasText: 'name' }).waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="view-query"] + p.field-error')?.textContent === '');
    await dialog().getByRole('button', { name: 'Create', exact: true }).click();
    await dialog().waitFor({ state: 'detached' });
    const view = await api.collections.getOne('book_names');
    assert.equal(view.viewQuery, 'SELECT id, name FROM books');
  });

  it('lists applied and pending migrations in Settings → Migrations, and says so when the server cannot', async () => {
    // The endpoint's contract (GET /api/plinth/migrations), answered here by the browser itself.
    await page.route('**/api/plinth/migrations', (route) =>
      route.fulfill({
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({
          dir: '/srv/app/plinth_migrations',
          applied: [
            { file: '1717000000_created_posts.js', applied: '2024-06-01 10:00:00.000Z' },
            { file: '1718000000_updated_posts.js', applied: '2024-06-10 12:30:00.000Z' },
          ],
          pending: ['1719000000_created_tags.js'],
        }),
      }),
    );
    await page.goto(`${s.url}/_/#/settings/migrations`);
    await page.getByTestId('migrations-dir').filter({ hasText: '/srv/app/plinth_migrations' }).waitFor();
    const rows = await page.getByTestId('migrations-applied').locator('tbody tr').allTextContents();
    assert.equal(rows.length, 2);
    assert.match(rows[0]!, /1718000000_updated_posts\.js/, 'newest first');
    assert.match((await page.getByTestId('migrations-pending').textContent()) ?? '', /1719000000_created_tags\.js/);
    await shot('28-settings-migrations');
    await page.unroute('**/api/plinth/migrations');

    await page.route('**/api/plinth/migrations', (route) =>
      route.fulfill({
        status: 404,
        contentType: 'application/json',
        body: JSON.stringify({ data: {}, message: "The requested resource wasn't found.", status: 404 }),
      }),
    );
    await page.reload();
    await page.getByTestId('migrations-unavailable').waitFor();
    await page.unroute('**/api/plinth/migrations');
  });

  it('warns about an untrusted proxy header on the Settings page and trusts it in one click', async () => {
    await page.goto(`${s.url}/_/#/settings/application`);
    await page.locator('form[data-section="application"]').waitFor();
    assert.equal(await page.getByTestId('proxy-warning').count(), 0, 'no warning without proxy headers');

    await page.setExtraHTTPHeaders({ 'X-Forwarded-For': '203.0.113.7' });
    await page.reload();
    const warning = page.getByTestId('proxy-warning');
    await warning.waitFor();
    assert.match((await warning.textContent()) ?? '', /x-forwarded-for/i);
    await page.locator('.settings-nav a[href="#/settings/trusted-proxy"] .attention').waitFor();
    await shot('29-proxy-warning');
    await warning.getByRole('button', { name: /^Trust / }).click();
    await warning.waitFor({ state: 'detached' });
    const headers = (await api.settings.getAll()).trustedProxy.headers as string[];
    assert.deepEqual(
      headers.map((h) => h.toLowerCase()),
      ['x-forwarded-for'],
    );
    await page.goto(`${s.url}/_/#/settings/trusted-proxy`);
    assert.match(await page.locator('form[data-section="trusted-proxy"] textarea').inputValue(), /x-forwarded-for/i);
    await page.setExtraHTTPHeaders({});
    await api.settings.update({ trustedProxy: { headers: [], useLeftmostIP: false } });
  });

  it('sets the metrics scrape token (write-only) and allowed IPs on the Settings → Metrics page', async () => {
    await page.goto(`${s.url}/_/#/settings/metrics`);
    const form = page.locator('form[data-section="metrics"]');
    await form.waitFor();
    await form.locator('input[name="metricsToken"]').fill('short');
    await form.getByRole('button', { name: 'Save changes' }).click();
    await form
      .locator('.field-error')
      .filter({ hasText: /16 to 512/ })
      .waitFor();
    await form.locator('input[name="metricsToken"]').fill('dashboard-scrape-token-0001');
    await form.locator('textarea[name="metricsAllowedIps"]').fill('10.0.0.0/8\n192.0.2.7');
    await form.locator('textarea[name="metricsAllowedIps"]').dispatchEvent('change');
    await form.getByRole('button', { name: 'Save changes' }).click();
    // Saved when the API shows it (a toast from an earlier save may still be on screen).
    const deadline = Date.now() + 10_000;
    let metrics = (await api.settings.getAll()).metrics;
    while (metrics.allowedIps.length !== 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      metrics = (await api.settings.getAll()).metrics;
    }
    assert.deepEqual(metrics, { allowedIps: ['10.0.0.0/8', '192.0.2.7'] }, 'the token is never read back');
    const scrape = await fetch(`${s.url}/api/metrics`, { headers: { authorization: 'Bearer dashboard-scrape-token-0001' } });
    assert.equal(scrape.status, 200);
    await shot('30-settings-metrics');
    // Saving again with the token field left empty keeps the token (the reload also clears the toasts).
    await page.reload();
    await form.waitFor();
    assert.equal(await form.locator('input[name="metricsToken"]').inputValue(), '');
    await form.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Settings saved.').first().waitFor();
    assert.equal((await fetch(`${s.url}/api/metrics`, { headers: { authorization: 'Bearer dashboard-scrape-token-0001' } })).status, 200);
    await api.settings.update({ metrics: { allowedIps: [] } });
  });

  it('threw no page errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
