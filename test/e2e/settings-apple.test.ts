/**
 * POST /api/settings/apple/generate-client-secret through the SDK's settings.generateAppleClientSecret:
 * an ES256 JWT Apple accepts (verified here with the key's public half), PocketBase's per-field
 * validation, superusers only.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import type { ClientResponseError } from 'pocketbase';
import { startServer, type TestServer } from '../helpers/server.js';
import { postJson } from '../helpers/auth-http.js';

describe('Apple client secret (POST /api/settings/apple/generate-client-secret)', () => {
  let s: TestServer;
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  before(async () => {
    s = await startServer();
  });
  after(async () => {
    await s.close();
  });

  it("signs an ES256 JWT with Apple's claims and the key id", async () => {
    const before = Math.floor(Date.now() / 1000);
    const { secret } = await s.admin.settings.generateAppleClientSecret('com.example.web', 'TEAM123456', 'KEY1234567', pem, 3600);
    const header = decodeProtectedHeader(secret);
    assert.equal(header.alg, 'ES256');
    assert.equal(header.kid, 'KEY1234567');
    const { payload } = await jwtVerify(secret, publicKey, { audience: 'https://appleid.apple.com', issuer: 'TEAM123456', subject: 'com.example.web' });
    assert.ok((payload.iat as number) >= before - 1);
    assert.equal((payload.exp as number) - (payload.iat as number), 3600);
  });

  it('reports each invalid field as PocketBase does', async () => {
    const err = await s.admin.settings.generateAppleClientSecret('', 'short', 'KEY1234567', 'not a key', 15_777_001).then(
      () => assert.fail('accepted'),
      (e: ClientResponseError) => e,
    );
    assert.equal(err.status, 400);
    const data = err.response.data as Record<string, { code: string }>;
    assert.equal(data.clientId?.code, 'validation_required');
    assert.equal(data.teamId?.code, 'validation_length_invalid');
    assert.equal(data.keyId, undefined);
    assert.equal(data.privateKey?.code, 'validation_match_invalid');
    assert.equal(data.duration?.code, 'validation_max_less_equal_than_required');
    const blank = await postJson(s, '/api/settings/apple/generate-client-secret', {}, s.admin.authStore.token);
    assert.equal(blank.status, 400);
    assert.deepEqual(Object.keys(blank.body.data as object).sort(), ['clientId', 'duration', 'keyId', 'privateKey', 'teamId']);
    const negative = await postJson(
      s,
      '/api/settings/apple/generate-client-secret',
      { clientId: 'a', teamId: 'TEAM123456', keyId: 'KEY1234567', privateKey: pem, duration: -5 },
      s.admin.authStore.token,
    );
    assert.equal((negative.body.data as Record<string, { code: string }>).duration?.code, 'validation_min_greater_equal_than_required');
    const typed = await postJson(
      s,
      '/api/settings/apple/generate-client-secret',
      { clientId: 'a', teamId: 'TEAM123456', keyId: 'KEY1234567', privateKey: pem, duration: '60' },
      s.admin.authStore.token,
    );
    assert.equal(typed.status, 400);
  });

  it('400s a PEM that is not a P-256 key', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const res = await postJson(
      s,
      '/api/settings/apple/generate-client-secret',
      { clientId: 'a', teamId: 'TEAM123456', keyId: 'KEY1234567', privateKey: rsa, duration: 60 },
      s.admin.authStore.token,
    );
    assert.equal(res.status, 400);
    assert.equal(res.body.message, 'Failed to generate client secret.');
    const garbage = `-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----`;
    const res2 = await postJson(
      s,
      '/api/settings/apple/generate-client-secret',
      { clientId: 'a', teamId: 'TEAM123456', keyId: 'KEY1234567', privateKey: garbage, duration: 60 },
      s.admin.authStore.token,
    );
    assert.equal(res2.status, 400);
  });

  it('is for superusers only', async () => {
    const res = await postJson(s, '/api/settings/apple/generate-client-secret', {
      clientId: 'a',
      teamId: 'TEAM123456',
      keyId: 'KEY1234567',
      privateKey: pem,
      duration: 60,
    });
    assert.equal(res.status, 401);
  });
});
