/**
 * API keys: created by superusers, shown once, stored hashed, scoped to collections and actions, refused
 * outside the records API, revocable and expiring.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { sql } from '../../src/db/sql.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { getJson, login, postJson, signUp } from '../helpers/auth-http.js';

let s: TestServer;

async function createKey(body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await postJson(s, '/api/api-keys', body, s.admin.authStore.token);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

async function send(method: string, path: string, key: string, body?: unknown): Promise<number> {
  const res = await s.fetch(path, {
    method,
    headers: { authorization: key, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  await res.arrayBuffer();
  return res.status;
}

describe('API keys', () => {
  before(async () => {
    s = await startServer();
    // Locked collections: only superusers (or a key) get in.
    await s.admin.collections.create({ name: 'orders', type: 'base', fields: [{ name: 'total', type: 'number' }] });
    await s.admin.collections.create({ name: 'secrets', type: 'base', fields: [{ name: 'value', type: 'text' }] });
  });
  after(async () => {
    await s.close();
  });

  it('superusers create keys; the key is shown once and only its hash is stored', async () => {
    assert.equal((await postJson(s, '/api/api-keys', { name: 'x', scopes: ['orders:list'] })).status, 401);
    await signUp(s, 'user@example.com');
    const user = await login(s, 'user@example.com');
    assert.equal((await postJson(s, '/api/api-keys', { name: 'x', scopes: ['orders:list'] }, user.authStore.token)).status, 403);
    const created = await createKey({ name: 'billing sync', scopes: ['orders:list', 'orders:view'] });
    const key = String(created.key);
    assert.match(key, /^plk_[a-z0-9]{15}_[A-Za-z0-9]{40}$/);
    const list = await getJson(s, '/api/api-keys', s.admin.authStore.token);
    const entry = (list.body as unknown as Array<Record<string, unknown>>).find((k) => k.id === created.id)!;
    assert.deepEqual(Object.keys(entry).sort(), ['created', 'expires', 'id', 'lastUsed', 'name', 'scopes']);
    const row = await s.app.db.get<{ hash: string }>(sql`SELECT hash FROM "_apiKeys" WHERE id = ${String(created.id)}`);
    assert.equal(row?.hash, createHash('sha256').update(key).digest('hex'));
    const all = JSON.stringify(await s.app.db.all(sql`SELECT * FROM "_apiKeys"`));
    assert.ok(!all.includes(key.slice(20)), 'the secret is nowhere in the table');
  });

  it('validates names, scopes and durations', async () => {
    const admin = s.admin.authStore.token;
    for (const body of [
      { scopes: ['orders:list'] },
      { name: 'x', scopes: [] },
      { name: 'x', scopes: ['orders:fly'] },
      { name: 'x', scopes: ['missing:list'] },
      { name: 'x', scopes: 'orders:list' },
      { name: 'x', scopes: [{}] },
      { name: 'x', scopes: ['orders:list'], duration: -1 },
      { name: {}, scopes: ['orders:list'] },
    ]) {
      assert.equal((await postJson(s, '/api/api-keys', body, admin)).status, 400, JSON.stringify(body));
    }
  });

  it('a key acts only within its scopes, on the records API only', async () => {
    const order = await s.admin.collection('orders').create({ total: 12 });
    const secret = await s.admin.collection('secrets').create({ value: 'x' });
    const key = String((await createKey({ name: 'reader', scopes: ['orders:list', 'orders:view'] })).key);
    assert.equal(await send('GET', '/api/collections/orders/records', key), 200, 'list (rule bypassed: the collection is locked)');
    assert.equal(await send('GET', `/api/collections/orders/records/${order.id}`, key), 200);
    assert.equal(await send('GET', `/api/collections/${(await s.admin.collections.getOne('orders')).id}/records`, key), 200, 'by collection id too');
    assert.equal(await send('GET', `/api/collections/orders/records/${order.id}`, `Bearer ${key}`), 200);
    assert.equal(await send('POST', '/api/collections/orders/records', key, { total: 1 }), 403);
    assert.equal(await send('PATCH', `/api/collections/orders/records/${order.id}`, key, { total: 1 }), 403);
    assert.equal(await send('DELETE', `/api/collections/orders/records/${order.id}`, key), 403);
    assert.equal(await send('GET', '/api/collections/secrets/records', key), 403);
    assert.equal(await send('GET', `/api/collections/secrets/records/${secret.id}`, key), 403);
    for (const path of ['/api/settings', '/api/collections', '/api/api-keys', '/api/logs']) {
      assert.equal(await send('GET', path, key), 403, path);
    }
    assert.equal(await send('POST', '/api/collections/users/auth-refresh', key), 403);
    assert.equal(await send('POST', '/api/batch', key, { requests: [] }), 403);

    const writer = String((await createKey({ name: 'writer', scopes: ['orders:*'] })).key);
    assert.equal(await send('POST', '/api/collections/orders/records', writer, { total: 5 }), 200);
    const all = String((await createKey({ name: 'all', scopes: ['*:list'] })).key);
    assert.equal(await send('GET', '/api/collections/secrets/records', all), 200);
    assert.equal(await send('GET', `/api/collections/secrets/records/${secret.id}`, all), 403);
    const everything = String((await createKey({ name: 'everything', scopes: ['*:*'] })).key);
    assert.equal(await send('GET', '/api/collections/orders/records', everything), 200);
    assert.equal(await send('GET', '/api/collections/_superusers/records', everything), 403, '* never covers system collections');
    assert.equal(
      await send('POST', '/api/collections/_superusers/records', everything, {
        email: 'x@example.com',
        password: 'password123',
        passwordConfirm: 'password123',
      }),
      403,
    );
    const named = String((await createKey({ name: 'named', scopes: ['_superusers:list'] })).key);
    assert.equal(await send('GET', '/api/collections/_superusers/records', named), 200, 'system collections can be granted by name');
  });

  it('unknown, tampered, revoked and expired keys are 401', async () => {
    const created = await createKey({ name: 'temp', scopes: ['orders:list'] });
    const key = String(created.key);
    const tampered = `${key.slice(0, -1)}${key.endsWith('a') ? 'b' : 'a'}`;
    assert.equal(await send('GET', '/api/collections/orders/records', tampered), 401);
    assert.equal(await send('GET', '/api/collections/orders/records', 'plk_nope'), 401);
    assert.equal(await send('GET', '/api/collections/orders/records', key), 200);
    const del = await s.fetch(`/api/api-keys/${String(created.id)}`, { method: 'DELETE', headers: { authorization: s.admin.authStore.token } });
    assert.equal(del.status, 204);
    assert.equal(await send('GET', '/api/collections/orders/records', key), 401, 'revoked at once');
    assert.equal((await s.fetch(`/api/api-keys/${String(created.id)}`, { method: 'DELETE', headers: { authorization: s.admin.authStore.token } })).status, 404);

    const short = await createKey({ name: 'short-lived', scopes: ['orders:list'], duration: 1 });
    assert.ok(short.expires);
    assert.equal(await send('GET', '/api/collections/orders/records', String(short.key)), 200);
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal(await send('GET', '/api/collections/orders/records', String(short.key)), 401);
  });
});
