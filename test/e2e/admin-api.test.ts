/**
 * The server side of the admin UI: serving the built UI at /_/ (SPA fallback, caching, CSP), the
 * first-run install link (CLI + endpoints), and the schema editor's helpers (rule check, migration preview).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import PocketBase from 'pocketbase';
import { startServer, type TestServer } from '../helpers/server.js';
import { startBareServer, type BareServer } from './admin-browser.js';

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

describe('admin UI serving at /_/', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
  });
  after(async () => s.close());

  it('serves index.html with a strict CSP and no-cache', async () => {
    const res = await s.fetch('/_/');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /https?:/, 'no outside host is allowed');
    const html = await res.text();
    assert.match(html, /<div id="app">/);
    assert.doesNotMatch(html, /https?:\/\//, 'the page references no outside host');
  });

  it('redirects /_ to /_/ and falls back to index.html for client routes', async () => {
    const redirect = await s.fetch('/_', { redirect: 'manual' });
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.get('location'), '/_/');
    const deep = await s.fetch('/_/collections/posts');
    assert.equal(deep.status, 200);
    assert.match(await deep.text(), /<div id="app">/);
  });

  it('serves hashed assets as immutable (gzip when asked), 404 for missing ones, 304 on a matching ETag', async () => {
    const html = await (await s.fetch('/_/')).text();
    const asset = /src="(\/_\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(asset, 'index.html references a bundled script');
    const res = await s.fetch(asset, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('cache-control') ?? '', /immutable/);
    assert.match(res.headers.get('content-type') ?? '', /javascript/);
    const js = await res.text();
    assert.ok(js.length > 1000);
    assert.doesNotMatch(js, /fonts\.googleapis|cdn\.jsdelivr|unpkg\.com/, 'no outside hosts in the bundle');
    const again = await s.fetch(asset, { headers: { 'if-none-match': res.headers.get('etag') ?? '' } });
    assert.equal(again.status, 304);
    assert.equal((await s.fetch('/_/assets/nope-123.js')).status, 404);
  });

  it('never serves files outside the UI folder', async () => {
    for (const path of ['/_/..%2f..%2fpackage.json', '/_/%2e%2e/%2e%2e/package.json', '/_/../../package.json']) {
      const res = await s.fetch(path);
      const text = await res.text();
      assert.doesNotMatch(text, /"devDependencies"/, path);
    }
  });
});

describe('first superuser via the install link', () => {
  let s: BareServer;
  before(async () => {
    s = await startBareServer();
  });
  after(async () => s.close());

  const post = (path: string, body: unknown) =>
    fetch(s.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('refuses wrong tokens, creates the superuser once, then the link is spent', async () => {
    const needed = async () => ((await (await fetch(`${s.url}/api/install`)).json()) as { needed: boolean }).needed;
    assert.equal(await needed(), true, 'GET /api/install says no superuser exists yet');
    const token = await s.installToken();
    assert.equal(token.length, 40);
    assert.equal((await post('/api/install/validate', { token: 'x'.repeat(40) })).status, 400);
    assert.equal((await post('/api/install/validate', {})).status, 400);
    assert.equal((await post('/api/install/validate', { token })).status, 204);
    const bad = await post('/api/install', { token, email: 'root@example.com', password: 'short', passwordConfirm: 'short' });
    assert.equal(bad.status, 400);
    assert.ok(((await bad.json()) as { data: Record<string, unknown> }).data.password, 'field errors come back');
    const ok = await post('/api/install', { token, email: 'root@example.com', password: 'long-enough-pw', passwordConfirm: 'long-enough-pw' });
    assert.equal(ok.status, 204);
    assert.equal(await needed(), false);
    const pb = new PocketBase(s.url);
    await pb.collection('_superusers').authWithPassword('root@example.com', 'long-enough-pw');
    assert.ok(pb.authStore.isSuperuser);
    assert.equal((await post('/api/install', { token, email: 'two@example.com', password: 'long-enough-pw', passwordConfirm: 'long-enough-pw' })).status, 400);
    await assert.rejects(s.installToken(), /superuser already exists/);
  });

  it('expires after 30 minutes', async () => {
    const { Installer } = await import('../../src/http/routes/admin-install.js');
    const installer = new Installer(s.app);
    // a superuser exists now, so issue() refuses; check the clock logic directly
    assert.equal(await installer.issue(), null);
    const fresh = Object.assign(Object.create(Installer.prototype), { token: 'abc', expires: Date.now() + 30 * 60_000 });
    assert.equal(fresh.matches('abc'), true);
    assert.equal(fresh.matches('abc', Date.now() + 31 * 60_000), false);
    assert.equal(fresh.matches('abd'), false);
  });

  it('plinth serve prints the one-time link when there is no superuser', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plinth-install-'));
    const port = await freePort();
    const env = { ...process.env };
    delete env.PLINTH_ENCRYPTION_KEY;
    const child = spawn(process.execPath, [resolve('bin/plinth.js'), 'serve', `--http=127.0.0.1:${port}`, `--dir=${join(dir, 'data')}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    let output = '';
    child.stdout.on('data', (b) => (output += b));
    const exited = new Promise((res) => child.on('exit', res));
    try {
      const deadline = Date.now() + 15_000;
      while (!output.includes('pbinstall') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const link = /(http:\/\/127\.0\.0\.1:\d+\/_\/#\/pbinstall\/(\w+))/.exec(output);
      assert.ok(link, output);
      assert.match(output, /Dashboard: http:\/\/127\.0\.0\.1:\d+\/_\//);
      // Without PLINTH_ENCRYPTION_KEY the start says where the key of the secrets at rest lives.
      assert.match(output, /encrypted with a key kept in the key file \S+\.encryption-key: they are only as safe as that file\. Set PLINTH_ENCRYPTION_KEY/);
      const res = await fetch(`http://127.0.0.1:${port}/api/install/validate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: link[2] }),
      });
      assert.equal(res.status, 204);
    } finally {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('schema editor helpers', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
    await s.admin.collections.create({ name: 'authors', type: 'base', fields: [{ name: 'name', type: 'text' }] });
  });
  after(async () => s.close());

  const check = (body: unknown) => s.admin.send('/api/collections/meta/validate-rule', { method: 'POST', body });

  it('checks a rule against a draft (unsaved fields included) and points at the error', async () => {
    const draft = {
      name: 'drafty',
      type: 'base',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'published', type: 'bool' },
      ],
    };
    assert.deepEqual(await check({ collection: draft, expr: 'published = true && @request.auth.id != ""' }), { valid: true });
    const bad = await check({ collection: draft, expr: 'title = "x" && nope = 1' });
    assert.equal(bad.valid, false);
    assert.match(bad.message, /nope/);
    assert.equal(bad.position, 15);
    assert.equal(bad.length, 4);
    const syntax = await check({ collection: draft, expr: 'title = ' });
    assert.equal(syntax.valid, false);
    assert.deepEqual(await check({ collection: draft, expr: '@collection.authors.name = title' }), { valid: true });
  });

  it('checks a records filter against a saved collection', async () => {
    assert.deepEqual(await check({ collection: 'authors', expr: 'name ~ "a"', kind: 'filter' }), { valid: true });
    const bad = await check({ collection: 'authors', expr: 'bogus = 1', kind: 'filter' });
    assert.equal(bad.valid, false);
    await assert.rejects(check({ collection: 'missing', expr: 'x = 1' }), (e: { status: number }) => e.status === 404);
  });

  it('is for superusers only', async () => {
    const res = await s.fetch('/api/collections/meta/validate-rule', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(res.status, 401);
    const res2 = await s.fetch('/api/collections/meta/preview-migration', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(res2.status, 401);
  });

  it('previews the migration a create, an update and a delete would write, changing nothing', async () => {
    const preview = (body: unknown) => s.admin.send('/api/collections/meta/preview-migration', { method: 'POST', body });
    const before = readdirSync(join(s.dir, 'migrations'));
    const created = await preview({ collection: { name: 'notes', type: 'base', fields: [{ name: 'body', type: 'text' }], listRule: 'body != ""' } });
    assert.equal(created.action, 'create');
    assert.match(created.file, /^\d+_created_notes\.js$/);
    assert.match(created.content, /export async function up\(app\)/);
    assert.match(created.content, /"name": "notes"/);
    assert.match(created.content, /deleteCollection/);
    assert.equal((await s.admin.collections.getList(1, 50, { filter: 'name = "notes"' })).totalItems, 0, 'nothing was created');

    const authors = await s.admin.collections.getOne('authors');
    const unchanged = await preview({ collection: authors });
    assert.equal(unchanged.action, 'none');
    const updated = await preview({ collection: { ...authors, fields: [...authors.fields, { name: 'bio', type: 'text' }] } });
    assert.equal(updated.action, 'update');
    assert.match(updated.content, /"bio"/);
    const deleted = await preview({ collection: 'authors', delete: true });
    assert.equal(deleted.action, 'delete');
    assert.match(deleted.content, /deleteCollection\("/);

    await assert.rejects(
      preview({ collection: { name: 'bad name!', type: 'base', fields: [] } }),
      (e: { status: number; response: { data: Record<string, unknown> } }) => e.status === 400 && !!e.response.data.name,
    );
    assert.deepEqual(readdirSync(join(s.dir, 'migrations')), before, 'no migration file was written');
  });
});
