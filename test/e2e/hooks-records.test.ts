/**
 * Hook files in a real server (TypeScript written to a temp hooks dir, loaded as `plinth serve` does),
 * driven over HTTP with the SDK: record hooks (computed field, abort, ApiError envelope, generic 500,
 * next() not called, a hang bounded), after-commit, enrichment per caller (HTTP and realtime), mail
 * send (changed / cancelled), serve/terminate, load order across files, relative TS modules and an npm
 * package, records as caller vs as system, bound filter params, transactions joined and rolled back, and
 * a batch whose sub-requests' hooks run in the batch's transaction.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { writeFiles } from '../helpers/hooks.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventSource } from 'eventsource';
import type { ClientResponseError } from 'pocketbase';
import { startServer, type TestServer } from '../helpers/server.js';
import { startSmtpSink, type SmtpSink } from '../helpers/auth-smtp-sink.js';
import { login, signUp } from '../helpers/auth-http.js';
import type { PlinthApp, RecordModel } from '../../src/index.js';

(globalThis as { EventSource?: unknown }).EventSource ??= EventSource;

const MAIN = `
import { ApiError, defineHooks } from 'plinth';
import { slugify } from './lib/slug';
import shout from 'tinypkg';

export default defineHooks((app) => {
  app.onRecordCreate(async (e) => {
    e.record.slug = slugify(String(e.record.title));
    e.record.trail = 'a';
    if (e.record.title === 'forbidden') {
      throw new ApiError(409, 'No forbidden titles.', { title: { code: 'validation_forbidden', message: 'Not this one.' } });
    }
    if (e.record.title === 'crash') throw new Error('secret internals at /etc/passwd');
    if (e.record.title === 'shout') e.record.title = shout(String(e.record.title));
    await e.next();
  }, 'posts');

  app.onRecordAfterCreateCommit(async (e) => {
    await e.app.system.records('audit').create({ kind: 'created', ref: e.record.id });
  }, 'posts');

  app.onRecordDelete(async (e) => {
    if (e.record.locked) throw new ApiError(403, 'This post is locked.');
    await e.next();
  }, 'posts');

  app.onRecordEnrich(async (e) => {
    e.record.mine = e.request.auth?.record.id === e.record.author;
    if (!e.request.auth) delete e.record.note;
    await e.next();
  }, 'posts');

  // Orders take stock in the same transaction: out of stock rolls both back.
  app.onRecordCreate(async (e) => {
    const stock = await e.app.system.records('stock').find(String(e.record.item));
    const left = Number(stock.count) - Number(e.record.qty);
    await e.app.system.records('stock').update(stock.id, { count: left });
    if (left < 0) throw new ApiError(400, 'Out of stock.');
    await e.next();
  }, 'orders');

  // Welcome mail on sign-up.
  app.onRecordAfterCreateCommit(async (e) => {
    await e.app.mail.send({ to: String(e.record.email), subject: 'Welcome', text: 'Hello ' + String(e.record.email) });
  }, 'users');

  app.onMailerSend(async (e) => {
    if (e.message.to.includes('cancel')) return; // not calling next() cancels the mail
    e.message.subject = '[Shop] ' + e.message.subject;
    await e.next();
  });

  app.onServe(async (e) => {
    await e.app.system.records('audit').create({ kind: 'serve', ref: e.address });
  });
});
`;

const SECOND = `
import { writeFileSync } from 'node:fs';
export default (app: any) => {
  app.onRecordCreate(async (e: any) => {
    e.record.trail = String(e.record.trail) + 'b';
    if (e.record.title === 'nonext') return;
    if (e.record.title === 'hang') await new Promise(() => {});
    if (e.record.title === 'careless') {
      void e.next(); // neither awaited nor returned: the write must still complete inside the transaction
      return;
    }
    await e.next();
  }, 'posts');
  app.onTerminate(async () => { writeFileSync(process.env.PLINTH_TEST_TERMINATE_FILE as string, 'bye'); });
  app.onRecordEnrich(async (e: any) => { e.record.greeting = 'hi ' + e.collection.name; await e.next(); }, 'users');
  const seen = ((globalThis as any).__hookTestSeen ??= []);
  app.onCollectionChange(async (e: any) => { seen.push('collection:' + e.action + ':' + e.collection.name); await e.next(); });
  app.onSettingsChange(async (e: any) => { seen.push('settings:' + e.settings.meta.appName); await e.next(); });
};
`;

describe('hooks: record, enrich, mail, serve hooks and the app API', () => {
  let s: TestServer;
  let hooksDir: string;
  let smtp: SmtpSink;
  let api: PlinthApp;
  const terminateFile = join(mkdtempSync(join(tmpdir(), 'plinth-term-')), 'terminated');

  before(async () => {
    process.env.PLINTH_TEST_TERMINATE_FILE = terminateFile;
    hooksDir = mkdtempSync(join(tmpdir(), 'plinth-hooks-'));
    writeFiles(hooksDir, {
      '00-main.ts': MAIN,
      '10-second.mts': SECOND,
      'lib/slug.ts': `export function slugify(s: string): string { return s.toLowerCase().replace(/[^a-z0-9]+/g, '-'); }\n`,
      'node_modules/tinypkg/package.json': JSON.stringify({ name: 'tinypkg', version: '1.0.0', type: 'module', exports: './index.js' }),
      'node_modules/tinypkg/index.js': `export default (s) => s.toUpperCase() + '!';\n`,
      'types.d.ts': 'this is not loaded: declaration files are skipped',
    });
    s = await startServer({
      settings: { batch: { enabled: true, maxRequests: 10 } },
      hooks: { dir: hooksDir, hookTimeoutMs: 500 },
      beforeHooks: async (app) => {
        const text = (name: string, extra: Record<string, unknown> = {}) => ({ name, type: 'text', ...extra });
        await app.collections.create({ name: 'audit', type: 'base', fields: [text('kind'), text('ref')] });
        await app.collections.create({
          name: 'posts',
          type: 'base',
          fields: [
            text('title'),
            text('slug'),
            text('trail'),
            text('author'),
            text('note'),
            text('internal', { hidden: true }),
            { name: 'public', type: 'bool' },
            { name: 'locked', type: 'bool' },
          ],
          listRule: 'public = true || author = @request.auth.id',
          viewRule: 'public = true || author = @request.auth.id',
          createRule: '',
          updateRule: 'author = @request.auth.id',
          deleteRule: '',
        });
        await app.collections.create({ name: 'stock', type: 'base', fields: [{ name: 'count', type: 'number' }] });
        const posts = app.collections.require('posts');
        await app.collections.create({
          name: 'comments',
          type: 'base',
          fields: [text('body'), { name: 'post', type: 'relation', collectionId: posts.id, maxSelect: 1 }],
          listRule: '',
          viewRule: '',
        });
        await app.collections.create({ name: 'orders', type: 'base', fields: [text('item'), { name: 'qty', type: 'number' }], createRule: '' });
      },
    });
    api = s.hooks!.api;
    smtp = await startSmtpSink();
    await smtp.attach(s);
  });
  after(async () => {
    await s.close();
    await smtp.close();
  });

  it('loads the .ts/.mts files in name order, skipping .d.ts', () => {
    assert.deepEqual(s.hooks!.files, ['00-main.ts', '10-second.mts']);
  });

  it('onRecordCreate changes the record inside the write (relative TS module, npm package, load order)', async () => {
    const rec = await s.client().collection('posts').create({ title: 'Hello World', public: true });
    assert.equal(rec.slug, 'hello-world');
    assert.equal(rec.trail, 'ab', 'files run in name order, each calling next()');
    const loud = await s.client().collection('posts').create({ title: 'shout', public: true });
    assert.equal(loud.title, 'SHOUT!', 'the npm package from the hooks dir node_modules ran');
    const stored = await s.admin.collection('posts').getOne(rec.id);
    assert.equal(stored.slug, 'hello-world');
  });

  it('ApiError answers in the envelope with its status and data; nothing is written', async () => {
    const res = await s.fetch('/api/collections/posts/records', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'forbidden' }),
    });
    assert.equal(res.status, 409);
    assert.deepEqual(await res.json(), {
      data: { title: { code: 'validation_forbidden', message: 'Not this one.' } },
      message: 'No forbidden titles.',
      status: 409,
    });
    assert.equal((await s.admin.collection('posts').getList(1, 1, { filter: 'title = "forbidden"' })).totalItems, 0);
  });

  it('any other throw is a generic 500 that leaks nothing; a handler that skips next() is an error too', async () => {
    for (const title of ['crash', 'nonext']) {
      const res = await s.fetch('/api/collections/posts/records', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ title }),
      });
      assert.equal(res.status, 500, title);
      const body = (await res.json()) as { message: string };
      assert.equal(body.message, 'Something went wrong while processing your request.');
      assert.equal(JSON.stringify(body).includes('passwd'), false);
      assert.equal((await s.admin.collection('posts').getList(1, 1, { filter: `title = "${title}"` })).totalItems, 0);
    }
  });

  it('a handler that calls e.next() without awaiting it still gets a complete write', async () => {
    const rec = await s.client().collection('posts').create({ title: 'careless', public: true });
    assert.equal((await s.admin.collection('posts').getOne(rec.id)).trail, 'ab');
  });

  it('a hook that hangs is cut off (503) and its write rolled back; the server keeps writing', async () => {
    const res = await s.fetch('/api/collections/posts/records', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'hang' }),
    });
    assert.equal(res.status, 503);
    assert.equal((await s.admin.collection('posts').getList(1, 1, { filter: 'title = "hang"' })).totalItems, 0);
    const ok = await s.client().collection('posts').create({ title: 'after hang', public: true });
    assert.ok(ok.id);
  });

  it('after-commit hooks run after the write (and can write through e.app)', async () => {
    const rec = await s.client().collection('posts').create({ title: 'audited', public: true });
    await s.app.hooks.settled();
    const audit = await s.admin.collection('audit').getFirstListItem(`ref = "${rec.id}"`);
    assert.equal(audit.kind, 'created');
  });

  it('onRecordDelete aborts a delete with ApiError', async () => {
    const rec = await s.admin.collection('posts').create({ title: 'keep me', locked: true, public: true });
    await assert.rejects(s.client().collection('posts').delete(rec.id), (e: ClientResponseError) => e.status === 403 && e.message === 'This post is locked.');
    assert.equal((await s.admin.collection('posts').getOne(rec.id)).title, 'keep me');
    const free = await s.admin.collection('posts').create({ title: 'bye', public: true });
    await s.client().collection('posts').delete(free.id);
  });

  it('onRecordEnrich changes what each caller sees (list, view, create, realtime)', async () => {
    await signUp(s, 'reader@example.com');
    const user = await login(s, 'reader@example.com');
    const uid = user.authStore.record!.id;
    assert.equal(user.authStore.record!.greeting, 'hi users', 'the auth response record is enriched too');
    const created = await user.collection('posts').create({ title: 'mine', author: uid, note: 'for members', public: true });
    assert.equal(created.mine, true);
    assert.equal(created.note, 'for members');
    const asGuest = await s.client().collection('posts').getOne(created.id);
    assert.equal(asGuest.mine, false);
    assert.equal('note' in asGuest, false, 'guests do not get the note');
    const list = await user.collection('posts').getFullList({ filter: `id = "${created.id}"` });
    assert.equal(list[0]?.mine, true);

    // Expanded records are enriched too, for the same caller.
    await api.system.records('comments').create({ body: 'nice', post: created.id });
    const comments = await user.collection('comments').getFullList({ filter: `post = "${created.id}"`, expand: 'post' });
    assert.equal(comments[0]?.expand?.post?.mine, true);
    const guestComments = await s
      .client()
      .collection('comments')
      .getFullList({ filter: `post = "${created.id}"`, expand: 'post' });
    assert.equal(guestComments[0]?.expand?.post?.mine, false);

    const events: RecordModel[] = [];
    const unsubscribe = await user.collection('posts').subscribe('*', (e) => events.push(e.record as RecordModel));
    try {
      const other = await s.admin.collection('posts').create({ title: 'live', author: uid, public: true });
      for (let i = 0; i < 100 && events.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(events[0]?.id, other.id);
      assert.equal(events[0]?.mine, true, 'the realtime message was enriched for the subscriber');
    } finally {
      await unsubscribe();
    }
  });

  it('welcome mail on sign-up goes through onMailerSend (changed, or cancelled)', async () => {
    await signUp(s, 'cancel-me@example.com');
    await signUp(s, 'welcome@example.com');
    const mail = await smtp.waitFor((m) => m.to.includes('welcome@example.com'));
    assert.equal(mail.subject, '[Shop] Welcome');
    assert.match(mail.text, /Hello welcome@example.com/);
    await s.app.hooks.settled();
    assert.equal(smtp.to('cancel-me@example.com').length, 0, 'the cancelled mail was never sent');
  });

  it('onServe ran once the server listened; onTerminate runs on shutdown (checked at the end)', async () => {
    const serve = await s.admin.collection('audit').getFirstListItem('kind = "serve"');
    assert.equal(serve.ref, s.url);
    assert.equal(existsSync(terminateFile), false);
  });

  it('records as a caller apply the rules; as the system they are bypassed (hidden fields too)', async () => {
    const owner = await signUp(s, 'owner@example.com');
    const ownerRec = await s.admin.collection('users').getOne(owner);
    const priv = await api.system.records('posts').create({ title: 'private one', author: owner, internal: 'ops only' });
    assert.equal(priv.internal, 'ops only', 'the system sees hidden fields');
    // A guest neither lists nor views it.
    const guestList = await api.records('posts').list({ filter: 'id = {:id}', params: { id: priv.id } });
    assert.equal(guestList.totalItems, 0);
    await assert.rejects(api.records('posts').as(null).find(priv.id), (e: { status?: number }) => e.status === 404);
    // The owner (an auth record as caller) does, without the hidden field.
    const mine = await api.records('posts').as(ownerRec).find(priv.id);
    assert.equal(mine.title, 'private one');
    assert.equal('internal' in mine, false);
    // Another user may not update it (404, the update rule), the owner may.
    const otherId = await signUp(s, 'other@example.com');
    const other = await s.admin.collection('users').getOne(otherId);
    await assert.rejects(api.records('posts').as(other).update(priv.id, { title: 'hijacked' }), (e: { status?: number }) => e.status === 404);
    const updated = await api.records('posts').as({ collectionName: 'users', id: owner }).update(priv.id, { title: 'renamed' });
    assert.equal(updated.title, 'renamed');
    // The system sees everything; list params are bound, never spliced.
    const all = await api.system.records('posts').list({ filter: 'author = {:a}', params: { a: owner } });
    assert.equal(all.items.length, 1);
    await api.system.records('posts').create({ title: 'it\'s "quoted"', public: true });
    const quoted = await api.system.records('posts').first('title = {:t}', { t: 'it\'s "quoted"' });
    assert.ok(quoted);
    const injected = await api.system.records('posts').list({ filter: 'title = {:t}', params: { t: "x' || id != '" } });
    assert.equal(injected.totalItems, 0);
    await assert.rejects(api.system.records('posts').list({ filter: 'title = {:missing}' }), (e: { status?: number }) => e.status === 400);
    await api.system.records('posts').delete(priv.id);
    assert.equal(await api.system.records('posts').first('id = {:id}', { id: priv.id }), null);
  });

  it('transactions: calls through txApp join it; a throw rolls everything back; nested = savepoint', async () => {
    await assert.rejects(
      api.transaction(async (tx) => {
        assert.equal(tx.inTransaction, true);
        await tx.system.records('audit').create({ kind: 'tx-undone' });
        throw new Error('undo');
      }),
      /undo/,
    );
    assert.equal(await api.system.records('audit').first('kind = "tx-undone"'), null);
    await api.transaction(async (tx) => {
      await tx.system.records('audit').create({ kind: 'tx-outer' });
      await tx
        .transaction(async (inner) => {
          await inner.system.records('audit').create({ kind: 'tx-inner' });
          throw new Error('inner only');
        })
        .catch(() => undefined);
      // Reads inside the transaction see its own writes.
      assert.ok(await tx.system.records('audit').first('kind = "tx-outer"'));
    });
    assert.ok(await api.system.records('audit').first('kind = "tx-outer"'));
    assert.equal(await api.system.records('audit').first('kind = "tx-inner"'), null);
  });

  it("record hooks' e.app joins the write's transaction: out of stock rolls back the stock change too", async () => {
    const stock = await api.system.records('stock').create({ count: 2 });
    await s.client().collection('orders').create({ item: stock.id, qty: 1 });
    assert.equal((await api.system.records('stock').find(stock.id)).count, 1);
    await assert.rejects(
      s.client().collection('orders').create({ item: stock.id, qty: 5 }),
      (e: ClientResponseError) => e.status === 400 && e.message === 'Out of stock.',
    );
    assert.equal((await api.system.records('stock').find(stock.id)).count, 1, "the hook's stock update was rolled back with the order");
  });

  it("inside /api/batch each sub-request's hooks run in the batch's transaction", async () => {
    const stock = await api.system.records('stock').create({ count: 3 });
    const batch = s.client().createBatch();
    batch.collection('orders').create({ item: stock.id, qty: 2 });
    batch.collection('orders').create({ item: stock.id, qty: 2 }); // out of stock: the whole batch fails
    await assert.rejects(batch.send(), (e: ClientResponseError) => e.status === 400);
    assert.equal((await api.system.records('stock').find(stock.id)).count, 3, "the first sub-request's hook write was rolled back");
    assert.equal((await api.system.records('orders').list({ filter: 'item = {:i}', params: { i: stock.id } })).totalItems, 0);
    const ok = s.client().createBatch();
    ok.collection('orders').create({ item: stock.id, qty: 1 });
    ok.collection('orders').create({ item: stock.id, qty: 1 });
    await ok.send();
    assert.equal((await api.system.records('stock').find(stock.id)).count, 1);
  });

  it('settings are a frozen copy without secrets; providers that are absent say so', async () => {
    const settings = api.settings() as unknown as { smtp: Record<string, unknown>; meta: { appName: string } };
    assert.equal(typeof settings.meta.appName, 'string');
    assert.equal('password' in settings.smtp, false);
    assert.throws(() => {
      (settings.meta as { appName: string }).appName = 'x';
    }, TypeError);
    if (!(s.app as unknown as { jobs?: unknown }).jobs) {
      await assert.rejects(api.jobs.enqueue('x', {}), /app\.jobs is not available/);
    }
    if (!(s.app as unknown as { http?: unknown }).http) {
      await assert.rejects(api.http.fetch('https://example.com'), /app\.http is not available/);
    }
    assert.throws(() => api.cron.add('bad id!', '* * * * *', () => {}), /invalid job id/);
    assert.throws(() => api.cron.add('ok', 'not cron', () => {}), /invalid cron expression/);
  });

  it('schema and settings changes reach onCollectionChange / onSettingsChange', async () => {
    await s.admin.collections.create({ name: 'scratch', type: 'base', fields: [{ name: 'x', type: 'text' }] });
    await s.admin.settings.update({ meta: { appName: 'Hooked' } });
    await s.app.hooks.settled();
    const seen = (globalThis as { __hookTestSeen?: string[] }).__hookTestSeen ?? [];
    assert.ok(seen.includes('collection:create:scratch'), seen.join(', '));
    assert.ok(seen.includes('settings:Hooked'), seen.join(', '));
  });

  it('onTerminate runs when the server shuts down', async () => {
    await s.hooks!.terminate('SIGTERM');
    assert.equal(readFileSync(terminateFile, 'utf8'), 'bye');
  });
});
