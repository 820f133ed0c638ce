/**
 * Collection rules end to end, as PocketBase answers them: null → 403 for non-superusers, "" → public,
 * an expression → list filtered / view-update-delete 404 / create 400.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type PocketBase from 'pocketbase';
import type { ClientResponseError } from 'pocketbase';
import { startServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
let alice: PocketBase;
let bob: PocketBase;
let aliceId: string;
let bobId: string;

async function signUp(email: string): Promise<[PocketBase, string]> {
  const pb = s.client();
  const rec = await pb.collection('users').create({ email, password: 'password123', passwordConfirm: 'password123', name: email });
  await pb.collection('users').authWithPassword(email, 'password123');
  return [pb, rec.id];
}

describe('collection rules', () => {
  before(async () => {
    s = await startServer();
    [alice, aliceId] = await signUp('alice@example.com');
    [bob, bobId] = await signUp('bob@example.com');
    const users = await s.admin.collections.getOne('users');
    await s.admin.collections.create({
      name: 'notes',
      type: 'base',
      fields: [
        { name: 'text', type: 'text' },
        { name: 'public', type: 'bool' },
        { name: 'owner', type: 'relation', collectionId: users.id, maxSelect: 1 },
      ],
      listRule: 'public = true || owner = @request.auth.id',
      viewRule: 'public = true || owner = @request.auth.id',
      createRule: '@request.auth.id != "" && owner = @request.auth.id',
      updateRule: 'owner = @request.auth.id',
      deleteRule: 'owner = @request.auth.id',
    });
    await s.admin.collections.create({ name: 'locked', type: 'base', fields: [{ name: 'x', type: 'text' }] });
  });

  after(async () => {
    await s.close();
  });

  describe('rule outcomes', () => {
    it('a locked (null) rule is 403 for users and guests, allowed for superusers', async () => {
      for (const pb of [s.client(), alice]) {
        await assert.rejects(pb.collection('locked').getList(), (e: ClientResponseError) => e.status === 403);
        await assert.rejects(pb.collection('locked').create({ x: '1' }), (e: ClientResponseError) => e.status === 403);
      }
      const rec = await s.admin.collection('locked').create({ x: '1' });
      for (const pb of [s.client(), alice]) {
        await assert.rejects(pb.collection('locked').getOne(rec.id), (e: ClientResponseError) => e.status === 403);
        await assert.rejects(pb.collection('locked').update(rec.id, { x: '2' }), (e: ClientResponseError) => e.status === 403);
        await assert.rejects(pb.collection('locked').delete(rec.id), (e: ClientResponseError) => e.status === 403);
      }
      assert.equal((await s.admin.collection('locked').getList()).totalItems, 1);
    });

    it('create: the rule is checked against the would-be record (400 when it fails)', async () => {
      await assert.rejects(s.client().collection('notes').create({ text: 'guest', owner: aliceId }), (e: ClientResponseError) => {
        assert.equal(e.status, 400);
        assert.equal(e.response.message, 'Failed to create record.');
        return true;
      });
      await assert.rejects(alice.collection('notes').create({ text: 'for bob', owner: bobId }), (e: ClientResponseError) => e.status === 400);
      const mine = await alice.collection('notes').create({ text: 'mine', owner: aliceId });
      assert.equal(mine.owner, aliceId);
    });

    it('list: the rule filters (200, never an error); view/update/delete: 404 when it fails', async () => {
      const secret = await alice.collection('notes').create({ text: 'secret', owner: aliceId });
      await alice.collection('notes').create({ text: 'shared', owner: aliceId, public: true });
      const bobList = await bob.collection('notes').getFullList();
      assert.ok(bobList.every((n) => n.public === true));
      assert.ok(bobList.some((n) => n.text === 'shared'));
      const guestList = await s.client().collection('notes').getList(1, 50, { filter: 'text = "secret"' });
      assert.equal(guestList.totalItems, 0);
      await assert.rejects(bob.collection('notes').getOne(secret.id), (e: ClientResponseError) => e.status === 404);
      await assert.rejects(bob.collection('notes').update(secret.id, { text: 'hacked' }), (e: ClientResponseError) => e.status === 404);
      await assert.rejects(bob.collection('notes').delete(secret.id), (e: ClientResponseError) => e.status === 404);
      assert.equal((await alice.collection('notes').getOne(secret.id)).text, 'secret', 'nothing changed');
      const updated = await alice.collection('notes').update(secret.id, { text: 'edited' });
      assert.equal(updated.text, 'edited');
    });

    it('the users collection: owners see themselves only, email hidden from others', async () => {
      const me = await alice.collection('users').getOne(aliceId);
      assert.equal(me.email, 'alice@example.com');
      await assert.rejects(alice.collection('users').getOne(bobId), (e: ClientResponseError) => e.status === 404);
      const list = await alice.collection('users').getFullList();
      assert.deepEqual(
        list.map((u) => u.id),
        [aliceId],
      );
      const admin = await s.admin.collection('users').getOne(bobId);
      assert.equal(admin.email, 'bob@example.com');
      assert.equal('password' in admin, false);
      assert.equal('tokenKey' in admin, false);
    });

    it('users cannot set server-owned auth fields', async () => {
      await assert.rejects(
        alice.collection('users').update(aliceId, { verified: true }),
        (e: ClientResponseError) => e.status === 400 && 'verified' in e.response.data,
      );
      const pb = s.client();
      await assert.rejects(
        pb.collection('users').create({ email: 'v@example.com', password: 'password123', passwordConfirm: 'password123', verified: true }),
        (e: ClientResponseError) => e.status === 400 && 'verified' in e.response.data,
      );
      const rec = await pb.collection('users').create({ email: 'tk@example.com', password: 'password123', passwordConfirm: 'password123', tokenKey: 'chosen' });
      const raw = await s.app.reader.findById(s.app.collections.require('users'), rec.id);
      assert.notEqual(raw?.tokenKey, 'chosen');
    });

    it('a password change needs the old password and invalidates old tokens', async () => {
      const [carol, carolId] = await signUp('carol@example.com');
      const oldToken = carol.authStore.token;
      await assert.rejects(
        carol.collection('users').update(carolId, { password: 'newpassword1', passwordConfirm: 'newpassword1' }),
        (e: ClientResponseError) => e.status === 400 && 'oldPassword' in e.response.data,
      );
      await carol.collection('users').update(carolId, { oldPassword: 'password123', password: 'newpassword1', passwordConfirm: 'newpassword1' });
      const res = await s.fetch(`/api/collections/users/records/${carolId}`, { headers: { Authorization: oldToken } });
      assert.equal(res.status, 404, 'the old token is now a guest, who cannot see carol');
      const again = s.client();
      await again.collection('users').authWithPassword('carol@example.com', 'newpassword1');
      assert.equal((await again.collection('users').getOne(carolId)).id, carolId);
    });

    it('an invalid token on a public route is a guest, not a 401', async () => {
      const res = await s.fetch('/api/collections/notes/records', { headers: { Authorization: 'garbage.token.here' } });
      assert.equal(res.status, 200);
    });
  });

  describe('superuser auth', () => {
    it('logs in with the SDK and gets a PocketBase-shaped token', async () => {
      const pb = s.client();
      const auth = await pb.collection('_superusers').authWithPassword('admin@example.com', 'correct-horse-battery');
      assert.equal(pb.authStore.isSuperuser, true);
      assert.equal(auth.record.email, 'admin@example.com');
      const payload = JSON.parse(Buffer.from(auth.token.split('.')[1]!, 'base64url').toString());
      assert.equal(payload.type, 'auth');
      assert.equal(payload.collectionId, 'pbc_3142635823');
      assert.equal(payload.refreshable, true);
      assert.ok(payload.exp > Date.now() / 1000);
      const refreshed = await pb.collection('_superusers').authRefresh();
      assert.ok(refreshed.token);
    });

    it('answers a wrong password and an unknown email the same way', async () => {
      const attempts = [
        ['admin@example.com', 'wrong-password'],
        ['nobody@example.com', 'wrong-password'],
      ];
      const bodies: unknown[] = [];
      for (const [identity, password] of attempts) {
        const res = await s.fetch('/api/collections/_superusers/auth-with-password', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ identity, password }),
        });
        assert.equal(res.status, 400);
        bodies.push(await res.json());
      }
      assert.deepEqual(bodies[0], bodies[1]);
    });

    it('superuser-only endpoints answer 401 to guests and 403 to users', async () => {
      assert.equal((await s.fetch('/api/collections')).status, 401);
      assert.equal((await s.fetch('/api/settings', { headers: { Authorization: alice.authStore.token } })).status, 403);
    });
  });
});
