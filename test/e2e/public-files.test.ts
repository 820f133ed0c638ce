/**
 * The front end at `/` from `plinth_public/` (PocketBase's pb_public) and the dashboard's UI extensions
 * (`/_/extensions.js`, `/_/extensions/{name}/…`): content types, index.html for folders, the SPA
 * fallback (on by default, as PocketBase's --indexFallback), caching headers and 304s, HEAD, Range, and
 * no way out of the folder (encoded dot-segments, backslashes, NUL, symlinks), never shadowing /api/ or /_/.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { openTestApp, serveApp, startServer, type ServedApp, type TestServer } from '../helpers/server.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

/** A raw GET that keeps the path exactly as written (fetch would normalise dot-segments). */
function rawGet(url: string, path: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

function writeSite(dir: string): void {
  const pub = join(dir, 'plinth_public');
  mkdirSync(join(pub, 'assets'), { recursive: true });
  mkdirSync(join(pub, 'docs'), { recursive: true });
  mkdirSync(join(pub, '.well-known'), { recursive: true });
  writeFileSync(join(pub, 'index.html'), '<!doctype html><title>spa</title>');
  writeFileSync(join(pub, 'docs', 'index.html'), '<p>docs</p>');
  writeFileSync(join(pub, 'assets', 'app-3f9a1c2b.js'), 'console.log(1)');
  writeFileSync(join(pub, 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(pub, 'data.bin'), Buffer.from('0123456789'));
  writeFileSync(join(pub, '.env'), 'SECRET=1');
  writeFileSync(join(pub, '.well-known', 'security.txt'), 'Contact: mailto:x@example.com');
  writeFileSync(join(dir, 'outside.txt'), 'outside the public dir');
  symlinkSync(join(dir, 'outside.txt'), join(pub, 'link.txt'));
  const ext = join(dir, 'plinth_extensions');
  mkdirSync(join(ext, 'b-hello'), { recursive: true });
  mkdirSync(join(ext, 'a-first'), { recursive: true });
  writeFileSync(join(ext, 'b-hello', 'main.js'), 'window.__b = 2;');
  writeFileSync(join(ext, 'b-hello', 'style.css'), 'body{}');
  writeFileSync(join(ext, 'a-first', 'main.js'), 'window.__a = 1;');
}

describe('front end from plinth_public/ and UI extensions', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ beforeHooks: async (app) => writeSite(join(app.config.dataDir, '..')) });
  });
  after(async () => {
    await s.close();
  });

  it('serves files with their content types and caching headers', async () => {
    const index = await s.fetch('/');
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(index.headers.get('cache-control'), 'no-cache');
    assert.equal(await index.text(), '<!doctype html><title>spa</title>');
    const js = await s.fetch('/assets/app-3f9a1c2b.js');
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(js.headers.get('x-content-type-options'), 'nosniff');
    const svg = await s.fetch('/logo.svg');
    assert.equal(svg.headers.get('content-type'), 'image/svg+xml');
    assert.equal(svg.headers.get('cache-control'), 'no-cache');
    assert.ok(svg.headers.get('last-modified'));
    const bin = await s.fetch('/data.bin');
    assert.equal(bin.headers.get('content-type'), 'application/octet-stream');
    assert.equal((await s.fetch('/.well-known/security.txt')).status, 200);
  });

  it('answers conditional requests with 304, HEAD without a body, Range with 206/416', async () => {
    const first = await s.fetch('/logo.svg');
    const etag = first.headers.get('etag') as string;
    assert.ok(etag);
    assert.equal((await s.fetch('/logo.svg', { headers: { 'if-none-match': etag } })).status, 304);
    assert.equal((await s.fetch('/logo.svg', { headers: { 'if-modified-since': first.headers.get('last-modified') as string } })).status, 304);
    const head = await s.fetch('/data.bin', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), '10');
    assert.equal(await head.text(), '');
    const part = await s.fetch('/data.bin', { headers: { range: 'bytes=2-4' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), 'bytes 2-4/10');
    assert.equal(await part.text(), '234');
    assert.equal((await s.fetch('/data.bin', { headers: { range: 'bytes=50-60' } })).status, 416);
    const stale = await s.fetch('/data.bin', { headers: { range: 'bytes=2-4', 'if-range': '"other"' } });
    assert.equal(stale.status, 200);
  });

  it("serves a folder's index.html, redirecting to the trailing slash first", async () => {
    const redirect = await s.fetch('/docs', { redirect: 'manual' });
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.get('location'), '/docs/');
    const docs = await s.fetch('/docs/');
    assert.equal(await docs.text(), '<p>docs</p>');
  });

  it('falls back to the root index.html for unknown paths (SPA), but never under /api/ or /_/', async () => {
    const deep = await s.fetch('/app/settings/profile');
    assert.equal(deep.status, 200);
    assert.equal(await deep.text(), '<!doctype html><title>spa</title>');
    const api = await s.fetch('/api/no-such-endpoint');
    assert.equal(api.status, 404);
    assert.deepEqual(await api.json(), { data: {}, message: "The requested resource wasn't found.", status: 404 });
    assert.equal((await s.fetch('/api/health')).status, 200);
    const admin = await s.fetch('/_/');
    assert.notEqual(await admin.text(), '<!doctype html><title>spa</title>');
    assert.equal((await s.admin.collections.getFullList()).length > 0, true);
  });

  it('does not fill the request log with successful front-end file requests', async () => {
    await s.fetch('/logo.svg?marker=static');
    await s.fetch('/api/health?marker=api');
    await s.app.logs.flush();
    const logs = await s.admin.logs.getList(1, 200, { filter: 'data.url ~ "marker"' });
    const urls = logs.items.map((l) => String((l.data as { url?: string }).url));
    assert.ok(
      urls.some((u) => u.includes('marker=api')),
      urls.join(),
    );
    assert.ok(!urls.some((u) => u.includes('marker=static')), urls.join());
  });

  it('never leaves the folder: dot-segments (raw or encoded), backslashes, NUL, dot-files, symlinks out', async () => {
    for (const path of [
      '/../outside.txt',
      '/%2e%2e/outside.txt',
      '/%2E%2E%2Foutside.txt',
      '/docs/..%2f..%2foutside.txt',
      '/..%5coutside.txt',
      '/docs\\..\\..\\outside.txt',
      '/logo.svg%00.html',
      '/.env',
      '/%2eenv',
      '/link.txt',
    ]) {
      const res = await rawGet(s.url, path);
      assert.notEqual(res.body, 'outside the public dir', path);
      assert.notEqual(res.body, 'SECRET=1', path);
      assert.ok(res.status === 404 || res.status === 400 || res.body === '<!doctype html><title>spa</title>', `${path}: ${res.status} ${res.body}`);
    }
  });

  it("serves /_/extensions.js: every extension's main.js wrapped, in name order", async () => {
    const res = await s.fetch('/_/extensions.js');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(await res.text(), '(function(){window.__a = 1;\n})();(function(){window.__b = 2;\n})();');
    const css = await s.fetch('/_/extensions/b-hello/style.css');
    assert.equal(css.status, 200);
    assert.equal(await css.text(), 'body{}');
    assert.ok(css.headers.get('content-security-policy'));
    assert.equal((await s.fetch('/_/extensions/b-hello/missing.css')).status, 404);
    assert.equal((await rawGet(s.url, '/_/extensions/b-hello/..%2f..%2fplinth_public%2f.env')).status, 404);
    assert.equal((await rawGet(s.url, '/_/extensions/..%2fplinth_public/index.html')).status, 404);
  });
});

describe('no plinth_public/ and no extensions; indexFallback off', () => {
  let s: TestServer;
  let withFolder: TestServer;
  before(async () => {
    s = await startServer();
    withFolder = await startServer({ server: { indexFallback: false }, beforeHooks: async (app) => writeSite(join(app.config.dataDir, '..')) });
  });
  after(async () => {
    await s.close();
    await withFolder.close();
  });

  it('answers an empty script for /_/extensions.js and the JSON 404 at /', async () => {
    const ext = await s.fetch('/_/extensions.js');
    assert.equal(ext.status, 200);
    assert.equal(ext.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(await ext.text(), '');
    const root = await s.fetch('/');
    assert.equal(root.status, 404);
    assert.equal(((await root.json()) as { status: number }).status, 404);
  });

  it('without the fallback a missing path is a 404, files are still served', async () => {
    assert.equal((await withFolder.fetch('/app/settings')).status, 404);
    assert.equal((await withFolder.fetch('/logo.svg')).status, 200);
    assert.equal((await withFolder.fetch('/')).status, 200);
  });
});

describe('a public dir that contains the data dir', () => {
  let root: string;
  let served: ServedApp;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'plinth-public-root-'));
    const app = await openTestApp({ dataDir: join(root, 'data'), migrationsDir: join(root, 'migrations') });
    writeFileSync(join(root, 'data', 'secret.txt'), 'inside the data dir');
    mkdirSync(join(root, 'migrations'), { recursive: true });
    writeFileSync(join(root, 'migrations', 'm.js'), 'migration');
    writeFileSync(join(root, 'hello.txt'), 'public');
    served = await serveApp(app, { publicDir: root });
  });
  after(async () => {
    await served.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('never serves the data, migrations or hooks folders from it (--publicDir=. is safe)', async () => {
    assert.equal(await (await fetch(`${served.url}/hello.txt`)).text(), 'public');
    for (const path of ['/data/secret.txt', '/data/data.db', '/migrations/m.js', '/data/']) {
      const res = await fetch(served.url + path);
      assert.equal(res.status, 404, path);
    }
  });
});
