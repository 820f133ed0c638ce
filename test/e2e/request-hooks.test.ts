/**
 * Request-level hooks (PocketBase's on*Request family) end to end with the real SDK and raw fetch: each one
 * changes something a client can see (list filtered, view enriched, create body rewritten, auth response
 * augmented, a request refused with its own error), /api/batch sub-requests fire the record hooks inside the
 * batch's transaction, and a hook that hangs answers 504 within the request timeout without blocking the writer.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventSource } from 'eventsource';
import type { ClientResponseError } from 'pocketbase';
import { AppError } from '../../src/errors/index.js';
import type { Hook, HookHandler } from '../../src/hooks/index.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { getJson, postJson, signUp } from '../helpers/auth-http.js';

const TIMEOUT_MS = 600;
(globalThis as Record<string, unknown>).EventSource = EventSource;

describe('request hooks', () => {
  let s: TestServer;
  const bound: Array<() => void> = [];
  /** Binds a handler for one test (unbound after it). */
  function on<E extends { tags?: readonly string[] }>(hook: Hook<E>, handler: HookHandler<E>, tags?: string[]): void {
    const id = hook.bind(handler, tags ? { tags } : {});
    bound.push(() => hook.unbind(id));
  }

  before(async () => {
    s = await startServer({ hookTimeout: TIMEOUT_MS });
    for (const name of ['posts', 'notes']) {
      await s.admin.collections.create({
        name,
        type: 'base',
        fields: [
          { name: 'title', type: 'text' },
          { name: 'secret', type: 'bool' },
          { name: 'doc', type: 'file', maxSelect: 1, maxSize: 1_000_000 },
        ],
        listRule: '',
        viewRule: '',
        createRule: '',
        updateRule: '',
        deleteRule: '',
      });
    }
  });
  afterEach(() => {
    for (const unbind of bound.splice(0)) unbind();
  });
  after(async () => {
    await s.close();
  });

  it('onRecordsListRequest: a handler filters the result after next(), only for its tagged collection', async () => {
    for (const title of ['open 1', 'hidden', 'open 2']) {
      await s.admin.collection('posts').create({ title, secret: title === 'hidden' });
      await s.admin.collection('notes').create({ title, secret: title === 'hidden' });
    }
    const seen: string[] = [];
    on(
      s.app.hooks.onRecordsListRequest,
      async (e, next) => {
        seen.push(...e.tags, e.collection.name, e.request.method);
        await next();
        e.response!.items = e.response!.items.filter((r) => r.secret !== true);
        e.response!.totalItems = e.response!.items.length;
      },
      ['posts'],
    );
    const posts = await s.client().collection('posts').getList(1, 50);
    assert.deepEqual(posts.items.map((r) => r.title).sort(), ['open 1', 'open 2']);
    assert.equal(posts.totalItems, 2);
    const notes = await s.client().collection('notes').getList(1, 50);
    assert.equal(notes.items.length, 3, 'the untagged collection is untouched');
    const postsId = s.app.collections.require('posts').id;
    assert.deepEqual(seen, [postsId, 'posts', 'posts', 'GET']);
  });

  it('onRecordViewRequest: enriches the response; a handler may answer without next()', async () => {
    const rec = await s.admin.collection('posts').create({ title: 'viewed' });
    on(s.app.hooks.onRecordViewRequest, async (e, next) => {
      if (e.id === 'cachedcachedxyz') {
        e.response = { id: e.id, title: 'from the cache' };
        return;
      }
      await next();
      e.response!.reads = 42;
    });
    const got = await s.client().collection('posts').getOne(rec.id);
    assert.equal(got.title, 'viewed');
    assert.equal(got.reads, 42);
    const cached = await getJson(s, '/api/collections/posts/records/cachedcachedxyz');
    assert.equal(cached.status, 200);
    assert.deepEqual(cached.body, { id: 'cachedcachedxyz', title: 'from the cache' });
  });

  it('onRecordCreateRequest: changes the body before next() and sees the stored record after it', async () => {
    let stored: Record<string, unknown> | undefined;
    on(s.app.hooks.onRecordCreateRequest, async (e, next) => {
      e.body.data.title = String(e.body.data.title).toUpperCase();
      await next();
      stored = e.record;
    });
    const rec = await s.client().collection('posts').create({ title: 'shout' });
    assert.equal(rec.title, 'SHOUT');
    assert.equal(stored?.id, rec.id);
    const row = await s.app.reader.findById(s.app.collections.require('posts'), rec.id);
    assert.equal(row?.title, 'SHOUT');
  });

  it('onRecordCreateRequest: sees the uploaded files of a multipart create', async () => {
    const names: string[] = [];
    on(s.app.hooks.onRecordCreateRequest, async (e, next) => {
      names.push(...e.body.files.map((f) => `${f.field}:${f.filename}:${f.size}`));
      await next();
    });
    const form = new FormData();
    form.append('title', 'with file');
    form.append('doc', new Blob(['hello world'], { type: 'text/plain' }), 'hello.txt');
    const rec = await s.client().collection('posts').create(form);
    assert.match(String(rec.doc), /^hello_\w+\.txt$/);
    assert.deepEqual(names, ['doc:hello.txt:11']);
  });

  it('onRecordUpdateRequest / onRecordDeleteRequest: a thrown AppError answers its envelope, anything else a generic 500', async () => {
    const rec = await s.admin.collection('posts').create({ title: 'locked' });
    on(s.app.hooks.onRecordUpdateRequest, (e) => {
      if (e.body.data.title === 'forbidden words') throw new AppError('forbidden', 'That title is not allowed.');
      throw new Error('secret internal detail');
    });
    on(s.app.hooks.onRecordDeleteRequest, async () => {
      throw new AppError('bad_request', 'Posts cannot be deleted on Fridays.', { id: { code: 'validation_friday', message: 'Not today.' } });
    });
    await assert.rejects(s.client().collection('posts').update(rec.id, { title: 'forbidden words' }), (e: ClientResponseError) => {
      assert.equal(e.status, 403);
      assert.equal(e.response.message, 'That title is not allowed.');
      return true;
    });
    const res = await s.fetch(`/api/collections/posts/records/${rec.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'other' }),
    });
    assert.equal(res.status, 500);
    const body = await res.json();
    assert.deepEqual(body, {
      data: {},
      message: 'Something went wrong while processing your request.',
      status: 500,
      requestId: res.headers.get('x-request-id'),
    });
    await assert.rejects(s.client().collection('posts').delete(rec.id), (e: ClientResponseError) => {
      assert.equal(e.status, 400);
      assert.equal(e.response.data.id.code, 'validation_friday');
      return true;
    });
    assert.equal((await s.client().collection('posts').getOne(rec.id)).title, 'locked', 'nothing changed');
  });

  it('onRecordCreateRequest: the handler can see and change the auth before the action', async () => {
    const coll = await s.admin.collections.create({
      name: 'owned',
      type: 'base',
      fields: [{ name: 'title', type: 'text' }],
      createRule: '@request.auth.id != ""',
      listRule: '',
      viewRule: '',
    });
    const userId = await signUp(s, 'hooked-owner@example.com');
    const user = await s.app.reader.findById(s.app.collections.require('users'), userId);
    on(
      s.app.hooks.onRecordCreateRequest,
      async (e, next) => {
        // A guest sending the right header is treated as that user (a contrived "API key" scheme).
        if (!e.request.auth && e.request.headers.x_act_as === userId)
          e.request = { ...e.request, auth: { collection: s.app.collections.require('users') as never, record: user! } };
        await next();
      },
      [coll.id],
    );
    assert.equal((await postJson(s, '/api/collections/owned/records', { title: 'x' })).status, 400, 'the create rule refuses guests');
    const ok = await postJson(s, '/api/collections/owned/records', { title: 'x' }, undefined, { 'x-act-as': userId });
    assert.equal(ok.status, 200);
  });

  it('auth hooks: onRecordAuthWithPasswordRequest changes the identity, onRecordAuthRequest augments the response', async () => {
    const id = await signUp(s, 'alias-user@example.com');
    const methods: string[] = [];
    on(
      s.app.hooks.onRecordAuthWithPasswordRequest,
      async (e, next) => {
        if (e.identity === 'alias') e.identity = 'alias-user@example.com';
        await next();
        assert.equal(e.record?.id, id);
      },
      ['users'],
    );
    on(
      s.app.hooks.onRecordAuthRequest,
      async (e, next) => {
        methods.push(e.authMethod);
        e.meta = { ...(e.meta ?? {}), plan: 'gold' };
        await next();
        e.response!.greeting = `hello ${String(e.record.email)}`;
      },
      ['users'],
    );
    const pb = s.client();
    const auth = await pb.collection('users').authWithPassword('alias', 'password123');
    assert.equal(auth.record.id, id);
    assert.deepEqual(auth.meta, { plan: 'gold' });
    assert.equal((auth as unknown as Record<string, unknown>).greeting, 'hello alias-user@example.com');
    // Refresh fires its own hook and the generic one.
    let refreshed = 0;
    on(s.app.hooks.onRecordAuthRefreshRequest, async (e, next) => {
      refreshed++;
      assert.equal(e.record.id, id);
      await next();
    });
    const again = await pb.collection('users').authRefresh();
    assert.equal(again.record.id, id);
    assert.equal(refreshed, 1);
    assert.deepEqual(methods, ['password', 'refresh']);
    const imp = await s.fetch(`/api/collections/users/impersonate/${id}`, { method: 'POST', headers: { authorization: s.admin.authStore.token } });
    assert.equal(((await imp.json()) as Record<string, unknown>).greeting, 'hello alias-user@example.com');
    assert.equal(methods.pop(), 'impersonate');
    // Superuser logins do not reach a handler tagged for users.
    await s.client().collection('_superusers').authWithPassword('admin@example.com', 'correct-horse-battery');
    assert.deepEqual(methods, ['password', 'refresh']);
  });

  it('OTP hooks: the request-otp response can be augmented, an OTP sign-in refused', async () => {
    await s.admin.collections.update('users', { otp: { enabled: true } });
    try {
      on(s.app.hooks.onRecordRequestOTPRequest, async (e, next) => {
        await next();
        (e.response as Record<string, unknown>).hint = `sent to ${e.email}`;
      });
      const otp = await postJson(s, '/api/collections/users/request-otp', { email: 'otp-user@example.com' });
      assert.equal(otp.status, 200);
      assert.equal(typeof otp.body.otpId, 'string');
      assert.equal(otp.body.hint, 'sent to otp-user@example.com');
      on(s.app.hooks.onRecordAuthWithOTPRequest, (e) => {
        assert.equal(e.otpId, otp.body.otpId);
        throw new AppError('forbidden', 'OTP sign-in is paused.');
      });
      const signIn = await postJson(s, '/api/collections/users/auth-with-otp', { otpId: otp.body.otpId, password: '12345678' });
      assert.equal(signIn.status, 403);
      assert.equal(signIn.body.message, 'OTP sign-in is paused.');
    } finally {
      await s.admin.collections.update('users', { otp: { enabled: false } });
    }
  });

  it('email-flow hooks refuse a request with their own error', async () => {
    on(s.app.hooks.onRecordRequestPasswordResetRequest, (e) => {
      if (e.email.endsWith('@blocked.example')) throw new AppError('bad_request', 'This domain cannot reset passwords.');
    });
    const refused = await postJson(s, '/api/collections/users/request-password-reset', { email: 'x@blocked.example' });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.message, 'This domain cannot reset passwords.');
    const ok = await postJson(s, '/api/collections/users/request-password-reset', { email: 'x@fine.example' });
    assert.equal(ok.status, 204);
    let verifications = 0;
    on(s.app.hooks.onRecordRequestVerificationRequest, async (_e, next) => {
      verifications++;
      await next();
    });
    assert.equal((await postJson(s, '/api/collections/users/request-verification', { email: 'v@fine.example' })).status, 204);
    assert.equal(verifications, 1);
  });

  it('batch: onBatchRequest sees the sub-requests; their record hooks run in the batch transaction, and a refusal rolls all back', async () => {
    await s.admin.settings.update({ batch: { enabled: true, maxRequests: 10 } });
    const batches: number[] = [];
    const txs: boolean[] = [];
    on(s.app.hooks.onBatchRequest, async (e, next) => {
      batches.push(e.requests.length);
      await next();
    });
    on(
      s.app.hooks.onRecordCreateRequest,
      async (e, next) => {
        txs.push(e.tx !== undefined);
        if (e.body.data.title === 'refuse me') throw new AppError('forbidden', 'No.');
        e.body.data.title = `batched ${String(e.body.data.title)}`;
        await next();
      },
      ['notes'],
    );
    const ok = s.client().createBatch();
    ok.collection('notes').create({ title: 'a' });
    ok.collection('notes').create({ title: 'b' });
    const res = await ok.send();
    assert.deepEqual(
      res.map((r) => r.body.title),
      ['batched a', 'batched b'],
    );
    assert.deepEqual(txs, [true, true]);
    const before = (await s.admin.collection('notes').getList(1, 1)).totalItems;
    const bad = s.client().createBatch();
    bad.collection('notes').create({ title: 'c' });
    bad.collection('notes').create({ title: 'refuse me' });
    await assert.rejects(bad.send(), (e: ClientResponseError) => {
      assert.equal(e.status, 400);
      assert.equal(e.response.data.requests['1'].response.status, 403);
      return true;
    });
    assert.equal((await s.admin.collection('notes').getList(1, 1)).totalItems, before, 'the first sub-request was rolled back');
    assert.deepEqual(batches, [2, 2]);
  });

  it('onFileDownloadRequest: can refuse a download after the access checks', async () => {
    const form = new FormData();
    form.append('doc', new Blob(['file body'], { type: 'text/plain' }), 'report.txt');
    const rec = await s.admin.collection('posts').create(form);
    const path = `/api/files/posts/${rec.id}/${rec.doc}`;
    assert.equal((await s.fetch(path)).status, 200);
    on(s.app.hooks.onFileDownloadRequest, (e) => {
      assert.equal(e.fileField, 'doc');
      throw new AppError('forbidden', 'Downloads are paused.');
    });
    const res = await s.fetch(path);
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { message: string }).message, 'Downloads are paused.');
  });

  it('settings hooks: the list response can be changed, an update refused', async () => {
    on(s.app.hooks.onSettingsListRequest, async (e, next) => {
      await next();
      (e.response as Record<string, unknown>).note = 'seen by a hook';
    });
    on(s.app.hooks.onSettingsUpdateRequest, (e) => {
      if ('smtp' in e.patch) throw new AppError('forbidden', 'SMTP is managed elsewhere.');
      return undefined;
    });
    const settings = (await s.admin.settings.getAll()) as Record<string, unknown>;
    assert.equal(settings.note, 'seen by a hook');
    await assert.rejects(s.admin.settings.update({ smtp: { enabled: false } }), (e: ClientResponseError) => e.status === 403);
  });

  it('collection and file-token hooks: a new collection’s body is changed, a token response augmented', async () => {
    on(s.app.hooks.onCollectionCreateRequest, async (e, next) => {
      // House rule: new collections start locked (null rules), whatever the dashboard sent.
      e.body = { ...e.body, listRule: null, viewRule: null };
      await next();
    });
    on(s.app.hooks.onCollectionDeleteRequest, (e) => {
      if (e.collection.name === 'keepme') throw new AppError('forbidden', 'This collection is protected.');
    });
    const created = await s.admin.collections.create({ name: 'keepme', type: 'base', fields: [{ name: 'title', type: 'text' }], listRule: '', viewRule: '' });
    assert.equal(created.listRule, null);
    assert.equal(created.viewRule, null);
    await assert.rejects(s.admin.collections.delete('keepme'), (e: ClientResponseError) => e.status === 403);
    assert.equal((await s.admin.collections.getOne('keepme')).name, 'keepme');
    on(s.app.hooks.onFileTokenRequest, async (e, next) => {
      await next();
      (e.response as Record<string, unknown>).for = e.request.auth?.collection.name;
    });
    const token = await postJson(s, '/api/files/token', {}, s.admin.authStore.token);
    assert.equal(typeof token.body.token, 'string');
    assert.equal(token.body.for, '_superusers');
  });

  it('realtime hooks: a connection can be refused, subscriptions rewritten', async () => {
    on(s.app.hooks.onRealtimeConnectRequest, async (e, next) => {
      if (e.request.headers.x_block === '1') throw new AppError('forbidden', 'No streams for you.');
      await next();
    });
    const refused = await s.fetch('/api/realtime', { headers: { 'x-block': '1' } });
    assert.equal(refused.status, 403);
    assert.equal(((await refused.json()) as { message: string }).message, 'No streams for you.');
    const seen: string[][] = [];
    on(s.app.hooks.onRealtimeSubscribeRequest, async (e, next) => {
      seen.push([...e.subscriptions]);
      // Nobody may listen to notes: those topics are dropped before they are applied.
      e.subscriptions = e.subscriptions.filter((t) => !t.startsWith('notes'));
      await next();
    });
    const pb = s.client();
    const got: string[] = [];
    const offNotes = await pb.collection('notes').subscribe('*', (ev) => got.push(`notes ${ev.action}:${String(ev.record.title)}`));
    const offPosts = await pb.collection('posts').subscribe('*', (ev) => got.push(`posts ${ev.action}:${String(ev.record.title)}`));
    try {
      // Events reach one client in commit order: once the post's arrived, the note's would have too.
      await s.admin.collection('notes').create({ title: 'unseen' });
      await s.admin.collection('posts').create({ title: 'seen' });
      const deadline = Date.now() + 5000;
      while (got.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(got, ['posts create:seen']);
      assert.ok(
        seen.some((topics) => topics.includes('notes/*')),
        'the handler saw the topics asked for',
      );
    } finally {
      await offNotes();
      await offPosts();
      pb.realtime.unsubscribe();
    }
  });

  it('a hook that hangs answers 504 within the request timeout; the server keeps serving and the writer is free', async () => {
    const rec = await s.admin.collection('notes').create({ title: 'slow' });
    on(s.app.hooks.onRecordViewRequest, () => new Promise<void>(() => {}), ['notes']);
    const started = performance.now();
    const res = await getJson(s, `/api/collections/notes/records/${rec.id}`);
    const ms = performance.now() - started;
    assert.equal(res.status, 504);
    assert.deepEqual({ ...res.body, requestId: undefined }, { data: {}, message: 'The request took too long.', status: 504, requestId: undefined });
    assert.ok(ms >= TIMEOUT_MS - 50, `answered after ${ms} ms`);
    assert.ok(ms < TIMEOUT_MS + 4000, `answered after ${ms} ms`);
    // A hung handler inside a batch's transaction: 504, the batch is rolled back, the writer is not held.
    on(
      s.app.hooks.onRecordCreateRequest,
      async (e, next) => {
        if (e.body.data.title === 'hang') await new Promise(() => {});
        await next();
      },
      ['notes'],
    );
    const count = (await s.admin.collection('notes').getList(1, 1)).totalItems;
    const batch = s.client().createBatch();
    batch.collection('notes').create({ title: 'first' });
    batch.collection('notes').create({ title: 'hang' });
    await assert.rejects(batch.send(), (e: ClientResponseError) => {
      assert.equal(e.status, 400);
      assert.equal(e.response.data.requests['1'].response.status, 504);
      return true;
    });
    assert.equal((await s.admin.collection('notes').getList(1, 1)).totalItems, count);
    const after = await s.client().collection('notes').create({ title: 'writer is free' });
    assert.equal(after.title, 'writer is free');
  });
});
