/**
 * Password auth end to end with the real SDK: auth-methods, login, refresh, impersonation, "log out
 * everywhere", bcrypt import and re-hash, enumeration resistance, type confusion, authRule, manageRule and
 * the server-owned auth fields.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import bcrypt from 'bcryptjs';
import type { ClientResponseError } from 'pocketbase';
import { ident, sql } from '../../src/db/sql.js';
import { startServer, SUPERUSER_EMAIL, type TestServer } from '../helpers/server.js';
import { getJson, jwtPayload, login, postJson, signUp, similarTimes } from '../helpers/auth-http.js';

let s: TestServer;

describe('password auth', () => {
  before(async () => {
    s = await startServer();
  });
  after(async () => {
    await s.close();
  });

  const rawUser = async (id: string) => (await s.app.reader.findById(s.app.collections.require('users'), id))!;

  it('auth-methods answers PocketBase’s shape, legacy keys included', async () => {
    const methods = await s.client().collection('users').listAuthMethods();
    assert.deepEqual(methods.password, { enabled: true, identityFields: ['email'] });
    assert.deepEqual(methods.oauth2, { enabled: false, providers: [] });
    assert.deepEqual(methods.mfa, { enabled: false, duration: 0 });
    assert.deepEqual(methods.otp, { enabled: false, duration: 0 });
    const raw = await getJson(s, '/api/collections/users/auth-methods');
    assert.equal(raw.body.emailPassword, true);
    assert.equal(raw.body.usernamePassword, false);
    assert.deepEqual(raw.body.authProviders, []);
    assert.equal((await getJson(s, '/api/collections/posts_nope/auth-methods')).status, 404);
  });

  it('logs in with the SDK: SDK-compatible token claims, owner sees its email, refresh issues a new token', async () => {
    const id = await signUp(s, 'ann@example.com');
    const pb = s.client();
    const auth = await pb.collection('users').authWithPassword('ANN@example.com', 'password123');
    assert.equal(auth.record.id, id);
    assert.equal(auth.record.email, 'ann@example.com');
    assert.equal(auth.record.password, undefined);
    assert.equal(auth.record.tokenKey, undefined);
    const claims = jwtPayload(auth.token);
    assert.deepEqual(Object.keys(claims).sort(), ['collectionId', 'exp', 'id', 'refreshable', 'type']);
    assert.equal(claims.type, 'auth');
    assert.equal(claims.refreshable, true);
    assert.equal(claims.collectionId, '_pb_users_auth_');
    assert.equal(JSON.parse(Buffer.from(auth.token.split('.')[0]!, 'base64url').toString()).alg, 'HS256');
    assert.ok(pb.authStore.isValid);
    await new Promise((r) => setTimeout(r, 1100)); // a different exp, so a different token
    const refreshed = await pb.collection('users').authRefresh();
    assert.notEqual(refreshed.token, auth.token);
    assert.equal(refreshed.record.id, id);
  });

  it('stores argon2id hashes at m=19456,t=2,p=1', async () => {
    const id = await signUp(s, 'hash@example.com');
    assert.match(String((await rawUser(id)).password), /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it('imported bcrypt (PocketBase) hashes log in and are re-hashed to argon2id', async () => {
    const id = await signUp(s, 'legacy@example.com');
    const bcryptHash = bcrypt.hashSync('legacy-password', 10);
    await s.app.db.run(sql`UPDATE ${ident('users')} SET ${ident('password')} = ${bcryptHash} WHERE ${ident('id')} = ${id}`);
    await assert.rejects(login(s, 'legacy@example.com', 'wrong-password'), (e: ClientResponseError) => e.status === 400);
    assert.equal((await rawUser(id)).password, bcryptHash, 'a failed login changes nothing');
    await login(s, 'legacy@example.com', 'legacy-password');
    assert.match(String((await rawUser(id)).password), /^\$argon2id\$/);
    await login(s, 'legacy@example.com', 'legacy-password');
  });

  it('answers unknown emails and wrong passwords alike: same status, body and (median) time', async () => {
    await signUp(s, 'timing@example.com');
    const attempt = async (identity: string) => {
      const t0 = performance.now();
      const res = await postJson(s, '/api/collections/users/auth-with-password', { identity, password: 'not-the-password' });
      return { ms: performance.now() - t0, res };
    };
    const known: number[] = [];
    const unknown: number[] = [];
    let bodies: unknown[] = [];
    await attempt('warmup@example.com');
    for (let i = 0; i < 16; i++) {
      const a = await attempt('timing@example.com');
      const b = await attempt(`nobody${i}@example.com`);
      known.push(a.ms);
      unknown.push(b.ms);
      assert.equal(a.res.status, 400);
      assert.equal(b.res.status, 400);
      bodies = [a.res.body, b.res.body];
      assert.deepEqual(bodies[0], bodies[1]);
    }
    assert.deepEqual(bodies[0], { data: {}, message: 'Failed to authenticate.', status: 400 });
    const same = similarTimes(known, unknown, 1.5, 15);
    assert.ok(same.ok, `known and unknown logins take visibly different times: ${same.detail}`);
  });

  it('type confusion in identity/password is a 400, never a login', async () => {
    await signUp(s, 'types@example.com');
    for (const bad of [{}, [], true, false, null, 0, 1, { $ne: '' }, ['password123']]) {
      const a = await postJson(s, '/api/collections/users/auth-with-password', { identity: 'types@example.com', password: bad });
      assert.equal(a.status, 400, `password ${JSON.stringify(bad)}`);
      const b = await postJson(s, '/api/collections/users/auth-with-password', { identity: bad, password: 'password123' });
      assert.equal(b.status, 400, `identity ${JSON.stringify(bad)}`);
      assert.equal(a.body.token, undefined);
    }
    for (const body of [null, [], 'x', 42]) {
      assert.equal((await postJson(s, '/api/collections/users/auth-with-password', body)).status, 400);
    }
  });

  it('authRule: null disables login (403), an expression must match', async () => {
    await signUp(s, 'rule@example.com');
    await s.admin.collections.update('users', { authRule: 'verified = true' });
    try {
      await assert.rejects(login(s, 'rule@example.com'), (e: ClientResponseError) => e.status === 403);
      await s.admin.collections.update('users', { authRule: null });
      await assert.rejects(login(s, 'rule@example.com'), (e: ClientResponseError) => e.status === 403);
    } finally {
      await s.admin.collections.update('users', { authRule: '' });
    }
    await login(s, 'rule@example.com');
  });

  it('impersonate: superusers only, returns a non-refreshable token that refresh echoes', async () => {
    const id = await signUp(s, 'imp@example.com');
    const user = await login(s, 'imp@example.com');
    assert.equal((await postJson(s, `/api/collections/users/impersonate/${id}`, {})).status, 401);
    assert.equal((await postJson(s, `/api/collections/users/impersonate/${id}`, {}, user.authStore.token)).status, 403);
    assert.equal((await postJson(s, '/api/collections/users/impersonate/nope', {}, s.admin.authStore.token)).status, 404);
    assert.equal((await postJson(s, `/api/collections/users/impersonate/${id}`, { duration: 'x' }, s.admin.authStore.token)).status, 400);
    const imp = await s.admin.collection('users').impersonate(id, 600);
    assert.equal(imp.authStore.record?.id, id);
    const claims = jwtPayload(imp.authStore.token);
    assert.equal(claims.refreshable, false);
    assert.ok(Math.abs((claims.exp as number) - (Date.now() / 1000 + 600)) < 5);
    const refreshed = await imp.collection('users').authRefresh();
    assert.equal(refreshed.token, imp.authStore.token);
  });

  it('logout-all revokes every token of the record; superusers can do it for others', async () => {
    const id = await signUp(s, 'everywhere@example.com');
    const a = await login(s, 'everywhere@example.com');
    const b = await login(s, 'everywhere@example.com');
    assert.equal((await postJson(s, '/api/collections/users/logout-all', {})).status, 401);
    assert.equal((await postJson(s, '/api/collections/users/logout-all', {}, a.authStore.token)).status, 204);
    for (const pb of [a, b]) {
      assert.equal((await postJson(s, '/api/collections/users/auth-refresh', {}, pb.authStore.token)).status, 401);
    }
    const c = await login(s, 'everywhere@example.com');
    const other = await signUp(s, 'bystander@example.com');
    assert.equal((await postJson(s, '/api/collections/users/logout-all', { id: other }, c.authStore.token)).status, 403);
    assert.equal((await postJson(s, '/api/collections/users/logout-all', { id }, s.admin.authStore.token)).status, 204);
    assert.equal((await postJson(s, '/api/collections/users/auth-refresh', {}, c.authStore.token)).status, 401);
  });

  it('auth-refresh: 401 without a valid token, 403 with another collection’s token', async () => {
    assert.equal((await postJson(s, '/api/collections/users/auth-refresh', {})).status, 401);
    assert.equal((await postJson(s, '/api/collections/users/auth-refresh', {}, 'garbage')).status, 401);
    assert.equal((await postJson(s, '/api/collections/users/auth-refresh', {}, s.admin.authStore.token)).status, 403);
    assert.equal((await postJson(s, '/api/collections/_superusers/auth-refresh', {}, s.admin.authStore.token)).status, 200);
    const su = await s.client().collection('_superusers').authWithPassword(SUPERUSER_EMAIL, 'correct-horse-battery');
    assert.equal(su.record.email, SUPERUSER_EMAIL);
  });
});

describe('server-owned auth fields and manageRule', () => {
  before(async () => {
    s = await startServer();
  });
  after(async () => {
    await s.close();
  });

  it('owners cannot set verified, email or tokenKey; emailVisibility only on their own record', async () => {
    const id = await signUp(s, 'own@example.com');
    const pb = await login(s, 'own@example.com');
    const users = pb.collection('users');
    await assert.rejects(users.update(id, { verified: true }), (e: ClientResponseError) => e.status === 400 && 'verified' in e.response.data);
    await assert.rejects(users.update(id, { email: 'new@example.com' }), (e: ClientResponseError) => e.status === 400 && 'email' in e.response.data);
    const before = (await s.app.reader.findById(s.app.collections.require('users'), id))!.tokenKey;
    await users.update(id, { tokenKey: 'chosen-by-client-000000000000000' });
    assert.equal((await s.app.reader.findById(s.app.collections.require('users'), id))!.tokenKey, before);
    const updated = await users.update(id, { emailVisibility: true });
    assert.equal(updated.emailVisibility, true);

    // A collection whose updateRule lets any signed-in user update anyone: still not their emailVisibility.
    await s.admin.collections.update('users', { updateRule: "@request.auth.id != ''" });
    try {
      const otherId = await signUp(s, 'other@example.com');
      await assert.rejects(
        users.update(otherId, { emailVisibility: true }),
        (e: ClientResponseError) => e.status === 400 && 'emailVisibility' in e.response.data,
      );
      await users.update(otherId, { name: 'renamed by a peer' });
    } finally {
      await s.admin.collections.update('users', { updateRule: 'id = @request.auth.id' });
    }
  });

  it('users cannot create, change or read others’ auth bookkeeping records (_otps, _mfas, _externalAuths, _authOrigins)', async () => {
    const id = await signUp(s, 'book@example.com');
    const pb = await login(s, 'book@example.com');
    for (const name of ['_otps', '_mfas', '_externalAuths', '_authOrigins']) {
      await assert.rejects(
        pb.collection(name).create({
          id: 'chosenid1234567',
          collectionRef: '_pb_users_auth_',
          recordRef: id,
          provider: 'x',
          providerId: 'y',
          method: 'password',
          fingerprint: 'f',
          password: 'p',
        }),
        (e: ClientResponseError) => e.status === 403,
        name,
      );
    }
    await s.app.auth.settled(); // the login origin is recorded in the background
    const mine = await pb.collection('_authOrigins').getFullList();
    assert.ok(mine.every((o) => o.recordRef === id));
    assert.equal(mine.length, 1);
    assert.equal(mine[0]!.fingerprint.length, 64);
    await assert.rejects(pb.collection('_authOrigins').update(mine[0]!.id, { fingerprint: 'x' }), (e: ClientResponseError) => e.status === 403);
  });

  it('manageRule grants managers email/password/verified changes of others without the old password', async () => {
    await s.admin.collections.create({
      name: 'staff',
      type: 'auth',
      fields: [{ name: 'role', type: 'text' }],
      listRule: "@request.auth.id != ''",
      viewRule: "@request.auth.id != ''",
      updateRule: "@request.auth.id != ''",
      createRule: '',
      manageRule: "@request.auth.role = 'admin'",
      passwordAuth: { enabled: true, identityFields: ['email'] },
    });
    const staff = s.client().collection('staff');
    await staff.create({ email: 'boss@example.com', password: 'password123', passwordConfirm: 'password123' });
    const worker = await staff.create({ email: 'worker@example.com', password: 'password123', passwordConfirm: 'password123' });
    const bossRec = await s.admin.collection('staff').getFirstListItem("email='boss@example.com'");
    await s.admin.collection('staff').update(bossRec.id, { role: 'admin' });
    const boss = await login(s, 'boss@example.com', 'password123', 'staff');
    const peer = await login(s, 'worker@example.com', 'password123', 'staff');
    await assert.rejects(peer.collection('staff').update(bossRec.id, { verified: true }), (e: ClientResponseError) => e.status === 400);
    assert.equal((await boss.collection('staff').getOne(worker.id)).email, 'worker@example.com', 'a manager sees the email of a record it manages');
    assert.equal('email' in (await peer.collection('staff').getOne(bossRec.id)), false, 'a non-manager does not');
    const changed = await boss
      .collection('staff')
      .update(worker.id, { email: 'worker2@example.com', verified: true, password: 'newpass123', passwordConfirm: 'newpass123' });
    assert.equal(changed.verified, true);
    assert.equal((await s.admin.collection('staff').getOne(worker.id)).email, 'worker2@example.com');
    assert.equal((await postJson(s, '/api/collections/staff/auth-refresh', {}, peer.authStore.token)).status, 401, 'the old token died with the change');
    await login(s, 'worker2@example.com', 'newpass123', 'staff');
  });
});

describe('auth rate limits on by default', () => {
  before(async () => {
    s = await startServer({ settings: { rateLimits: { enabled: true } } });
  });
  after(async () => {
    await s.close();
  });

  it('the default *:auth rule (2 per 3 s) answers 429 to the third quick login, whatever X-Forwarded-For says', async () => {
    await new Promise((r) => setTimeout(r, 3100)); // the helper's own superuser login used this window
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await s.fetch('/api/collections/users/auth-with-password', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': `198.51.100.${i}` },
        body: JSON.stringify({ identity: 'nobody@example.com', password: 'whatever-123' }),
      });
      statuses.push(res.status);
    }
    assert.deepEqual(statuses, [400, 400, 429]);
    // The second factor counts against the same budget.
    assert.equal((await postJson(s, '/api/collections/users/auth-with-totp', { mfaId: 'x', code: '123456' })).status, 429);
  });
});
