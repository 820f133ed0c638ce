/**
 * Issue 11, defects 1 and 2. Text neither database can store (NUL, unpaired UTF-16 surrogates) is refused
 * with the same 400 on both dialects, naming the field or parameter, wherever it arrives (path, query, JSON,
 * urlencoded and multipart bodies, file names, batch sub-requests, writes from code); a PostgreSQL 22021 that
 * still gets through is a 400, never a 500. And every answer, including those Node's HTTP parser or Fastify's
 * router give before any route runs, is PocketBase's {data, message, status} envelope.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { openTestApp, startServer, TEST_DIALECT, type TestServer } from '../helpers/server.js';
import { buildServer } from '../../src/http/server.js';
import { AppError } from '../../src/errors/index.js';
import { toAppError } from '../../src/http/error-mapping.js';
import { postgresDialect } from '../../src/db/dialects/postgres/postgres-dialect.js';
import { systemRequest } from '../../src/records/system-request.js';
import type { App } from '../../src/app.js';

let s: TestServer;
let adminToken: string;
let itemId: string;
let userId: string;

interface Envelope {
  data: Record<string, { code?: string; message?: string }>;
  message: string;
  status: number;
}

/** Asserts a 400 `invalid_characters` answer naming `name` with field code `code`. */
async function expectRefused(res: Response, name: string, code = 'validation_invalid_nul'): Promise<Envelope> {
  const text = await res.text();
  assert.equal(res.status, 400, `${name}: ${text.slice(0, 300)}`);
  const body = JSON.parse(text) as Envelope;
  assert.deepEqual(Object.keys(body), ['data', 'message', 'status']);
  assert.equal(body.status, 400);
  assert.equal(body.data[name]?.code, code, `${name}: ${text.slice(0, 300)}`);
  assert.ok(body.message.includes(name === 'path' ? 'path' : `"${name}"`), `the message names ${name}: ${body.message}`);
  return body;
}

const NUL = '\u0000';
const json = (body: unknown, token = adminToken): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...(token ? { Authorization: token } : {}) },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

async function itemCount(): Promise<number> {
  return (await s.admin.collection('items').getList(1, 1)).totalItems;
}

/** Sends raw bytes and returns everything the server answered before closing (or after 1 s). */
function rawRequest(text: string | Buffer): Promise<string> {
  const { port } = new URL(s.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    let out = '';
    const timer = setTimeout(() => socket.destroy(), 1000);
    socket.on('data', (d) => (out += d.toString('utf8')));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    socket.on('error', (err) => (out ? undefined : reject(err)));
    socket.write(text);
  });
}

/** Splits a raw HTTP answer into status, headers and the parsed envelope body. */
function parseRaw(raw: string): { status: number; headers: Record<string, string>; body: Envelope } {
  const [head = '', ...rest] = raw.split('\r\n\r\n');
  const [statusLine = '', ...headerLines] = head.split('\r\n');
  const headers = Object.fromEntries(headerLines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  const status = Number(statusLine.split(' ')[1]);
  let body: Envelope;
  try {
    body = JSON.parse(rest.join('\r\n\r\n')) as Envelope;
  } catch {
    assert.fail(`not a JSON body: ${JSON.stringify(raw.slice(0, 400))}`);
  }
  return { status, headers, body };
}

function assertEnvelope(raw: string, status: number): Envelope {
  const r = parseRaw(raw);
  assert.equal(r.status, status, raw.slice(0, 300));
  // 5xx bodies also name the request id, after PocketBase's keys (docs/pocketbase-compatibility.md).
  assert.deepEqual(Object.keys(r.body), status >= 500 ? ['data', 'message', 'status', 'requestId'] : ['data', 'message', 'status'], raw.slice(0, 300));
  assert.equal(r.body.status, status);
  assert.ok(r.body.message.length > 0);
  assert.match(r.headers['content-type'] ?? '', /application\/json/);
  return r.body;
}

describe('NUL and unpaired surrogates, and the envelope everywhere', () => {
  before(async () => {
    s = await startServer({ settings: { batch: { enabled: true } } });
    adminToken = s.admin.authStore.token;
    await s.admin.collections.create({
      name: 'items',
      type: 'base',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'body', type: 'editor' },
        { name: 'meta', type: 'json' },
        { name: 'doc', type: 'file', maxSelect: 1 },
      ],
      listRule: '',
      viewRule: '',
      createRule: '',
      updateRule: '',
    });
    itemId = (await s.admin.collection('items').create({ title: 'first' })).id;
    userId = (await s.admin.collection('users').create({ email: 'eve@example.com', password: 'password123', passwordConfirm: 'password123' })).id;
  });

  after(async () => {
    await s.close();
  });

  describe('NUL is a 400 naming the field, on both dialects, and nothing is stored', () => {
    it('in record fields of a JSON body (create and update), a JSON field and a JSON key', async () => {
      const before = await itemCount();
      await expectRefused(await s.fetch('/api/collections/items/records', json({ title: `a${NUL}b` })), 'title');
      await expectRefused(await s.fetch('/api/collections/items/records', json({ body: `<p>${NUL}</p>` })), 'body');
      await expectRefused(await s.fetch('/api/collections/items/records', json({ meta: { deep: [`x${NUL}`] } })), 'meta');
      await expectRefused(await s.fetch('/api/collections/items/records', json({ meta: { [`k${NUL}`]: 1 } })), 'meta');
      await expectRefused(await s.fetch('/api/collections/items/records', json({ id: `abc${NUL}defghijklm` })), 'id');
      await expectRefused(await s.fetch(`/api/collections/items/records/${itemId}`, { ...json({ title: `x${NUL}` }), method: 'PATCH' }), 'title');
      assert.equal(await itemCount(), before);
      assert.equal((await s.admin.collection('items').getOne(itemId)).title, 'first');
    });

    it('in urlencoded and multipart bodies, and in an uploaded file name', async () => {
      const before = await itemCount();
      const form = await s.fetch('/api/collections/items/records', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'title=a%00b',
      });
      await expectRefused(form, 'title');
      const fd = new FormData();
      fd.append('title', `a${NUL}b`);
      await expectRefused(await s.fetch('/api/collections/items/records', { method: 'POST', body: fd }), 'title');
      const withFile = new FormData();
      withFile.append('doc', new Blob(['hello']), `re${NUL}port.txt`);
      await expectRefused(await s.fetch('/api/collections/items/records', { method: 'POST', body: withFile }), 'doc');
      const payload = new FormData();
      payload.append('@jsonPayload', JSON.stringify({ title: `p${NUL}` }));
      await expectRefused(await s.fetch('/api/collections/items/records', { method: 'POST', body: payload }), 'title');
      assert.equal(await itemCount(), before);
    });

    it('in the path: record id, collection name, impersonation id, API key id, file path', async () => {
      for (const path of [
        '/api/collections/items/records/a%00b',
        '/api/collections/it%00ems/records',
        `/api/files/items/${itemId}/a%00.txt`,
        '/api/files/items/a%00b/a.txt',
      ]) {
        await expectRefused(await s.fetch(path, { headers: { Authorization: adminToken } }), 'path');
      }
      await expectRefused(await s.fetch('/api/collections/users/impersonate/a%00b', json({})), 'path');
      await expectRefused(await s.fetch('/api/api-keys/a%00b', { method: 'DELETE', headers: { Authorization: adminToken } }), 'path');
    });

    it('in query parameters: filter, sort, expand, fields, page, and one named with an escape', async () => {
      for (const name of ['filter', 'sort', 'expand', 'fields', 'page', 'skipTotal']) {
        await expectRefused(await s.fetch(`/api/collections/items/records?${name}=a%00b`), name);
      }
      await expectRefused(await s.fetch('/api/collections/items/records?page=1&my%20param=%00'), 'my param');
      await expectRefused(await s.fetch('/api/logs?filter=%00', { headers: { Authorization: adminToken } }), 'filter');
    });

    it('in auth identities, e-mail flows, impersonation bodies, API key names and settings', async () => {
      const guest = (body: unknown) => json(body, '');
      await expectRefused(
        await s.fetch('/api/collections/users/auth-with-password', guest({ identity: `eve${NUL}@example.com`, password: 'password123' })),
        'identity',
      );
      await expectRefused(await s.fetch('/api/collections/_superusers/auth-with-password', guest({ identity: `a${NUL}`, password: 'x' })), 'identity');
      await expectRefused(await s.fetch('/api/collections/users/request-password-reset', guest({ email: `eve${NUL}@example.com` })), 'email');
      await expectRefused(
        await s.fetch('/api/collections/users/records', guest({ email: `n${NUL}@example.com`, password: 'password123', passwordConfirm: 'password123' })),
        'email',
      );
      await expectRefused(await s.fetch('/api/api-keys', json({ name: `key${NUL}`, scopes: ['items:list'] })), 'name');
      await expectRefused(await s.fetch(`/api/settings`, { ...json({ meta: { appName: `A${NUL}` } }), method: 'PATCH' }), 'meta');
      const ok = await s.fetch(`/api/collections/users/impersonate/${userId}`, json({ duration: 60 }));
      assert.equal(ok.status, 200, 'a clean impersonation still works');
    });

    it('in a batch sub-request body or URL', async () => {
      const before = await itemCount();
      const res = await s.fetch('/api/batch', json({ requests: [{ method: 'POST', url: '/api/collections/items/records', body: { title: `b${NUL}` } }] }));
      await expectRefused(res, 'requests');
      const url = await s.fetch('/api/batch', json({ requests: [{ method: 'PATCH', url: `/api/collections/items/records/${itemId}${NUL}`, body: {} }] }));
      await expectRefused(url, 'requests');
      assert.equal(await itemCount(), before);
    });

    it('unpaired surrogates are refused the same way; paired ones (emoji) are stored', async () => {
      const before = await itemCount();
      await expectRefused(await s.fetch('/api/collections/items/records', json('{"title":"a\\ud800b"}')), 'title', 'validation_invalid_surrogate');
      await expectRefused(await s.fetch('/api/collections/items/records', json('{"meta":{"x":"\\udfff"}}')), 'meta', 'validation_invalid_surrogate');
      assert.equal(await itemCount(), before);
      const emoji = await s.admin.collection('items').create({ title: 'ok \ud83d\ude00' });
      assert.equal((await s.admin.collection('items').getOne(emoji.id)).title, 'ok \ud83d\ude00');
    });

    it('writes from code (hooks, migrations) get the same field error', async () => {
      const items = s.app.collections.require('items');
      const err = await s.app.writer.create(items, { data: { title: `c${NUL}` } }, systemRequest(s.app.collections)).then(
        () => assert.fail('stored a NUL'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof AppError);
      assert.equal(err.status, 400);
      assert.equal((err.data.title as { code: string }).code, 'validation_invalid_nul');
    });

    it('a NUL that still reaches PostgreSQL (set by a hook) answers 400, never 500', async () => {
      const id = s.app.hooks.onRecordCreate.bind(async (e, next) => {
        if (e.record.title === 'inject') e.record.title = `in${NUL}jected`;
        await next();
      });
      try {
        const res = await s.fetch('/api/collections/items/records', json({ title: 'inject' }));
        const text = await res.text();
        // SQLite stores the byte; PostgreSQL refuses it (22021), which maps to 400 invalid_characters.
        if (TEST_DIALECT === 'postgres') {
          assert.equal(res.status, 400, text);
          assert.deepEqual(Object.keys(JSON.parse(text) as object), ['data', 'message', 'status']);
        } else assert.equal(res.status, 200, text);
      } finally {
        s.app.hooks.onRecordCreate.unbind(id);
      }
      // The mapping itself, independent of the dialect under test.
      const fakeApp = { db: { dialect: postgresDialect } } as unknown as App;
      for (const code of ['22021', '22P05']) {
        const mapped = toAppError(Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code }), fakeApp);
        assert.equal(mapped.status, 400);
        assert.equal(mapped.code, 'invalid_characters');
      }
    });
  });

  describe('every answer is in the envelope', () => {
    it('a bad percent-escape in the path is a 400 envelope, not FST_ERR_BAD_URL', async () => {
      for (const path of ['/api/collections/x/records/%ff', '/api/collections/items/records/%E0%A4%A', `/api/collections/items/records/%ED%A0%80`]) {
        const res = await s.fetch(path);
        const text = await res.text();
        assert.equal(res.status, 400, text);
        const body = JSON.parse(text) as Envelope;
        assert.deepEqual(Object.keys(body), ['data', 'message', 'status']);
        assert.equal(text.includes('FST_ERR'), false);
        assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      }
    });

    it('an over-long path parameter is a 404 envelope', async () => {
      const res = await s.fetch(`/api/collections/items/records/${'a'.repeat(1500)}`);
      assert.equal(res.status, 404);
      assert.deepEqual(Object.keys((await res.json()) as object), ['data', 'message', 'status']);
    });

    it('CONNECT gets a 405 envelope instead of a closed socket', async () => {
      const raw = await rawRequest('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
      const body = assertEnvelope(raw, 405);
      assert.match(body.message, /CONNECT/);
      assert.match(parseRaw(raw).headers.allow ?? '', /GET/);
    });

    it('requests Node refuses (malformed line, bad Content-Length, bad header, smuggling, bad chunk) are 400 envelopes', async () => {
      const cases = [
        'GARBAGE\r\n\r\n',
        'G@T /api/health HTTP/1.1\r\nHost: x\r\n\r\n',
        'GET /api/health HTTP/9.9\r\nHost: x\r\n\r\n',
        'POST /api/collections/items/records HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
        'POST /api/collections/items/records HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}',
        'GET /api/health HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0001b\r\n\r\n',
        'GET /api/health HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n',
        'POST /api/collections/items/records HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        'POST /api/collections/items/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
        'GET /api/coll\u0000 HTTP/1.1\r\nHost: x\r\n\r\n',
        'GET api/health HTTP/1.1\r\nHost: x\r\n\r\n',
      ];
      for (const c of cases) assertEnvelope(await rawRequest(c), 400);
    });

    it('a request without Host (HTTP/1.1) is a 400 envelope; HTTP/1.0 needs none', async () => {
      const body = assertEnvelope(await rawRequest('GET /api/health HTTP/1.1\r\nConnection: close\r\n\r\n'), 400);
      assert.match(body.message, /Host/);
      const ok = await rawRequest('GET /api/health HTTP/1.0\r\nConnection: close\r\n\r\n');
      assert.match(ok, /^HTTP\/1\.1 200/);
    });

    it('headers (or a URL) over the limit are a 431 envelope', async () => {
      assertEnvelope(await rawRequest(`GET /api/health?${'a'.repeat(70_000)} HTTP/1.1\r\nHost: x\r\n\r\n`), 431);
      assertEnvelope(await rawRequest(`GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(70_000)}\r\n\r\n`), 431);
    });

    it('an Expect header other than 100-continue is a 417 envelope', async () => {
      assertEnvelope(await rawRequest('POST /api/collections/items/records HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nContent-Length: 2\r\n\r\n{}'), 417);
    });

    it("a request arriving while the server shuts down is a 503 envelope (not Fastify's own body)", async () => {
      const dir = mkdtempSync(join(tmpdir(), 'plinth-closing-'));
      const app = await openTestApp({ dataDir: join(dir, 'data'), migrationsDir: join(dir, 'migrations') });
      const server = await buildServer(app);
      try {
        await server.listen({ host: '127.0.0.1', port: 0 });
        const socket = connect((server.server.address() as AddressInfo).port, '127.0.0.1');
        let out = '';
        socket.on('data', (d) => (out += d.toString('utf8')));
        const closed = new Promise((resolve) => socket.on('close', resolve));
        await new Promise((resolve) => socket.on('connect', resolve));
        // A first request, half sent, keeps the connection busy while close() begins ...
        socket.write('POST /api/collections/nope/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{');
        await new Promise((resolve) => setTimeout(resolve, 100));
        const closing = server.close();
        await new Promise((resolve) => setTimeout(resolve, 50));
        // ... then it ends, and a second one follows on the same connection.
        socket.write('}GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n');
        await closed;
        await closing;
        const second = out.slice(out.indexOf('HTTP/1.1', 10));
        const body = assertEnvelope(second, 503);
        assert.match(body.message, /shutting down/);
        assert.equal(parseRaw(second).headers['retry-after'], '1');
      } finally {
        await server.close();
        await app.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('HEAD answers like GET without a body; unknown methods and paths are 404 envelopes', async () => {
      const head = await s.fetch('/api/health', { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(await head.text(), '');
      const headMissing = await s.fetch('/api/nope', { method: 'HEAD' });
      assert.equal(headMissing.status, 404);
      for (const method of ['PROPFIND', 'TRACE'])
        assertEnvelope(await rawRequest(`${method} /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`), 404);
    });
  });
});
