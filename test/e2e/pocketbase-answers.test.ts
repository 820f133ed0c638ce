/**
 * Answers pinned to PocketBase's own behaviour (its apis/ and core/ sources, v0.23+), through the real
 * `pocketbase` SDK where it can express the call and raw fetch otherwise: what PocketBase refuses, what it
 * accepts, its validation codes, its success bodies and its limits.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ClientResponseError } from 'pocketbase';
import { startServer, type TestServer } from '../helpers/server.js';

let s: TestServer;

/** The SDK's error for `p`, failing the test when it resolves. */
async function failure(p: Promise<unknown>): Promise<ClientResponseError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ClientResponseError, String(err));
    return err;
  }
  assert.fail('expected the request to fail');
}

/** A raw JSON request; answers the status and parsed body. */
async function call(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: any }> {
  const res = await s.fetch(path, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: token } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

const PASSWORD = 'a-long-password-1';

async function makeUser(collection: string, email: string, extra: Record<string, unknown> = {}): Promise<Record<string, any>> {
  return s.admin.collection(collection).create({ email, password: PASSWORD, passwordConfirm: PASSWORD, ...extra });
}

before(async () => {
  s = await startServer({ settings: { batch: { enabled: true } } });
  await s.admin.collections.create({
    name: 'members',
    type: 'auth',
    fields: [{ name: 'name', type: 'text' }],
    listRule: '',
    viewRule: '',
    updateRule: 'id = @request.auth.id',
    manageRule: '@request.auth.name = "manager"',
    passwordAuth: { enabled: true, identityFields: ['email'] },
  });
  await s.admin.collections.create({ name: 'plain', type: 'base', fields: [{ name: 'n', type: 'text' }], listRule: '', viewRule: '', createRule: '', updateRule: '' });
});
after(async () => {
  await s.close();
});

describe('PocketBase refuses it, so Plinth does', () => {
  it('truncating a collection that a required, non-cascading relation points at', async () => {
    const pb = s.admin;
    const owners = await pb.collections.create({ name: 'owners', type: 'base', fields: [{ name: 'n', type: 'text' }] });
    await pb.collections.create({
      name: 'pets',
      type: 'base',
      fields: [{ name: 'owner', type: 'relation', collectionId: owners.id, maxSelect: 1, required: true, cascadeDelete: false }],
    });
    const o = await pb.collection('owners').create({ n: 'a' });
    await pb.collection('owners').create({ n: 'b' });
    await pb.collection('pets').create({ owner: o.id });
    const err = await failure(pb.collections.truncate('owners'));
    assert.equal(err.status, 400);
    assert.match(err.message, /truncate/i);
    // All or nothing: nothing was deleted, the pet still points at its owner.
    assert.equal((await pb.collection('owners').getList()).totalItems, 2);
    assert.equal((await pb.collection('pets').getFirstListItem('')).owner, o.id);
    // With cascade delete on, the truncate goes through and takes the pets along.
    const pets = await pb.collections.getOne('pets');
    pets.fields.find((f: { name: string }) => f.name === 'owner')!.cascadeDelete = true;
    await pb.collections.update('pets', { fields: pets.fields });
    await pb.collections.truncate('owners');
    assert.equal((await pb.collection('owners').getList()).totalItems, 0);
    assert.equal((await pb.collection('pets').getList()).totalItems, 0);
  });

  it("changing a record's id on update (validation_pk_change); the same id is fine", async () => {
    const r = await s.admin.collection('plain').create({ n: 'x' });
    const err = await failure(s.admin.collection('plain').update(r.id, { id: 'othervalue12345', n: 'y' }));
    assert.equal(err.status, 400);
    assert.equal(err.response.data.id?.code, 'validation_pk_change');
    assert.equal((await s.admin.collection('plain').getOne(r.id)).n, 'x');
    assert.equal((await s.admin.collection('plain').update(r.id, { id: r.id, n: 'z' })).n, 'z');
  });

  it('a custom id already used in another auth collection (validation_invalid_auth_id)', async () => {
    const u = await makeUser('users', 'crossid@example.com', { id: 'sharedauthid001' });
    const err = await failure(makeUser('members', 'crossid2@example.com', { id: u.id }));
    assert.equal(err.status, 400);
    assert.equal(err.response.data.id?.code, 'validation_invalid_auth_id');
    // A base collection may reuse it.
    assert.equal((await s.admin.collection('plain').create({ id: u.id })).id, u.id);
  });

  it('an email change to an address already taken: request-email-change and a direct update', async () => {
    await makeUser('members', 'taken@example.com');
    const me = await makeUser('members', 'changer@example.com');
    const pb = s.client();
    await pb.collection('members').authWithPassword('changer@example.com', PASSWORD);
    let err = await failure(pb.collection('members').requestEmailChange('TAKEN@example.com'));
    assert.equal(err.status, 400);
    assert.equal(err.response.data.newEmail?.code, 'validation_invalid_new_email');
    // A free address is fine.
    await pb.collection('members').requestEmailChange('free@example.com');
    err = await failure(s.admin.collection('members').update(me.id, { email: 'taken@example.com' }));
    assert.equal(err.status, 400);
    assert.equal(err.response.data.email?.code, 'validation_not_unique');
  });

  it('a password reset request while password login is off', async () => {
    await s.admin.collections.create({ name: 'nopass', type: 'auth', fields: [], passwordAuth: { enabled: false }, otp: { enabled: true } });
    const err = await failure(s.client().collection('nopass').requestPasswordReset('someone@example.com'));
    assert.equal(err.status, 400);
    assert.match(err.message, /not configured to allow password authentication/);
  });

  it('an empty import (validation_required on collections)', async () => {
    for (const body of [{ collections: [] }, { collections: [], deleteMissing: true }, {}]) {
      const res = await call('PUT', '/api/collections/import', body, s.admin.authStore.token);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.data.collections?.code, 'validation_required');
    }
    assert.ok(await s.admin.collections.getOne('plain'));
  });
});
