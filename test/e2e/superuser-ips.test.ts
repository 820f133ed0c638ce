/**
 * settings.superuserIPs (PocketBase's superuser IP allowlist): when it lists anything, superuser tokens and
 * API keys only work from those addresses or subnets, superusers can only sign in from them, and a
 * superuser's file token from elsewhere counts for nothing. Everyone else is unaffected. Client addresses
 * come from X-Forwarded-For here, through settings.trustedProxy, so the test can act from several places.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SUPERUSER_EMAIL, SUPERUSER_PASSWORD, startServer, type TestServer } from '../helpers/server.js';
import { postJson } from '../helpers/auth-http.js';

const INSIDE = '203.0.113.9';
const OUTSIDE = '198.51.100.7';

describe('superuser IP allowlist', () => {
  let s: TestServer;
  let record: { id: string; collectionId: string; collectionName: string; file: string };

  const from = (ip: string, token = s.admin.authStore.token): Record<string, string> => ({
    'x-forwarded-for': ip,
    ...(token ? { authorization: token } : {}),
  });
  const status = async (path: string, headers: Record<string, string>, init: RequestInit = {}): Promise<number> => {
    const res = await s.fetch(path, { ...init, headers: { ...headers, ...(init.headers as Record<string, string> | undefined) } });
    await res.arrayBuffer();
    return res.status;
  };

  before(async () => {
    s = await startServer();
    await s.admin.collections.create({
      name: 'vault',
      type: 'base',
      fields: [{ name: 'file', type: 'file', maxSelect: 1, protected: true }],
      listRule: '',
      viewRule: null,
      createRule: '',
    });
    record = await s.admin.collection('vault').create({ file: new File(['classified'], 'c.txt', { type: 'text/plain' }) });
    await s.admin.collection('users').create({ email: 'pat@example.com', password: 'password-123', passwordConfirm: 'password-123' });
    // The test's own admin client connects from loopback without the header, so it stays allowed.
    await s.admin.settings.update({
      trustedProxy: { headers: ['X-Forwarded-For'], useLeftmostIP: true },
      superuserIPs: ['127.0.0.1', '::1', '203.0.113.0/24'],
      rateLimits: { enabled: false },
    });
  });
  after(async () => {
    await s?.close();
  });

  it('refuses entries that are not addresses or subnets, naming the field', async () => {
    for (const bad of [['not-an-ip'], ['10.0.0.0/33'], ['10.0.0.1/8/2'], ['fe80::1/129']]) {
      const res = await s.fetch('/api/settings', {
        method: 'PATCH',
        headers: { authorization: s.admin.authStore.token, 'content-type': 'application/json' },
        body: JSON.stringify({ superuserIPs: bad }),
      });
      const body = (await res.json()) as { data: Record<string, { code: string }> };
      assert.equal(res.status, 400, JSON.stringify(bad));
      assert.equal(body.data.superuserIPs?.code, 'validation_invalid_value');
    }
    const settings = (await s.admin.settings.getAll()) as { superuserIPs: string[] };
    assert.deepEqual(settings.superuserIPs, ['127.0.0.1', '::1', '203.0.113.0/24'], 'a refused update changes nothing');
  });

  it("refuses a list that leaves out the saving superuser's own address", async () => {
    const res = await s.fetch('/api/settings', {
      method: 'PATCH',
      headers: { ...from(INSIDE), 'content-type': 'application/json' },
      body: JSON.stringify({ superuserIPs: ['198.51.100.0/24'] }),
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { data: Record<string, { message: string }> };
    assert.match(body.data.superuserIPs?.message ?? '', /must include your current address \(203\.0\.113\.9\)/);
    const settings = (await s.admin.settings.getAll()) as { superuserIPs: string[] };
    assert.deepEqual(settings.superuserIPs, ['127.0.0.1', '::1', '203.0.113.0/24']);
  });

  it('answers 403 to a superuser token from outside the list, and serves it from inside', async () => {
    const res = await s.fetch('/api/collections', { headers: from(OUTSIDE) });
    assert.equal(res.status, 403);
    assert.deepEqual(await res.json(), { data: {}, message: 'Superuser access from this IP address is not allowed.', status: 403 });
    assert.equal(await status('/api/collections', from(INSIDE)), 200);
    assert.equal(await status('/api/collections/vault/records', from(OUTSIDE)), 403, 'the records API too');
  });

  it('leaves guests and ordinary users alone wherever they are', async () => {
    assert.equal(await status('/api/collections/vault/records', from(OUTSIDE, '')), 200);
    const login = await postJson(
      s,
      '/api/collections/users/auth-with-password',
      { identity: 'pat@example.com', password: 'password-123' },
      undefined,
      from(OUTSIDE, ''),
    );
    assert.equal(login.status, 200);
    assert.equal(await status('/api/collections/vault/records', from(OUTSIDE, String(login.body.token))), 200);
  });

  it('refuses superuser sign-in from outside the list', async () => {
    const body = { identity: SUPERUSER_EMAIL, password: SUPERUSER_PASSWORD };
    const outside = await postJson(s, '/api/collections/_superusers/auth-with-password', body, undefined, from(OUTSIDE, ''));
    assert.equal(outside.status, 403);
    assert.equal(outside.body.token, undefined);
    const inside = await postJson(s, '/api/collections/_superusers/auth-with-password', body, undefined, from(INSIDE, ''));
    assert.equal(inside.status, 200);
    assert.equal(typeof inside.body.token, 'string');
  });

  it('refuses API keys (superuser powers) from outside the list', async () => {
    const created = await postJson(s, '/api/api-keys', { name: 'ci', scopes: ['vault:list'] }, s.admin.authStore.token);
    assert.equal(created.status, 200);
    const key = String(created.body.key);
    assert.equal(await status('/api/collections/vault/records', from(OUTSIDE, key)), 403);
    assert.equal(await status('/api/collections/vault/records', from(INSIDE, key)), 200);
  });

  it("ignores a superuser's file token from outside the list", async () => {
    const token = await s.admin.files.getToken();
    const path = `/api/files/${record.collectionId}/${record.id}/${record.file}?token=${encodeURIComponent(token)}`;
    assert.equal(await status(path, from(OUTSIDE, '')), 404);
    const inside = await s.fetch(path, { headers: from(INSIDE, '') });
    assert.equal(inside.status, 200);
    assert.equal(await inside.text(), 'classified');
  });

  it('allows every address again once the list is emptied', async () => {
    await s.admin.settings.update({ superuserIPs: [] });
    assert.equal(await status('/api/collections', from(OUTSIDE)), 200);
  });
});
