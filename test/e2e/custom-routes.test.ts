/**
 * Custom routes end to end (real server, the pocketbase SDK's `send` and raw fetch): path params and the
 * wildcard, every access guard, JSON/urlencoded/multipart bodies with files, records read as the caller,
 * the error mapping, streaming (Node stream, web stream, bytes, SSE), rate limits by tag and by path, body
 * limits, collisions with built-in and other custom routes refused with both named, replacing the routes at
 * runtime (dev reload), and the request timeout (504 within the limit, the late answer discarded).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import type { ClientResponseError } from 'pocketbase';
import { AppError } from '../../src/errors/index.js';
import { RouteRegistry, type RouteContext } from '../../src/http/custom-routes.js';
import { buildServer } from '../../src/http/server.js';
import { SUPERUSER_EMAIL, SUPERUSER_PASSWORD, startServer, type TestServer } from '../helpers/server.js';
import { signUp } from '../helpers/auth-http.js';

const TIMEOUT_MS = 500;

describe('custom routes', () => {
  let s: TestServer;
  const routes = new RouteRegistry<{ kind: string; auth: string }>({
    api: (_app, c) => ({ kind: 'user api', auth: c.request.auth?.collection.name ?? 'guest' }),
  });
  let lateAnswer: unknown;

  routes.source = 'hooks/shop.ts';
  routes.get('/api/shop/orders/{id}', (c) => ({ id: c.request.params.id, q: c.request.query.q ?? null, method: c.request.method }));
  routes.get('/api/shop/orders/new', () => ({ fixed: true }));
  routes.get('/api/shop/assets/{path...}', (c) => ({ path: c.request.params.path }));
  routes.get('/api/shop/public', (c) => ({ auth: c.request.auth?.collection.name ?? null, app: c.app }));
  routes.get('/api/shop/guests', () => ({ ok: true }), { auth: 'guest' });
  routes.get('/api/shop/members', (c) => ({ id: c.request.auth?.record.id }), { auth: 'any' });
  routes.get('/api/shop/admin', () => ({ ok: true }), { auth: 'superuser' });
  routes.get('/api/shop/users-only', () => ({ ok: true }), { auth: { collection: 'users' } });
  routes.post('/api/shop/echo', (c) => ({
    body: c.request.body,
    files: c.request.files.map((f) => ({ field: f.field, name: f.filename, size: f.size, text: f.data.toString('utf8') })),
  }));
  routes.post('/api/shop/small', (c) => c.request.body, { bodyLimit: 100 });
  routes.post('/api/shop/admin-small', (c) => c.request.body, { auth: 'superuser', bodyLimit: 100 });
  routes.post('/api/shop/created', (c) => {
    c.reply.status(201).header('x-shop', 'yes');
    return { created: true };
  });
  routes.delete('/api/shop/nothing', () => undefined);
  routes.get('/api/shop/posts/{id}', async (c: RouteContext<unknown>) => {
    const posts = s.app.collections.require('posts');
    return s.app.reader.view(posts, c.request.params.id as string, c.request.info);
  });
  routes.get('/api/shop/fail/app', () => {
    throw new AppError('forbidden', 'Only on weekdays.', { day: { code: 'validation_weekend', message: 'It is the weekend.' } });
  });
  routes.get('/api/shop/fail/plain', async () => {
    throw new Error('db password is hunter2');
  });
  routes.get('/api/shop/stream/node', (c) => {
    c.reply.header('content-type', 'text/plain; charset=utf-8');
    return Readable.from(['one,', 'two,', 'three']);
  });
  routes.get(
    '/api/shop/stream/web',
    () =>
      new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('web '));
          controller.enqueue(new TextEncoder().encode('stream'));
          controller.close();
        },
      }),
  );
  routes.get('/api/shop/bytes', () => Buffer.from([1, 2, 3, 4]));
  routes.get('/api/shop/text', (c) => c.reply.send('plain text'));
  routes.get('/api/shop/sse', async (c) => {
    const sse = c.reply.sse();
    // Longer than the request timeout: an open stream is not cut.
    for (let i = 1; i <= 3; i++) {
      sse.send({ n: i }, { event: 'tick', id: String(i) });
      await new Promise((r) => setTimeout(r, TIMEOUT_MS / 2));
    }
    sse.close();
  });
  routes.get('/api/shop/sse-broken', async (c) => {
    const sse = c.reply.sse();
    sse.send('first');
    throw new Error('broke mid-stream');
  });
  routes.post('/api/shop/checkout', () => ({ ok: true }), { rateLimit: 'shop:checkout' });
  routes.get('/api/shop/limited', () => ({ ok: true }));
  routes.get('/api/shop/hang', async () => {
    await new Promise((r) => setTimeout(r, TIMEOUT_MS * 3));
    lateAnswer = 'the handler finished';
    return { late: true };
  });
  routes.get('/api/shop/hang-short', () => new Promise(() => {}), { timeout: 200 });
  routes.post('/api/shop/signal-ok', async (c) => {
    const signal = c.signal;
    await new Promise((r) => setTimeout(r, 50));
    return { aborted: signal.aborted, body: c.request.body };
  });
  let abortedBy: unknown;
  routes.get(
    '/api/shop/hang-signal',
    (c) => {
      c.signal.addEventListener('abort', () => (abortedBy = c.signal.reason));
      return new Promise(() => {});
    },
    { timeout: 200 },
  );
  routes.get('/hello', () => 'outside /api');

  before(async () => {
    s = await startServer({ routes, hookTimeout: TIMEOUT_MS });
    await s.admin.collections.create({
      name: 'posts',
      type: 'base',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'status', type: 'text' },
      ],
      viewRule: "status = 'published'",
    });
  });
  after(async () => {
    await s.close();
  });

  const json = async (path: string, init?: RequestInit) => {
    const res = await s.fetch(path, init);
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
  };

  it('matches path params (decoded), prefers static segments, and the {path...} wildcard takes the rest', async () => {
    assert.deepEqual(await s.client().send('/api/shop/orders/o%2F1?q=x', {}), { id: 'o/1', q: 'x', method: 'GET' });
    assert.deepEqual((await json('/api/shop/orders/new')).body, { fixed: true });
    assert.deepEqual((await json('/api/shop/orders/abc/')).body.id, 'abc', 'a trailing slash is ignored');
    assert.deepEqual((await json('/api/shop/assets/css/site%20main.css')).body, { path: 'css/site main.css' });
    assert.equal((await json('/hello')).body, 'outside /api');
    const head = await s.fetch('/api/shop/orders/1', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
  });

  it('unknown paths are a 404 envelope, answered before any body is read', async () => {
    const miss = await json('/api/shop/nope');
    assert.deepEqual(miss.body, { data: {}, message: "The requested resource wasn't found.", status: 404 });
    const post = await json('/api/shop/nope', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' });
    assert.equal(post.status, 404);
    assert.equal((await json('/api/shop/orders/1', { method: 'PUT' })).status, 404);
    assert.equal((await json('/api/shop/orders/%E0%A4%A')).status, 400, 'malformed percent-encoding is the client’s error');
  });

  it('guards: public, guest-only, any auth, superuser, one auth collection', async () => {
    await signUp(s, 'shopper@example.com');
    const user = s.client();
    await user.collection('users').authWithPassword('shopper@example.com', 'password123');
    const admin = s.admin;
    const guest = s.client();
    const status = async (pb: typeof guest, path: string) => {
      try {
        await pb.send(path, {});
        return 200;
      } catch (err) {
        return (err as ClientResponseError).status;
      }
    };
    assert.deepEqual(await guest.send('/api/shop/public', {}), { auth: null, app: { kind: 'user api', auth: 'guest' } });
    assert.deepEqual(await user.send('/api/shop/public', {}), { auth: 'users', app: { kind: 'user api', auth: 'users' } });
    assert.deepEqual([await status(guest, '/api/shop/guests'), await status(user, '/api/shop/guests')], [200, 400]);
    assert.deepEqual(
      [await status(guest, '/api/shop/members'), await status(user, '/api/shop/members'), await status(admin, '/api/shop/members')],
      [401, 200, 200],
    );
    assert.deepEqual([await status(guest, '/api/shop/admin'), await status(user, '/api/shop/admin'), await status(admin, '/api/shop/admin')], [401, 403, 200]);
    assert.deepEqual(
      [await status(guest, '/api/shop/users-only'), await status(user, '/api/shop/users-only'), await status(admin, '/api/shop/users-only')],
      [401, 200, 403],
    );
    assert.equal((await user.send('/api/shop/members', {})).id, user.authStore.record?.id);
    // An invalid token is a guest, as everywhere in the API.
    assert.equal((await json('/api/shop/members', { headers: { authorization: 'not-a-token' } })).status, 401);
  });

  it('parses JSON, urlencoded and multipart bodies (with files) like the records API', async () => {
    const j = await json('/api/shop/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ a: 1, b: [true] }) });
    assert.deepEqual(j.body, { body: { a: 1, b: [true] }, files: [] });
    const u = await json('/api/shop/echo', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=ann&n=5' });
    assert.deepEqual(u.body.body, { name: 'ann', n: 5 });
    const form = new FormData();
    form.append('title', 'upload');
    form.append('doc', new Blob(['file contents'], { type: 'text/plain' }), 'notes.txt');
    form.append('@jsonPayload', JSON.stringify({ extra: { deep: 1 } }));
    const m = await s.client().send('/api/shop/echo', { method: 'POST', body: form });
    assert.deepEqual(m, {
      body: { title: 'upload', extra: { deep: 1 } },
      files: [{ field: 'doc', name: 'notes.txt', size: 13, text: 'file contents' }],
    });
    const bad = await json('/api/shop/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":' });
    assert.equal(bad.status, 400);
    const big = await json('/api/shop/small', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ x: 'y'.repeat(200) }),
    });
    assert.equal(big.status, 413);
    assert.deepEqual((await json('/api/shop/small', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x":1}' })).body, { x: 1 });
    // The guard runs before the body is read: a guest's oversized body is a 401, not a 413.
    const big2 = JSON.stringify({ x: 'y'.repeat(200) });
    assert.equal((await json('/api/shop/admin-small', { method: 'POST', headers: { 'content-type': 'application/json' }, body: big2 })).status, 401);
    const asAdmin = { 'content-type': 'application/json', authorization: s.admin.authStore.token };
    assert.equal((await json('/api/shop/admin-small', { method: 'POST', headers: asAdmin, body: big2 })).status, 413);
    assert.deepEqual((await json('/api/shop/admin-small', { method: 'POST', headers: asAdmin, body: '{"ok":true}' })).body, { ok: true });
  });

  it('status, headers and 204 from the handler; records read as the caller (rules apply)', async () => {
    const created = await json('/api/shop/created', { method: 'POST' });
    assert.equal(created.status, 201);
    assert.equal(created.headers.get('x-shop'), 'yes');
    assert.deepEqual(created.body, { created: true });
    assert.equal((await s.fetch('/api/shop/nothing', { method: 'DELETE' })).status, 204);
    const pub = await s.admin.collection('posts').create({ title: 'public post', status: 'published' });
    const draft = await s.admin.collection('posts').create({ title: 'draft post', status: 'draft' });
    assert.equal((await s.client().send(`/api/shop/posts/${pub.id}`, {})).title, 'public post');
    assert.equal((await json(`/api/shop/posts/${draft.id}`)).status, 404, 'the view rule hides the draft from a guest');
    assert.equal((await s.admin.send(`/api/shop/posts/${draft.id}`, {})).title, 'draft post', 'superusers see it');
  });

  it('maps errors like built-in routes: AppError → its envelope, anything else → a generic 500', async () => {
    const app = await json('/api/shop/fail/app');
    assert.equal(app.status, 403);
    assert.deepEqual(app.body, { data: { day: { code: 'validation_weekend', message: 'It is the weekend.' } }, message: 'Only on weekdays.', status: 403 });
    const plain = await json('/api/shop/fail/plain');
    // A 5xx body also names the request id (docs/pocketbase-compatibility.md).
    const { requestId, ...envelope } = plain.body;
    assert.deepEqual(envelope, { data: {}, message: 'Something went wrong while processing your request.', status: 500 });
    assert.match(requestId, /^[\w-]{16}$/);
  });

  it('streams: Node streams, web streams, bytes, text and server-sent events', async () => {
    const node = await s.fetch('/api/shop/stream/node');
    assert.equal(node.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(await node.text(), 'one,two,three');
    assert.equal(await (await s.fetch('/api/shop/stream/web')).text(), 'web stream');
    const bytes = await s.fetch('/api/shop/bytes');
    assert.equal(bytes.headers.get('content-type'), 'application/octet-stream');
    assert.deepEqual([...new Uint8Array(await bytes.arrayBuffer())], [1, 2, 3, 4]);
    const text = await s.fetch('/api/shop/text');
    assert.equal(text.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(await text.text(), 'plain text');
    const started = performance.now();
    const sse = await s.fetch('/api/shop/sse');
    assert.equal(sse.headers.get('content-type'), 'text/event-stream');
    assert.equal(sse.headers.get('x-content-type-options'), 'nosniff', 'the security headers are kept');
    const body = await sse.text();
    assert.ok(performance.now() - started > TIMEOUT_MS, 'the stream outlived the request timeout');
    const events = body.split('\n\n').filter((f) => f.startsWith('id:'));
    // A handler failing after its stream opened: the stream ends (no hanging socket), what was sent stays.
    const broken = await s.fetch('/api/shop/sse-broken');
    assert.equal(broken.status, 200);
    assert.match(await broken.text(), /data:first/);
    assert.deepEqual(events, ['id:1\nevent:tick\ndata:{"n":1}', 'id:2\nevent:tick\ndata:{"n":2}', 'id:3\nevent:tick\ndata:{"n":3}']);
  });

  it('applies settings.rateLimits: the route’s tag and path rules', async () => {
    await s.admin.settings.update({
      rateLimits: {
        enabled: true,
        rules: [
          { label: 'shop:checkout', audience: '', duration: 60, maxRequests: 2 },
          { label: '/api/shop/limited', audience: '', duration: 60, maxRequests: 1 },
        ],
      },
    });
    try {
      const codes = [];
      for (let i = 0; i < 3; i++) codes.push((await s.fetch('/api/shop/checkout', { method: 'POST' })).status);
      assert.deepEqual(codes, [200, 200, 429]);
      assert.deepEqual([(await s.fetch('/api/shop/limited')).status, (await s.fetch('/api/shop/limited')).status], [200, 429]);
      assert.equal((await s.fetch('/api/shop/orders/1')).status, 200, 'other routes are not limited');
    } finally {
      await s.admin.settings.update({ rateLimits: { enabled: false } });
    }
  });

  it('refuses routes that collide with built-in routes or each other, naming both', () => {
    assert.throws(() => routes.get('/api/health', () => 1), /Custom route GET \/api\/health \(hooks\/shop\.ts\) is under the built-in prefix \/api\/health\//);
    assert.throws(() => routes.post('/api/collections/{c}/records', () => 1), /under the built-in prefix \/api\/collections\//);
    assert.throws(() => routes.get('/_/custom', () => 1), /under the built-in prefix \/_\//);
    assert.throws(
      () => routes.get('/api/{anything}', () => 1),
      /collides with the built-in route GET \/api\/(health|crons|logs|settings|collections|batch|realtime|api-keys)/,
    );
    assert.throws(() => routes.get('/{path...}', () => 1), /collides with the built-in route GET/);
    routes.source = 'hooks/other.ts';
    assert.throws(
      () => routes.get('/api/shop/orders/{orderId}', () => 1),
      /Custom route GET \/api\/shop\/orders\/\{orderId\} \(hooks\/other\.ts\) duplicates the custom route GET \/api\/shop\/orders\/\{id\} \(hooks\/shop\.ts\)/,
    );
    routes.source = 'hooks/shop.ts';
    assert.throws(() => routes.get('shop', () => 1), /must start with "\/"/);
    assert.throws(() => routes.get('/api/x/:id', () => 1), /use \{name\} for a parameter/);
    assert.throws(() => routes.get('/api/x/{a...}/b', () => 1), /must be the last segment/);
    assert.throws(() => routes.get('/api/x', () => 1, { auth: 'admins' as never }), /Invalid auth guard/);
    // Different method, same path: fine (and removed again).
    routes.put('/api/shop/orders/{id}', () => ({ put: true }));
    assert.equal(routes.remove('PUT', '/api/shop/orders/{x}'), true);
  });

  it('a registry with a colliding route stops buildServer with a clear error', async () => {
    // Reserved prefixes are refused as soon as the route is added, attached or not.
    const bad = new RouteRegistry();
    bad.source = 'hooks/bad.ts';
    assert.throws(
      () => bad.get('/api/files/{a}/{b}/{c}', () => 1),
      /Custom route GET \/api\/files\/\{a\}\/\{b\}\/\{c\} \(hooks\/bad\.ts\) is under the built-in prefix \/api\/files\//,
    );
    // An overlap with a concrete built-in route is found when the registry meets the server.
    const overlapping = new RouteRegistry();
    overlapping.source = 'hooks/bad.ts';
    overlapping.get('/api/{x}/{y}/{z}', () => 1);
    await assert.rejects(
      buildServer(s.app, { routes: overlapping }),
      /Custom route GET \/api\/\{x\}\/\{y\}\/\{z\} \(hooks\/bad\.ts\) collides with the built-in route GET \/api\/collections\//,
    );
  });

  it('replaceAll swaps the routes at runtime (dev reload); a failing generation leaves the current one serving', async () => {
    const saved = routes.list();
    try {
      const next = new RouteRegistry();
      next.get('/api/shop/orders/{id}', (c) => ({ v2: c.request.params.id }));
      next.get('/api/shop/brand-new', () => ({ fresh: true }));
      routes.replaceAll(next);
      assert.deepEqual((await json('/api/shop/orders/7')).body, { v2: '7' });
      assert.deepEqual((await json('/api/shop/brand-new')).body, { fresh: true });
      assert.equal((await json('/api/shop/public')).status, 404);
      const broken = new RouteRegistry();
      broken.get('/api/shop/ok', () => 1);
      broken.get('/api/{anything}', () => 1);
      assert.throws(() => routes.replaceAll(broken), /collides with the built-in route GET \/api\//);
      assert.deepEqual((await json('/api/shop/brand-new')).body, { fresh: true }, 'the previous generation still serves');
      routes.clear();
      assert.equal((await json('/api/shop/brand-new')).status, 404);
    } finally {
      routes.replaceAll(saved);
    }
    assert.deepEqual((await json('/api/shop/orders/new')).body, { fixed: true });
  });

  it('a handler that hangs answers 504 within the timeout; its late answer is discarded', async () => {
    const started = performance.now();
    const res = await json('/api/shop/hang');
    const ms = performance.now() - started;
    assert.equal(res.status, 504);
    assert.deepEqual({ ...res.body, requestId: undefined }, { data: {}, message: 'The request took too long.', status: 504, requestId: undefined });
    assert.ok(ms >= TIMEOUT_MS - 50 && ms < TIMEOUT_MS + 4000, `answered after ${ms} ms`);
    const short = performance.now();
    assert.equal((await json('/api/shop/hang-short')).status, 504);
    assert.ok(performance.now() - short < TIMEOUT_MS, 'the route’s own timeout applies');
    const ok = await json('/api/shop/signal-ok', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    assert.deepEqual(ok.body, { aborted: false, body: { a: 1 } }, 'a request whose body was read is not "gone"');
    assert.equal((await json('/api/shop/hang-signal')).status, 504);
    assert.equal((abortedBy as AppError | undefined)?.code, 'timeout', 'c.signal is aborted with the timeout');
    await new Promise((r) => setTimeout(r, TIMEOUT_MS * 3));
    assert.equal(lateAnswer, 'the handler finished');
    // The connection and the server are fine afterwards.
    assert.equal((await json('/api/shop/orders/1')).status, 200);
  });

  it('the SDK and built-in routes are unaffected by the dispatcher', async () => {
    const pb = s.client();
    await pb.collection('_superusers').authWithPassword(SUPERUSER_EMAIL, SUPERUSER_PASSWORD);
    assert.ok(pb.authStore.isValid);
    assert.equal((await json('/api/health')).status, 200);
    assert.equal((await json('/api/nope')).status, 404);
  });
});
