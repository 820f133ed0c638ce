/**
 * Bad input of every kind gets a clear 4xx in PocketBase's envelope: never a 500, a hang or lost data.
 * Covers the filter/identifier injection classes of the threat model (§1a) and the body attacks (§4).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { startServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
let adminToken: string;
let userToken: string;

async function expect4xx(res: Response, status?: number): Promise<Record<string, unknown>> {
  const text = await res.text();
  assert.ok(res.status >= 400 && res.status < 500, `expected 4xx, got ${res.status}: ${text.slice(0, 300)}`);
  if (status) assert.equal(res.status, status, text.slice(0, 300));
  const body = JSON.parse(text) as Record<string, unknown>;
  assert.deepEqual(Object.keys(body).sort(), ['data', 'message', 'status']);
  assert.equal(typeof body.message, 'string');
  assert.ok((body.message as string).length > 0);
  return body;
}

describe('bad input', () => {
  before(async () => {
    s = await startServer({ bodyLimit: 1024 * 1024 });
    adminToken = s.admin.authStore.token;
    await s.admin.collections.create({
      name: 'items',
      type: 'base',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'count', type: 'number' },
        { name: 'meta', type: 'json' },
        { name: 'secret', type: 'text', hidden: true },
      ],
      listRule: '',
      viewRule: '',
      createRule: '',
      updateRule: '',
    });
    for (let i = 0; i < 5; i++) await s.admin.collection('items').create({ title: `item ${i}`, count: i, meta: { a: i }, secret: `s3cr3t-${i}` });
    const pb = s.client();
    await pb.collection('users').create({ email: 'eve@example.com', password: 'password123', passwordConfirm: 'password123' });
    await pb.collection('users').authWithPassword('eve@example.com', 'password123');
    userToken = pb.authStore.token;
  });

  after(async () => {
    await s.close();
  });

  const json = (body: string, headers: Record<string, string> = {}) => ({
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });

  describe('malformed and mistyped bodies', () => {
    it('malformed JSON is a 400', async () => {
      for (const body of ['{', '{"title": }', '[1,2', '"unterminated', '{"a":1}}']) {
        await expect4xx(await s.fetch('/api/collections/items/records', json(body)), 400);
      }
    });

    it('wrong types are 400 with field errors, and nothing is stored', async () => {
      const before = (await s.admin.collection('items').getList(1, 1)).totalItems;
      const cases = [{ title: { $gt: '' } }, { title: ['a'] }, { count: 'abc' }, { count: { $ne: 1 } }, { count: '12abc' }];
      for (const c of cases) {
        const body = await expect4xx(await s.fetch('/api/collections/items/records', json(JSON.stringify(c))), 400);
        assert.ok(Object.keys(body.data as object).length > 0, JSON.stringify(c));
      }
      assert.equal((await s.admin.collection('items').getList(1, 1)).totalItems, before);
    });

    it('__proto__ and constructor keys are refused at any depth and pollute nothing', async () => {
      for (const body of [
        '{"__proto__": {"polluted": 1}}',
        '{"meta": {"a": {"constructor": {"prototype": {"polluted": 1}}}}}',
        '{"meta": [{"__proto__": {"x": 1}}]}',
      ]) {
        await expect4xx(await s.fetch('/api/collections/items/records', json(body)), 400);
      }
      const form = await s.fetch('/api/collections/items/records', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: '__proto__[polluted]=1&title=x',
      });
      await expect4xx(form, 400);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });

    it('bodies over the limit are 413', async () => {
      const big = JSON.stringify({ title: 'x'.repeat(2 * 1024 * 1024) });
      await expect4xx(await s.fetch('/api/collections/items/records', json(big)), 413);
    });

    it('an unknown content type with a body is 415', async () => {
      await expect4xx(await s.fetch('/api/collections/items/records', { method: 'POST', headers: { 'content-type': 'text/csv' }, body: 'a,b' }), 415);
    });

    it('an endless chunked body stops at the limit with 413', async () => {
      const url = new URL(s.url);
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(
          {
            host: url.hostname,
            port: url.port,
            path: '/api/collections/items/records',
            method: 'POST',
            headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
            req.destroy();
          },
        );
        req.on('error', (e) => (e.message.includes('EPIPE') || e.message.includes('ECONNRESET') ? undefined : reject(e)));
        const chunk = Buffer.alloc(64 * 1024, 'a');
        let sent = 0;
        const pump = () => {
          while (sent < 64 * 1024 * 1024 && !req.destroyed) {
            sent += chunk.length;
            if (!req.write(chunk)) return req.once('drain', pump);
          }
          return undefined;
        };
        req.write('{"title":"');
        pump();
      });
      assert.equal(status, 413);
    });
  });

  describe('injection in every place a value or identifier goes', () => {
    const filters = [
      "title = 'x' || 1=1",
      "title = ''; DROP TABLE items; --'",
      "title = '\\'' OR '1'='1",
      'title = "a\\" OR 1=1 --"',
      'title = "x" && (SELECT 1) = 1',
      "t1.password = 'a'",
      "sqlite_master.sql ~ 'CREATE'",
      "meta.a'b = 1",
      'meta.a"b = 1',
      'title` = 1',
      'title\u2019 = 1',
      "title = x'y",
      "title ~ '%' && title = 'a",
    ];

    it('filters are parameterised or rejected with 400, never a 500', async () => {
      for (const f of filters) {
        const res = await s.fetch(`/api/collections/items/records?filter=${encodeURIComponent(f)}`);
        if (res.status === 200) {
          const body = (await res.json()) as { items: unknown[] };
          assert.ok(Array.isArray(body.items), f);
        } else {
          await expect4xx(res, 400);
        }
      }
      assert.equal((await s.admin.collection('items').getList(1, 1)).totalItems >= 5, true, 'the table is still there');
    });

    it('sort, fields and expand reject or ignore unknown identifiers', async () => {
      for (const sort of ['title;DROP TABLE items', 'sqlite_master.sql', '(SELECT 1)', 'title desc', '-', 'a,b,c,d,e,f,g,h,i']) {
        await expect4xx(await s.fetch(`/api/collections/items/records?sort=${encodeURIComponent(sort)}`), 400);
      }
      for (const fields of ['title;DROP', "id,title'", '*,expand.x.y']) {
        const res = await s.fetch(`/api/collections/items/records?fields=${encodeURIComponent(fields)}`);
        assert.ok(res.status === 200 || (res.status >= 400 && res.status < 500), `fields=${fields} → ${res.status}`);
      }
      for (const expand of ['title;DROP', "x'y", 'a.b.c.d.e.f.g.h', '__proto__']) {
        const res = await s.fetch(`/api/collections/items/records?expand=${encodeURIComponent(expand)}`);
        assert.equal(res.status, 200, `expand=${expand}`);
      }
    });

    it('collection names and record ids are looked up, never interpolated', async () => {
      for (const name of ['items;DROP TABLE items', "items'", 'sqlite_master', '_params', '..%2F..%2Fetc', 'nope']) {
        await expect4xx(await s.fetch(`/api/collections/${encodeURIComponent(name)}/records`), 404);
      }
      for (const id of ["x' OR '1'='1", '1;DROP TABLE items', '%00', 'a'.repeat(300)]) {
        await expect4xx(await s.fetch(`/api/collections/items/records/${encodeURIComponent(id)}`), 404);
      }
    });

    it('time-based payloads finish fast', async () => {
      const started = Date.now();
      await s.fetch(`/api/collections/items/records?filter=${encodeURIComponent("title = 'A'';SELECT PG_SLEEP(3);--'")}`);
      assert.ok(Date.now() - started < 1000);
    });
  });

  describe('limits', () => {
    it('10,000 nested parentheses answer 400 fast', async () => {
      const f = '('.repeat(10_000) + "title = 'x'" + ')'.repeat(10_000);
      const started = Date.now();
      const res = await s.fetch(`/api/collections/items/records?filter=${encodeURIComponent(f)}`);
      await expect4xx(res, 400);
      assert.ok(Date.now() - started < 1000);
    });

    it('over-long filters and too many expressions are 400', async () => {
      await expect4xx(await s.fetch(`/api/collections/items/records?filter=${encodeURIComponent(`title = '${'a'.repeat(4000)}'`)}`), 400);
      const many = Array.from({ length: 250 }, (_, i) => `count = ${i}`).join(' || ');
      await expect4xx(await s.fetch(`/api/collections/items/records?filter=${encodeURIComponent(many)}`), 400);
    });
  });

  describe('hidden fields and privileged filters', () => {
    it('non-superusers cannot filter or sort by hidden fields (400, never a different count)', async () => {
      for (const token of ['', userToken]) {
        const headers: Record<string, string> = token ? { Authorization: token } : {};
        const res = await s.fetch(`/api/collections/items/records?filter=${encodeURIComponent("secret ~ 's3cr3t'")}`, { headers });
        await expect4xx(res, 400);
        const res2 = await s.fetch(`/api/collections/items/records?sort=secret`, { headers });
        await expect4xx(res2, 400);
        const unknown = await s.fetch(`/api/collections/items/records?filter=${encodeURIComponent("nosuchfield ~ 's'")}`, { headers });
        const a = (await expect4xx(await s.fetch(`/api/collections/items/records?filter=${encodeURIComponent("secret ~ 's'")}`, { headers }))).message;
        const b = (await expect4xx(unknown)).message;
        assert.equal(a, b, 'a hidden field looks exactly like an unknown one');
      }
      const res = await s.fetch(`/api/collections/items/records?filter=${encodeURIComponent("secret ~ 's3cr3t'")}`, { headers: { Authorization: adminToken } });
      assert.equal(res.status, 200);
    });

    it('password and tokenKey cannot be filtered by users', async () => {
      for (const f of ["password ~ '$argon'", "tokenKey != ''"]) {
        await expect4xx(await s.fetch(`/api/collections/users/records?filter=${encodeURIComponent(f)}`, { headers: { Authorization: userToken } }), 400);
      }
    });

    it('@collection and @request in client filters are 403 for non-superusers', async () => {
      for (const f of ["@collection.users.email ?~ 'a'", "@request.auth.id != ''"]) {
        await expect4xx(await s.fetch(`/api/collections/items/records?filter=${encodeURIComponent(f)}`, { headers: { Authorization: userToken } }), 403);
      }
      const res = await s.fetch(`/api/collections/items/records?filter=${encodeURIComponent("@request.auth.id != ''")}`, {
        headers: { Authorization: adminToken },
      });
      assert.equal(res.status, 200);
    });

    it('unknown and forbidden collections look the same (404)', async () => {
      const a = await s.fetch('/api/collections/_superusers/records/abc', { headers: { Authorization: userToken } });
      const b = await s.fetch('/api/collections/doesnotexist/records/abc', { headers: { Authorization: userToken } });
      const c = await s.fetch('/api/collections/items/records/nosuchrecord12', { headers: { Authorization: userToken } });
      assert.equal(b.status, 404);
      assert.deepEqual(await b.json(), await c.json(), 'an unknown collection answers exactly like a hidden or missing record');
      assert.ok(a.status === 403 || a.status === 404);
    });
  });

  describe('settings and health', () => {
    it('health is public', async () => {
      const res = await s.fetch('/api/health');
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { code: 200, message: 'API is healthy.', data: {} });
    });

    it('settings redact secrets and reject unknown keys and wrong types', async () => {
      const updated = await s.admin.settings.update({ meta: { appName: 'Acme' }, smtp: { password: 'hunter2' } });
      assert.equal(updated.meta.appName, 'Acme');
      assert.equal(JSON.stringify(updated).includes('hunter2'), false);
      assert.equal(JSON.stringify(await s.admin.settings.getAll()).includes('hunter2'), false);
      const bad = await s.fetch('/api/settings', {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', Authorization: adminToken },
        body: JSON.stringify({ meta: { appName: 5 }, nope: 1 }),
      });
      const body = await expect4xx(bad, 400);
      assert.ok('nope' in (body.data as object));
      const badS3 = await s.fetch('/api/settings', {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', Authorization: adminToken },
        body: JSON.stringify({ s3: { endpoint: 'not a url' } }),
      });
      const s3Body = await expect4xx(badS3, 400);
      assert.equal((s3Body.data as Record<string, Record<string, { code: string }>>).s3?.endpoint?.code, 'validation_invalid_url');
      assert.equal(s.app.settings.get().meta.appName, 'Acme');
    });
  });
});
