/**
 * What a superuser learns about the running instance, and what the log says only once:
 * `GET /api/health` (PocketBase's canBackup/realIP/possibleProxyHeader, Plinth's smtpConfigured),
 * `GET /api/plinth/migrations`, the untrusted-proxy warning, and no per-request warnings while mail is off.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pino } from 'pino';
import { startServer, type TestServer } from '../helpers/server.js';
import { getJson, login, postJson, signUp } from '../helpers/auth-http.js';

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

let s: TestServer;
const logs: LogLine[] = [];
const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
const warnings = () => logs.filter((l) => l.level >= 40);

async function health(headers: Record<string, string> = {}, token: string | undefined = s.admin.authStore.token) {
  const res = await s.fetch('/api/health', { headers: { ...headers, ...(token ? { authorization: token } : {}) } });
  assert.equal(res.status, 200);
  return (await res.json()) as { code: number; message: string; data: Record<string, unknown> };
}

describe('instance status for superusers', () => {
  before(async () => {
    s = await startServer({ logger });
  });
  after(async () => {
    await s.close();
  });

  it('GET /api/health: an empty data object for guests and users; PocketBase’s fields plus smtpConfigured for superusers', async () => {
    const guest = await health({}, '');
    assert.deepEqual(guest, { code: 200, message: 'API is healthy.', data: {} });
    await signUp(s, 'plain@example.com');
    const user = await login(s, 'plain@example.com');
    assert.deepEqual((await health({}, user.authStore.token)).data, {});
    const su = await health();
    assert.deepEqual(su.data, { canBackup: true, realIP: '127.0.0.1', possibleProxyHeader: '', smtpConfigured: false });
    await s.app.settings.update({ smtp: { enabled: true, host: '127.0.0.1', port: 2525 } });
    try {
      assert.equal((await health()).data.smtpConfigured, true);
    } finally {
      await s.app.settings.update({ smtp: { enabled: false } });
    }
  });

  it('no warning per login, verification, reset or OTP request while SMTP is off; new login origins are still recorded', async () => {
    await s.admin.collections.update('users', { otp: { enabled: true }, authAlert: { enabled: true } });
    const id = await signUp(s, 'quiet@example.com');
    const signIn = (ua: string) =>
      postJson(s, '/api/collections/users/auth-with-password', { identity: 'quiet@example.com', password: 'password123' }, undefined, { 'user-agent': ua });
    assert.equal((await signIn('browser A')).status, 200);
    assert.equal((await signIn('browser B')).status, 200, 'a login from a new origin, which would send an alert mail');
    assert.equal((await postJson(s, '/api/collections/users/request-verification', { email: 'quiet@example.com' })).status, 204);
    assert.equal((await postJson(s, '/api/collections/users/request-password-reset', { email: 'quiet@example.com' })).status, 204);
    const otp = await postJson(s, '/api/collections/users/request-otp', { email: 'quiet@example.com' });
    assert.equal(otp.status, 200);
    await s.app.auth.settled();
    assert.deepEqual(warnings(), [], 'nothing at WARN or above');
    const origins = await s.admin.collection('_authOrigins').getFullList({ filter: `recordRef = "${id}"` });
    assert.equal(origins.length, 2, 'both origins remembered');
    const otps = await s.admin.collection('_otps').getFullList({ filter: `recordRef = "${id}"` });
    assert.equal(otps.length, 0, 'no OTP nobody can receive');
  });

  it('proxy headers from an untrusted peer: one log warning naming the header and the setting; health shows the header and the real peer', async () => {
    for (let i = 0; i < 3; i++) await health();
    assert.equal(warnings().length, 0, 'no proxy headers, no warning');
    const seen = await health({ 'x-forwarded-for': '203.0.113.7' });
    assert.equal(seen.data.possibleProxyHeader, 'X-Forwarded-For');
    assert.equal(seen.data.realIP, '127.0.0.1', 'untrusted: the socket peer');
    for (let i = 0; i < 5; i++) await s.fetch('/api/health', { headers: { 'x-real-ip': '203.0.113.8', 'x-forwarded-for': '203.0.113.8' } });
    const proxyWarnings = warnings().filter((l) => /trustedProxy/.test(l.msg));
    assert.equal(proxyWarnings.length, 1, 'said once');
    assert.match(proxyWarnings[0]!.msg, /X-Forwarded-For/);
    assert.match(proxyWarnings[0]!.msg, /settings\.trustedProxy\.headers/);
    assert.equal(proxyWarnings[0]!.peer, '127.0.0.1');

    await s.app.settings.update({ trustedProxy: { headers: ['X-Real-IP'], useLeftmostIP: false } });
    try {
      const trusted = await health({ 'x-real-ip': '198.51.100.4', 'x-forwarded-for': '10.0.0.1' });
      assert.equal(trusted.data.realIP, '198.51.100.4', 'the trusted header gives the client address');
      assert.equal(trusted.data.possibleProxyHeader, 'X-Real-IP', 'trusted headers are checked first (PocketBase)');
    } finally {
      await s.app.settings.update({ trustedProxy: { headers: [], useLeftmostIP: false } });
    }
  });

  it('start-up stays light: Fastify’s schema compiler (ajv) is not loaded, as no route declares a schema', () => {
    const loaded = Object.keys(createRequire(import.meta.url).cache).filter((k) => /ajv-compiler|fast-json-stringify-compiler|[\\/]ajv[\\/]/.test(k));
    assert.deepEqual(loaded, []);
  });

  it('GET /api/plinth/migrations: 401 for guests, 403 for users; the folder, applied migrations (datetimes) and pending files for superusers', async () => {
    assert.equal((await getJson(s, '/api/plinth/migrations')).status, 401);
    await signUp(s, 'nosy@example.com');
    const user = await login(s, 'nosy@example.com');
    assert.equal((await getJson(s, '/api/plinth/migrations', user.authStore.token)).status, 403);

    await s.admin.collections.create({ name: 'status_made', type: 'base', fields: [{ name: 'x', type: 'text' }] }); // automigrate writes + applies
    const dir = join(s.dir, 'migrations');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, '9999999999000_not_yet.js'), 'export async function up() {}\nexport async function down() {}\n');
    const res = await getJson(s, '/api/plinth/migrations', s.admin.authStore.token);
    assert.equal(res.status, 200);
    const body = res.body as { dir: string; applied: { file: string; applied: string }[]; pending: string[] };
    assert.deepEqual(Object.keys(body).sort(), ['applied', 'dir', 'pending']);
    assert.equal(body.dir, dir);
    const made = body.applied.find((a) => a.file.endsWith('_created_status_made.js'));
    assert.ok(made, JSON.stringify(body.applied));
    assert.deepEqual(Object.keys(made).sort(), ['applied', 'file']);
    assert.match(made.applied, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(Math.abs(Date.parse(made.applied.replace(' ', 'T')) - Date.now()) < 60_000);
    assert.deepEqual(body.pending, ['9999999999000_not_yet.js']);
  });
});
