/**
 * Answers pinned to PocketBase's own behaviour (its apis/ and core/ sources, v0.23+), through the real
 * `pocketbase` SDK where it can express the call and raw fetch otherwise: what PocketBase refuses, what it
 * accepts, its validation codes, its success bodies and its limits.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ClientResponseError } from 'pocketbase';
import { issueToken, type IssueOptions } from '../../src/auth/tokens.js';
import type { AuthCollection } from '../../src/collections/model.js';
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

/** A token of `opts.type` signed the way PocketBase signs it, for a record of `collection`. */
async function tokenFor(collection: string, id: string, opts: IssueOptions): Promise<string> {
  const c = s.app.collections.require(collection) as AuthCollection;
  const record = await s.app.reader.findById(c, id);
  assert.ok(record);
  return issueToken(c, { id, tokenKey: String(record.tokenKey) }, opts);
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
  await s.admin.collections.create({
    name: 'plain',
    type: 'base',
    fields: [{ name: 'n', type: 'text' }],
    listRule: '',
    viewRule: '',
    createRule: '',
    updateRule: '',
  });
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

describe('PocketBase accepts it, so Plinth does', () => {
  it('confirming verification for an already verified record answers 204', async () => {
    const u = await makeUser('members', 'verify-twice@example.com');
    const token = await tokenFor('members', u.id, { type: 'verification', extra: { email: u.email } });
    await s.client().collection('members').confirmVerification(token);
    assert.equal((await s.admin.collection('members').getOne(u.id)).verified, true);
    assert.equal(await s.client().collection('members').confirmVerification(token), true);
  });

  it('a collection manager (manageRule) setting verified on create and on update', async () => {
    await makeUser('members', 'boss@example.com', { name: 'manager' });
    const boss = s.client();
    await boss.collection('members').authWithPassword('boss@example.com', PASSWORD);
    await s.admin.collections.update('members', { createRule: '', updateRule: 'id = @request.auth.id || @request.auth.name = "manager"' });
    const created = await boss.collection('members').create({ email: 'managed@example.com', password: PASSWORD, passwordConfirm: PASSWORD, verified: true });
    assert.equal(created.verified, true);
    const updated = await boss.collection('members').update(created.id, { verified: false });
    assert.equal(updated.verified, false);
    // Not a manager: refused, as in PocketBase.
    const guest = await failure(
      s.client().collection('members').create({ email: 'g@example.com', password: PASSWORD, passwordConfirm: PASSWORD, verified: true }),
    );
    assert.equal(guest.response.data.verified?.code, 'validation_values_mismatch');
  });
});

describe('@request.body with modifier keys', () => {
  it('rules see the field with the modifier applied (tags+, count+, tags-), on create and update', async () => {
    const rule = { listRule: '', viewRule: '' };
    await s.admin.collections.create({
      name: 'counters',
      type: 'base',
      fields: [{ name: 'count', type: 'number' }],
      ...rule,
      createRule: '@request.body.count <= 10',
      updateRule: '@request.body.count <= 10',
    });
    await s.admin.collections.create({
      name: 'taglists',
      type: 'base',
      fields: [{ name: 'tags', type: 'select', values: ['a', 'b', 'c', 'd'], maxSelect: 4 }],
      ...rule,
      createRule: '@request.body.tags:length <= 2',
      updateRule: '@request.body.tags:length <= 2',
    });
    const pb = s.client();
    const c = await pb.collection('counters').create({ 'count+': 8 });
    assert.equal(c.count, 8);
    await failure(pb.collection('counters').create({ 'count+': 11 }));
    assert.equal((await pb.collection('counters').update(c.id, { 'count+': 1 })).count, 9);
    assert.equal((await failure(pb.collection('counters').update(c.id, { 'count+': 5 }))).status, 404);
    assert.equal((await pb.collection('counters').getOne(c.id)).count, 9);
    const t = await pb.collection('taglists').create({ 'tags+': ['a', 'b'] });
    await failure(pb.collection('taglists').create({ 'tags+': ['a', 'b', 'c'] }));
    assert.equal((await failure(pb.collection('taglists').update(t.id, { 'tags+': 'c' }))).status, 404);
    assert.deepEqual((await pb.collection('taglists').update(t.id, { 'tags-': 'a', 'tags+': 'c' })).tags, ['b', 'c']);
  });
});

describe("PocketBase's validation codes and order", () => {
  it('confirm-verification: token claims, validity, collection and email checks', async () => {
    const u = await makeUser('members', 'codes-verify@example.com');
    const other = await makeUser('users', 'codes-verify-user@example.com');
    const code = async (token: string) => (await call('POST', '/api/collections/members/confirm-verification', { token })).body.data.token?.code;
    assert.equal(await code(await tokenFor('members', u.id, { type: 'verification' })), 'validation_invalid_token_claims');
    assert.equal(await code(await tokenFor('members', u.id, { type: 'passwordReset', extra: { email: u.email } })), 'validation_invalid_token');
    assert.equal(
      await code(await tokenFor('users', other.id, { type: 'verification', extra: { email: other.email } })),
      'validation_token_collection_mismatch',
    );
    assert.equal(await code(await tokenFor('members', u.id, { type: 'verification', extra: { email: 'old@example.com' } })), 'validation_token_email_mismatch');
    const res = await call('POST', '/api/collections/members/confirm-verification', {});
    assert.equal(res.body.data.token?.code, 'validation_required');
  });

  it('confirm-password-reset: token and passwordConfirm errors together', async () => {
    const u = await makeUser('members', 'codes-reset@example.com');
    const other = await makeUser('users', 'codes-reset-user@example.com');
    const reset = (token: string, passwordConfirm = 'new-password-123') =>
      call('POST', '/api/collections/members/confirm-password-reset', { token, password: 'new-password-123', passwordConfirm });
    let res = await reset(await tokenFor('users', other.id, { type: 'passwordReset', extra: { email: other.email } }), 'different-456');
    assert.equal(res.status, 400);
    assert.equal(res.body.data.token?.code, 'validation_token_collection_mismatch');
    assert.equal(res.body.data.passwordConfirm?.code, 'validation_values_mismatch');
    res = await reset('not-a-token');
    assert.equal(res.body.data.token?.code, 'validation_invalid_token');
    res = await reset(await tokenFor('members', u.id, { type: 'passwordReset', extra: { email: u.email } }));
    assert.equal(res.status, 204);
  });

  it('confirm-email-change: payload, validity, collection, taken address and password', async () => {
    const u = await makeUser('members', 'codes-change@example.com');
    await makeUser('members', 'codes-change-taken@example.com');
    const other = await makeUser('users', 'codes-change-user@example.com');
    const change = async (token: string, password = PASSWORD) =>
      (await call('POST', '/api/collections/members/confirm-email-change', { token, password })).body;
    const email = { email: u.email };
    let body = await change(await tokenFor('members', u.id, { type: 'emailChange', extra: email }));
    assert.equal(body.data.token?.code, 'validation_invalid_token_payload');
    body = await change(await tokenFor('users', other.id, { type: 'emailChange', extra: { email: other.email, newEmail: 'x1@example.com' } }));
    assert.equal(body.data.token?.code, 'validation_token_collection_mismatch');
    body = await change(await tokenFor('members', u.id, { type: 'emailChange', extra: { ...email, newEmail: 'codes-change-taken@example.com' } }));
    assert.equal(body.data.token?.code, 'validation_invalid_token_email');
    body = await change(await tokenFor('members', u.id, { type: 'emailChange', extra: { ...email, newEmail: 'x2@example.com' } }), 'wrong-password');
    assert.equal(body.data.password?.code, 'validation_invalid_password');
    assert.equal(body.message, 'An error occurred while validating the submitted data.');
  });

  it('auth-record forms report password errors first, then the field errors', async () => {
    let err = await failure(s.admin.collection('members').create({ email: 'not-an-email', password: PASSWORD, passwordConfirm: 'other-password' }));
    assert.deepEqual(Object.keys(err.response.data), ['passwordConfirm']);
    err = await failure(s.admin.collection('members').create({ email: 'not-an-email', password: PASSWORD, passwordConfirm: PASSWORD }));
    assert.equal(err.response.data.email?.code, 'validation_is_email');
    const u = await makeUser('members', 'order@example.com');
    const pb = s.client();
    await pb.collection('members').authWithPassword('order@example.com', PASSWORD);
    err = await failure(pb.collection('members').update(u.id, { name: 'x'.repeat(6000), password: 'new-password-1', passwordConfirm: 'new-password-1' }));
    assert.deepEqual(Object.keys(err.response.data), ['oldPassword']);
  });
});

describe('auth actions on a non-auth collection', () => {
  it("answer PocketBase's statuses: 401/403 where its auth middleware runs first, 404 otherwise", async () => {
    const u = await makeUser('members', 'nonauth@example.com');
    const pb = s.client();
    await pb.collection('members').authWithPassword('nonauth@example.com', PASSWORD);
    const token = pb.authStore.token;
    assert.equal((await call('POST', '/api/collections/plain/auth-refresh')).status, 401);
    assert.equal((await call('POST', '/api/collections/plain/auth-refresh', {}, token)).status, 403);
    assert.equal((await call('POST', '/api/collections/plain/request-email-change', { newEmail: 'x@example.com' })).status, 401);
    assert.equal((await call('POST', '/api/collections/plain/request-email-change', { newEmail: 'x@example.com' }, token)).status, 403);
    assert.equal((await call('POST', `/api/collections/plain/impersonate/${u.id}`, {}, token)).status, 403);
    assert.equal((await call('POST', `/api/collections/plain/impersonate/${u.id}`)).status, 401);
    for (const action of ['auth-with-password', 'request-password-reset', 'confirm-verification', 'request-otp']) {
      assert.equal((await call('POST', `/api/collections/plain/${action}`, {})).status, 404, action);
    }
    assert.equal((await call('GET', '/api/collections/plain/auth-methods')).status, 404);
    // The right collection still works.
    assert.equal((await call('POST', '/api/collections/members/auth-refresh', {}, token)).status, 200);
  });
});

describe('success bodies', () => {
  it('dry-run-view answers {fields, sample}; errors sit under `query`', async () => {
    await s.admin.collection('plain').create({ n: 'dry-run-row' });
    const res = await call(
      'POST',
      '/api/collections/meta/dry-run-view',
      { query: "SELECT id, n AS label FROM plain WHERE n = 'dry-run-row';" },
      s.admin.authStore.token,
    );
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.body.fields.map((f: { name: string; type: string }) => [f.name, f.type]),
      [
        ['id', 'text'],
        ['label', 'text'],
      ],
    );
    assert.equal(res.body.fields[0].pattern, '^[a-z0-9]+$', "a view's id field has PocketBase's id pattern");
    assert.equal(res.body.sample.length, 1);
    assert.equal(res.body.sample[0].label, 'dry-run-row');
    const viaSdk = (await s.admin.collections.dryRunViewQuery('SELECT id FROM plain')) as unknown as { fields: unknown[]; sample: unknown[] };
    assert.ok(Array.isArray(viaSdk.fields) && Array.isArray(viaSdk.sample));
    // PocketBase accepts SQL comments; what runs is the comment-free text, and a second statement stays refused.
    const commented = await call(
      'POST',
      '/api/collections/meta/dry-run-view',
      { query: "-- the labels\nSELECT id, /* renamed */ n AS label FROM plain WHERE n = '--not a comment'" },
      s.admin.authStore.token,
    );
    assert.equal(commented.status, 200, JSON.stringify(commented.body));
    assert.deepEqual(
      commented.body.fields.map((f: { name: string }) => f.name),
      ['id', 'label'],
    );
    await s.admin.collections.create({ name: 'commented_view', type: 'view', viewQuery: 'SELECT id, n -- the text\nFROM plain' });
    for (const query of [
      '',
      'SELECT n FROM plain',
      'SELECT id FROM nowhere',
      'SELECT id FROM plain /* x */; DELETE FROM plain',
      'SELECT id FROM plain /* open',
    ]) {
      const bad = await call('POST', '/api/collections/meta/dry-run-view', { query }, s.admin.authStore.token);
      assert.equal(bad.status, 400, query);
      assert.ok(bad.body.data.query?.code, JSON.stringify(bad.body));
    }
  });
});

describe('more success bodies', () => {
  it('a superuser created over the API is verified', async () => {
    const su = await s.admin.collection('_superusers').create({ email: 'second-admin@example.com', password: PASSWORD, passwordConfirm: PASSWORD });
    assert.equal(su.verified, true);
  });

  it("/api/crons lists PocketBase's built-in jobs under its ids and schedules, and they run", async () => {
    const jobs = await s.admin.crons.getFullList();
    const byId = new Map(jobs.map((j) => [j.id, j.expression]));
    assert.equal(byId.get('__pbLogsCleanup__'), '0 */6 * * *');
    assert.equal(byId.get('__pbDBOptimize__'), '0 0 * * *');
    assert.equal(byId.get('__pbMFACleanup__'), '0 * * * *');
    assert.equal(byId.get('__pbOTPCleanup__'), '0 * * * *');
    for (const id of ['__pbLogsCleanup__', '__pbDBOptimize__']) assert.equal(await s.admin.crons.run(id), true);
  });

  it("auth-methods' OAuth2 providers carry a logo (an inline SVG, as PocketBase ≥ 0.37)", async () => {
    await s.admin.collections.update('members', { oauth2: { enabled: true, providers: [{ name: 'github', clientId: 'id', clientSecret: 'secret' }] } });
    const methods = await s.client().collection('members').listAuthMethods();
    const github = methods.oauth2.providers.find((p) => p.name === 'github') as unknown as { logo: string };
    assert.match(github.logo, /^<svg[\s\S]*<\/svg>$/);
    await s.admin.collections.update('members', { oauth2: { enabled: false } });
  });
});

describe('files', () => {
  it("serves a view record's file from its source record, under the view's rules; `*:file` / `x:file` rate-limit tags", async () => {
    await s.admin.collections.create({
      name: 'docs',
      type: 'base',
      fields: [{ name: 'attachment', type: 'file', maxSelect: 1, maxSize: 1_000_000 }],
      listRule: '',
      viewRule: '',
    });
    const form = new FormData();
    form.append('attachment', new Blob(['hello from the source record'], { type: 'text/plain' }), 'note.txt');
    const doc = await s.admin.collection('docs').create(form);
    await s.admin.collections.create({ name: 'doc_files', type: 'view', viewQuery: 'SELECT id, attachment FROM docs', listRule: '', viewRule: '' });
    const viewRecord = await s.client().collection('doc_files').getOne(doc.id);
    assert.equal(viewRecord.attachment, doc.attachment);
    const res = await s.fetch(`/api/files/doc_files/${doc.id}/${doc.attachment}`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'hello from the source record');
    assert.equal((await s.fetch(`/api/files/doc_files/${doc.id}/missing_abc.txt`)).status, 404);

    await s.admin.settings.update({
      rateLimits: {
        enabled: true,
        rules: [
          { label: 'docs:file', audience: '', duration: 60, maxRequests: 1 },
          { label: '*:file', audience: '', duration: 60, maxRequests: 2 },
        ],
      },
    });
    try {
      assert.equal((await s.fetch(`/api/files/docs/${doc.id}/${doc.attachment}`)).status, 200);
      assert.equal((await s.fetch(`/api/files/docs/${doc.id}/${doc.attachment}`)).status, 429, 'docs:file');
      assert.equal((await s.fetch(`/api/files/doc_files/${doc.id}/${doc.attachment}`)).status, 200);
      assert.equal((await s.fetch(`/api/files/doc_files/${doc.id}/${doc.attachment}`)).status, 200);
      assert.equal((await s.fetch(`/api/files/doc_files/${doc.id}/${doc.attachment}`)).status, 429, '*:file');
    } finally {
      await s.admin.settings.update({ rateLimits: { enabled: false } });
    }
  });
});

describe('body limits', () => {
  it('record writes get the default plus maxSize × maxSelect per file field; /api/batch gets settings.batch.maxBodySize', async () => {
    await s.admin.collections.create({
      name: 'bigfiles',
      type: 'base',
      fields: [{ name: 'doc', type: 'file', maxSelect: 1, maxSize: 4 << 20 }],
      createRule: '',
    });
    const big = 'x'.repeat(33 << 20); // over the 32 MiB default, under 32 + 4 MiB
    const post = (collection: string) =>
      s.fetch(`/api/collections/${collection}/records`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ n: big }) });
    assert.equal((await post('plain')).status, 413);
    assert.notEqual((await post('bigfiles')).status, 413);

    await s.admin.settings.update({ batch: { enabled: true, maxBodySize: 2000 } });
    try {
      const body = JSON.stringify({ requests: [{ method: 'POST', url: '/api/collections/plain/records', body: { n: 'y'.repeat(3000) } }] });
      const res = await s.fetch('/api/batch', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: s.admin.authStore.token },
        body,
      });
      assert.equal(res.status, 413);
    } finally {
      await s.admin.settings.update({ batch: { enabled: true, maxBodySize: 0 } });
    }
    const ok = await s.admin.createBatch();
    ok.collection('plain').create({ n: 'y'.repeat(3000) });
    assert.equal((await ok.send())[0]?.status, 200);
  });
});

describe('batch', () => {
  it("PocketBase's batch error shapes: the form, and a failing sub-request wrapped as batch_request_failed", async () => {
    const token = s.admin.authStore.token;
    let res = await call('POST', '/api/batch', { requests: [] }, token);
    assert.equal(res.status, 400);
    assert.equal(res.body.message, 'Invalid batch request data.');
    assert.equal(res.body.data.requests?.code, 'validation_required');
    res = await call(
      'POST',
      '/api/batch',
      { requests: Array.from({ length: 51 }, () => ({ method: 'POST', url: '/api/collections/plain/records', body: {} })) },
      token,
    );
    assert.equal(res.body.data.requests?.code, 'validation_length_too_long');
    const batch = s.admin.createBatch();
    batch.collection('plain').create({ n: 'first' });
    batch.collection('members').create({ email: 'batch-member@example.com' });
    const err = await failure(batch.send());
    assert.equal(err.status, 400);
    assert.equal(err.response.message, 'Batch transaction failed.');
    const failed = err.response.data.requests?.['1'];
    assert.equal(failed?.code, 'batch_request_failed');
    assert.equal(failed?.response?.status, 400);
    assert.equal(failed?.response?.data?.password?.code, 'validation_required');
    assert.equal((await s.admin.collection('plain').getList(1, 1, { filter: 'n = "first"' })).totalItems, 0, 'rolled back');
  });
});

describe('collections import', () => {
  it('with deleteMissing, as PocketBase: the exported list round-trips; missing collections and fields go', async () => {
    await s.admin.collections.create({
      name: 'imp_keep',
      type: 'base',
      fields: [
        { name: 'a', type: 'text' },
        { name: 'b', type: 'text' },
      ],
    });
    await s.admin.collections.create({ name: 'imp_drop', type: 'base', fields: [{ name: 'c', type: 'text' }] });
    const all = await s.admin.collections.getFullList();
    // The whole export imports back unchanged.
    assert.equal(await s.admin.collections.import(all, true), true);
    const list = all
      .filter((c) => c.name !== 'imp_drop')
      .map((c) => (c.name === 'imp_keep' ? { ...c, fields: c.fields.filter((f: { name: string }) => f.name !== 'b') } : c));
    assert.equal(await s.admin.collections.import(list, true), true);
    await failure(s.admin.collections.getOne('imp_drop'));
    const kept = await s.admin.collections.getOne('imp_keep');
    assert.deepEqual(
      kept.fields.map((f: { name: string }) => f.name).filter((n: string) => n === 'a' || n === 'b'),
      ['a'],
    );
    assert.ok(await s.admin.collections.getOne('_superusers'));
  });

  it('without deleteMissing, fields the import leaves out are kept (PocketBase merges)', async () => {
    await s.admin.collections.create({
      name: 'imp_merge',
      type: 'base',
      fields: [
        { name: 'a', type: 'text' },
        { name: 'b', type: 'text' },
      ],
    });
    const c = await s.admin.collections.getOne('imp_merge');
    await s.admin.collections.import([{ ...c, fields: c.fields.filter((f: { name: string }) => f.name !== 'b') }], false);
    const after = await s.admin.collections.getOne('imp_merge');
    assert.ok(after.fields.some((f: { name: string }) => f.name === 'b'));
  });
});

describe('JSON key order', () => {
  it('records print their keys in byte order (a Go map, as PocketBase); auth responses as record, token', async () => {
    const r = await call('POST', '/api/collections/plain/records', { n: 'order' });
    const keys = Object.keys(r.body);
    assert.deepEqual(keys, [...keys].sort());
    assert.ok(keys.includes('collectionId') && keys.includes('n'));
    await makeUser('members', 'keys@example.com');
    const auth = await call('POST', '/api/collections/members/auth-with-password', { identity: 'keys@example.com', password: PASSWORD });
    assert.deepEqual(Object.keys(auth.body), ['record', 'token']);
    const recordKeys = Object.keys(auth.body.record);
    assert.deepEqual(recordKeys, [...recordKeys].sort());
  });
});

describe('expand', () => {
  it('prints "expand": {} once a requested path names a real relation, and nothing for an unknown path', async () => {
    await s.admin.collections.create({ name: 'exp_targets', type: 'base', fields: [{ name: 'n', type: 'text' }], listRule: '', viewRule: '' });
    const targets = await s.admin.collections.getOne('exp_targets');
    await s.admin.collections.create({
      name: 'exp_sources',
      type: 'base',
      fields: [{ name: 'rel', type: 'relation', collectionId: targets.id, maxSelect: 1 }],
      listRule: '',
      viewRule: '',
    });
    const r = await s.admin.collection('exp_sources').create({});
    const res = await call('GET', `/api/collections/exp_sources/records/${r.id}?expand=rel`);
    assert.deepEqual(res.body.expand, {});
    const unknown = await call('GET', `/api/collections/exp_sources/records/${r.id}?expand=nope`);
    assert.equal('expand' in unknown.body, false);
    const plain = await call('GET', `/api/collections/exp_sources/records/${r.id}`);
    assert.equal('expand' in plain.body, false);
  });
});
