/**
 * The JWT attack suite: every forged, altered, mistyped, expired or orphaned token must be a guest on
 * public routes and a 401 where auth is required. Forgeries are made with the real key where the attack
 * needs it (algorithm swap, expiry), to prove the check itself and not the key.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair, SignJWT } from 'jose';
import { issueToken } from '../../src/auth/tokens.js';
import type { AuthCollection } from '../../src/collections/model.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { getJson, jwtPayload, login, postJson, signUp } from '../helpers/auth-http.js';

let s: TestServer;
let userId: string;
let goodToken: string;

const users = () => s.app.collections.require('users') as AuthCollection;
const keyOf = async (id: string, type: 'authToken' | 'verificationToken' = 'authToken') => {
  const rec = (await s.app.reader.findById(users(), id))!;
  return new TextEncoder().encode(`${String(rec.tokenKey)}${users()[type].secret}`);
};
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** A token is refused: refresh (auth required) is 401 and the owner-only record is invisible (guest). */
async function assertRefused(token: string, label: string): Promise<void> {
  const refresh = await postJson(s, '/api/collections/users/auth-refresh', {}, token);
  assert.equal(refresh.status, 401, `${label}: auth-refresh`);
  const view = await getJson(s, `/api/collections/users/records/${userId}`, token);
  assert.equal(view.status, 404, `${label}: treated as a guest on a public route`);
  const list = await getJson(s, '/api/collections/users/records', token);
  assert.equal(list.status, 200, `${label}: public list still answers`);
}

describe('JWT attack suite', () => {
  before(async () => {
    s = await startServer();
    userId = await signUp(s, 'victim@example.com');
    goodToken = (await login(s, 'victim@example.com')).authStore.token;
  });
  after(async () => {
    await s.close();
  });

  it('the genuine token works (positive control)', async () => {
    assert.equal((await postJson(s, '/api/collections/users/auth-refresh', {}, goodToken)).status, 200);
    assert.equal((await getJson(s, `/api/collections/users/records/${userId}`, goodToken)).status, 200);
    assert.equal((await getJson(s, `/api/collections/users/records/${userId}`, `Bearer ${goodToken}`)).status, 200);
  });

  it('alg: none is refused', async () => {
    const payload = jwtPayload(goodToken);
    await assertRefused(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`, 'alg none');
    await assertRefused(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.${goodToken.split('.')[2]}`, 'alg none with a signature');
  });

  it('algorithm swap is refused, even signed with the right key (HS384/HS512) or an attacker’s RSA key', async () => {
    const key = await keyOf(userId);
    for (const alg of ['HS384', 'HS512']) {
      const forged = await new SignJWT(jwtPayload(goodToken)).setProtectedHeader({ alg, typ: 'JWT' }).sign(key);
      await assertRefused(forged, alg);
    }
    const { privateKey } = await generateKeyPair('RS256');
    await assertRefused(await new SignJWT(jwtPayload(goodToken)).setProtectedHeader({ alg: 'RS256' }).sign(privateKey), 'RS256');
  });

  it('a tampered payload is refused (another id, refreshable flipped, later exp)', async () => {
    const [h, , sig] = goodToken.split('.');
    const other = await signUp(s, 'other@example.com');
    const p = jwtPayload(goodToken);
    await assertRefused(`${h}.${b64({ ...p, id: other })}.${sig}`, 'other id');
    await assertRefused(`${h}.${b64({ ...p, exp: (p.exp as number) + 3600 })}.${sig}`, 'later exp');
    await assertRefused(`${h}.${b64({ ...p, collectionId: 'pbc_3142635823' })}.${sig}`, 'superusers collection');
    await assertRefused(`${goodToken}x`, 'extra signature byte');
  });

  it('the wrong token type is refused: verification, reset, email change and file tokens are not auth tokens', async () => {
    const rec = (await s.app.reader.findById(users(), userId))! as { id: string; tokenKey: string };
    for (const type of ['verification', 'passwordReset', 'emailChange', 'file'] as const) {
      const token = await issueToken(users(), rec, { type, extra: { email: 'victim@example.com' } });
      await assertRefused(token, type);
    }
    // …and an auth token is not a verification token.
    assert.equal((await postJson(s, '/api/collections/users/confirm-verification', { token: goodToken })).status, 400);
    // An auth-typed token signed with the verification secret is refused too (key per type).
    const crossKey = await new SignJWT(jwtPayload(goodToken)).setProtectedHeader({ alg: 'HS256' }).sign(await keyOf(userId, 'verificationToken'));
    await assertRefused(crossKey, 'auth claims under the verification key');
  });

  it('an expired token is refused (signed with the real key)', async () => {
    const expired = await new SignJWT({ ...jwtPayload(goodToken), exp: Math.floor(Date.now() / 1000) - 10 })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .sign(await keyOf(userId));
    await assertRefused(expired, 'expired');
    const noExp = jwtPayload(goodToken);
    delete noExp.exp;
    await assertRefused(await new SignJWT(noExp).setProtectedHeader({ alg: 'HS256' }).sign(await keyOf(userId)), 'no exp');
  });

  it('garbage in the Authorization header is a guest', async () => {
    for (const bad of ['x', 'a.b.c', 'Bearer', `${'a'.repeat(5000)}.b.c`, '{}.{}.{}', 'eyJ.eyJ.x']) {
      const res = await getJson(s, '/api/collections/users/records', bad);
      assert.equal(res.status, 200, bad.slice(0, 20));
    }
  });

  it('tokens of a password-changed user are refused', async () => {
    const id = await signUp(s, 'pwchange@example.com');
    const pb = await login(s, 'pwchange@example.com');
    const old = pb.authStore.token;
    await pb.collection('users').update(id, { oldPassword: 'password123', password: 'password456', passwordConfirm: 'password456' });
    assert.equal((await postJson(s, '/api/collections/users/auth-refresh', {}, old)).status, 401);
  });

  it('tokens of a deleted user are refused', async () => {
    const id = await signUp(s, 'deleted@example.com');
    const pb = await login(s, 'deleted@example.com');
    const token = pb.authStore.token;
    await s.admin.collection('users').delete(id);
    assert.equal((await postJson(s, '/api/collections/users/auth-refresh', {}, token)).status, 401);
    // Re-creating the same id does not revive the token (new tokenKey).
    await s.admin.collection('users').create({ id, email: 'deleted@example.com', password: 'password123', passwordConfirm: 'password123' });
    assert.equal((await postJson(s, '/api/collections/users/auth-refresh', {}, token)).status, 401);
  });

  it('rotating the collection secret logs everyone of the collection out', async () => {
    const id = await signUp(s, 'rotate@example.com');
    const token = (await login(s, 'rotate@example.com')).authStore.token;
    await s.admin.collections.update('users', { authToken: { secret: 'x'.repeat(50) } });
    assert.equal((await postJson(s, '/api/collections/users/auth-refresh', {}, token)).status, 401);
    assert.ok(id);
  });
});
