/**
 * settings.rateLimits and settings.trustedProxy: PocketBase's rule format, 429 when exceeded, and client IPs
 * taken from proxy headers only when the operator configured them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultSettings } from '../../src/settings/index.js';
import { startServer, type TestServer } from '../helpers/server.js';

describe('rate limits', () => {
  let s: TestServer;

  before(async () => {
    s = await startServer();
    await s.admin.collections.create({ name: 'notes', type: 'base', fields: [{ name: 't', type: 'text' }], listRule: '', createRule: '' });
  });
  after(async () => {
    await s.close();
  });

  const login = (headers: Record<string, string> = {}) =>
    s.fetch('/api/collections/users/auth-with-password', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ identity: 'nobody@example.com', password: 'whatever-123' }),
    });

  it('ships with auth rate limiting on', () => {
    const d = defaultSettings().rateLimits;
    assert.equal(d.enabled, true);
    assert.ok(d.rules.some((r) => r.label === '*:auth'));
  });

  it('answers 429 in the PocketBase envelope once an auth rule is exceeded, and ignores a spoofed X-Forwarded-For', async () => {
    await s.admin.settings.update({ rateLimits: { enabled: true, rules: [{ label: '*:auth', audience: '', duration: 30, maxRequests: 3 }] } });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await login({ 'X-Forwarded-For': `10.0.0.${i}` })).status);
    assert.deepEqual(statuses, [400, 400, 400, 429, 429]);
    const body = (await (await login()).json()) as Record<string, unknown>;
    assert.deepEqual(body, { data: {}, message: 'Too Many Requests.', status: 429 });
  });

  it('uses proxy headers only when trustedProxy names them', async () => {
    await s.admin.settings.update({
      rateLimits: { enabled: true, rules: [{ label: '*:auth', audience: '', duration: 30, maxRequests: 1 }] },
      trustedProxy: { headers: ['X-Forwarded-For'], useLeftmostIP: true },
    });
    assert.equal((await login({ 'X-Forwarded-For': '203.0.113.1' })).status, 400);
    assert.equal((await login({ 'X-Forwarded-For': '203.0.113.1' })).status, 429);
    assert.equal((await login({ 'X-Forwarded-For': '203.0.113.2, 10.0.0.1' })).status, 400, 'another client behind the proxy has its own budget');
    await s.admin.settings.update({ trustedProxy: { headers: [], useLeftmostIP: false } });
  });

  it('applies path rules by specificity and tag rules per collection and action', async () => {
    await s.admin.settings.update({
      rateLimits: {
        enabled: true,
        rules: [
          { label: '/api/', audience: '', duration: 30, maxRequests: 1000 },
          { label: 'GET /api/health', audience: '', duration: 30, maxRequests: 2 },
          { label: 'notes:create', audience: '@guest', duration: 30, maxRequests: 2 },
        ],
      },
    });
    const health = [];
    for (let i = 0; i < 3; i++) health.push((await s.fetch('/api/health')).status);
    assert.deepEqual(health, [200, 200, 429]);
    const create = () => s.fetch('/api/collections/notes/records', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"t":"x"}' });
    assert.deepEqual([(await create()).status, (await create()).status, (await create()).status], [200, 200, 429]);
    const asAdmin = await s.admin.collection('notes').create({ t: 'admin is not a guest' });
    assert.ok(asAdmin.id);
    assert.equal((await s.fetch('/api/collections/notes/records')).status, 200, 'other actions are not limited by the create rule');
  });

  it('never limits excludedIPs, given as addresses or subnets, and refuses entries that are neither', async () => {
    await s.admin.settings.update({
      rateLimits: { enabled: true, excludedIPs: ['203.0.113.0/24'], rules: [{ label: '*:auth', audience: '', duration: 30, maxRequests: 1 }] },
      trustedProxy: { headers: ['X-Forwarded-For'], useLeftmostIP: true },
    });
    const excluded = [];
    for (let i = 0; i < 3; i++) excluded.push((await login({ 'X-Forwarded-For': `203.0.113.${i + 1}` })).status);
    assert.deepEqual(excluded, [400, 400, 400]);
    assert.deepEqual([(await login({ 'X-Forwarded-For': '198.51.100.1' })).status, (await login({ 'X-Forwarded-For': '198.51.100.1' })).status], [400, 429]);

    const res = await s.fetch('/api/settings', {
      method: 'PATCH',
      headers: { authorization: s.admin.authStore.token, 'content-type': 'application/json' },
      body: JSON.stringify({ rateLimits: { excludedIPs: ['office-router'] } }),
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { data: { rateLimits?: { excludedIPs?: { message: string } } } };
    assert.match(body.data.rateLimits?.excludedIPs?.message ?? '', /"office-router" is not an IP address or subnet/);
    await s.admin.settings.update({ rateLimits: { excludedIPs: [] }, trustedProxy: { headers: [], useLeftmostIP: false } });
  });

  it('turns off completely when disabled', async () => {
    await s.admin.settings.update({ rateLimits: { enabled: false } });
    for (let i = 0; i < 5; i++) assert.equal((await s.fetch('/api/health')).status, 200);
  });
});
