/**
 * Outbound webhooks end to end, against real loopback receivers (allow-listed through
 * settings.outbound.allowedHosts) that verify every delivery with the `standardwebhooks` package:
 * record events captured in the write transaction (a rollback sends nothing), retries on a fast schedule
 * with one stable webhook-id (5xx, hang past the timeout, redirect, closed socket), the API (secret shown
 * once, validation, messages, attempts, replay, stats, test event), rotation overlap, filters, custom emit.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import { sql } from '../../src/db/sql.js';
import { startServer, SUPERUSER_EMAIL, type TestServer } from '../helpers/server.js';
import { startSmtpSink, type SmtpSink } from '../helpers/auth-smtp-sink.js';
import { eventually, sleep, startReceiver, verifyHit, type Receiver } from '../helpers/webhook-receiver.js';

const SCHEDULE = [0, 150, 150, 150];

async function api(s: TestServer, method: string, path: string, body?: unknown, token = s.admin.authStore.token): Promise<{ status: number; json: any }> {
  const res = await s.fetch(path, {
    method,
    headers: { ...(token ? { authorization: token } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

async function createEndpoint(s: TestServer, body: Record<string, unknown>): Promise<{ id: string; secret: string }> {
  const r = await api(s, 'POST', '/api/webhooks', body);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json;
}

describe('outbound webhooks', () => {
  let s: TestServer;
  const receivers: Receiver[] = [];
  const receiver = async (...args: Parameters<typeof startReceiver>) => {
    const r = await startReceiver(...args);
    receivers.push(r);
    return r;
  };

  before(async () => {
    s = await startServer({
      settings: { outbound: { allowedHosts: ['127.0.0.1'] } },
      jobs: { pollMs: 50 },
      webhooks: { scheduleMs: SCHEDULE, timeoutMs: 400 },
    });
    await s.admin.collections.create({
      name: 'posts',
      type: 'base',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'status', type: 'text' },
        { name: 'secret', type: 'text', hidden: true },
      ],
      listRule: '',
      viewRule: '',
      createRule: '',
      updateRule: '',
      deleteRule: '',
    });
    await s.admin.collections.create({ name: 'notes', type: 'base', fields: [{ name: 'text', type: 'text' }], createRule: '' });
  });
  after(async () => {
    for (const r of receivers) await r.close();
    await s.close();
  });

  const baseline = { create: 0, update: 0, delete: 0 };
  it('costs nothing without endpoints: no record hook is bound', async () => {
    assert.equal(s.app.webhooks.capturing, false);
    baseline.create = s.app.hooks.onRecordCreate.length;
    baseline.update = s.app.hooks.onRecordUpdate.length;
    baseline.delete = s.app.hooks.onRecordDelete.length;
    // An endpoint for custom events only does not need the record hooks either.
    const ep = await createEndpoint(s, { url: 'http://127.0.0.1:9/x', events: ['billing.invoice_paid'] });
    assert.equal(s.app.webhooks.capturing, false);
    assert.equal(s.app.hooks.onRecordCreate.length, baseline.create);
    await api(s, 'DELETE', `/api/webhooks/${ep.id}`);
  });

  it('validates endpoints with clear 400s and refuses non-superusers', async () => {
    const bad = async (body: Record<string, unknown>, field: string) => {
      const r = await api(s, 'POST', '/api/webhooks', body);
      assert.equal(r.status, 400, JSON.stringify(r.json));
      assert.ok(r.json.data[field], `${field} error in ${JSON.stringify(r.json)}`);
    };
    await bad({ url: 'ftp://127.0.0.1/x', events: ['posts.create'] }, 'url');
    await bad({ url: 'http://user:pw@127.0.0.1/x', events: ['posts.create'] }, 'url');
    await bad({ url: 'http://169.254.169.254/latest', events: ['posts.create'] }, 'url');
    await bad({ url: 'http://127.0.0.1/x', events: [] }, 'events');
    await bad({ url: 'http://127.0.0.1/x', events: ['nope.create'] }, 'events');
    await bad({ url: 'http://127.0.0.1/x', events: ['posts.create', 'bad event'] }, 'events');
    await bad({ url: 'http://127.0.0.1/x', events: ['posts.create'], filter: 'missing = 1' }, 'filter');
    await bad({ url: 'http://127.0.0.1/x', events: ['*'], filter: 'title = "x"' }, 'filter');
    await bad({ url: 'http://127.0.0.1/x', events: ['posts.create'], headers: { 'webhook-id': 'x' } }, 'headers');
    await bad({ url: 'http://127.0.0.1/x', events: ['posts.create'], headers: { 'x-a': 'a\r\nb' } }, 'headers');
    await bad({ url: 'http://127.0.0.1/x', events: ['posts.create'], enabled: 'yes' }, 'enabled');
    assert.equal((await api(s, 'GET', '/api/webhooks', undefined, '')).status, 401);
    assert.equal((await api(s, 'POST', '/api/webhooks', { url: 'http://127.0.0.1/x', events: ['*'] }, '')).status, 401);
    assert.equal((await api(s, 'GET', '/api/webhooks/ep_missing')).status, 404);
  });

  it('delivers record events signed (verified with standardwebhooks); the secret is shown only at create', async () => {
    const r = await receiver();
    const ep = await createEndpoint(s, { url: `${r.url}/hook`, events: ['posts.*'], headers: { 'x-extra': 'yes' }, description: 'all posts' });
    assert.match(ep.secret, /^whsec_/);
    const view = await api(s, 'GET', `/api/webhooks/${ep.id}`);
    assert.equal(view.status, 200);
    assert.equal(view.json.secret, undefined);
    assert.ok(!JSON.stringify(view.json).includes(ep.secret.slice(6)));
    const list = await api(s, 'GET', '/api/webhooks');
    assert.ok(!JSON.stringify(list.json).includes(ep.secret.slice(6)));
    // Encrypted at rest (SQLite: key file in the data dir; PostgreSQL: key row in _plinthKeys).
    const row = await s.app.db.get<{ secrets: string }>(sql`SELECT secrets FROM "_webhooks" WHERE id = ${ep.id}`);
    assert.match(row!.secrets, /^enc:v1:[A-Za-z0-9_.-]+:/);
    assert.ok(!row!.secrets.includes(ep.secret.slice(6)));
    assert.equal(s.app.webhooks.capturing, true);
    assert.equal(s.app.hooks.onRecordCreate.length, baseline.create + 1);
    assert.equal(s.app.hooks.onRecordUpdate.length, baseline.update + 1);
    assert.equal(s.app.hooks.onRecordDelete.length, baseline.delete + 1);

    const post = await s.admin.collection('posts').create({ title: 'hello', status: 'draft', secret: 'hidden!' });
    await s.admin.collection('posts').update(post.id, { title: 'hello 2' });
    await s.admin.collection('posts').delete(post.id);
    const hits = await r.waitFor(3);
    const bodies = hits.map((h) => verifyHit(ep.secret, h));
    const byType = Object.fromEntries(bodies.map((b) => [b.type, b]));
    assert.deepEqual(Object.keys(byType).sort(), ['posts.create', 'posts.delete', 'posts.update']);
    const created = byType['posts.create'];
    assert.equal(created.data.collection, 'posts');
    assert.equal(created.data.record.id, post.id);
    assert.equal(created.data.record.title, 'hello');
    assert.equal(created.data.record.secret, undefined, 'hidden fields are not sent');
    assert.ok(!Number.isNaN(Date.parse(created.timestamp)));
    const updated = byType['posts.update'];
    assert.deepEqual(
      updated.data.changes.fields,
      ['title', 'updated'].filter((f) => f in updated.data.changes.previous),
    );
    assert.ok(updated.data.changes.fields.includes('title'));
    assert.equal(updated.data.changes.previous.title, 'hello');
    assert.equal(byType['posts.delete'].data.record.title, 'hello 2');
    for (const h of hits) {
      assert.equal(h.headers['content-type'], 'application/json');
      assert.equal(h.headers['x-extra'], 'yes');
      assert.match(String(h.headers['webhook-id']), /^msg_/);
      assert.equal(h.url, '/hook');
    }
    // Messages and attempts as the API shows them.
    const msgs = await api(s, 'GET', `/api/webhooks/${ep.id}/messages?status=delivered`);
    await eventually(async () => (await api(s, 'GET', `/api/webhooks/${ep.id}/messages?status=delivered`)).json.totalItems === 3, 5000, 'delivered status');
    assert.equal(msgs.status, 200);
    const one = await api(s, 'GET', `/api/webhooks/${ep.id}/messages?type=posts.create`);
    assert.equal(one.json.totalItems, 1);
    const attempts = await api(s, 'GET', `/api/webhooks/${ep.id}/messages/${one.json.items[0].id}/attempts`);
    assert.equal(attempts.json.length, 1);
    assert.equal(attempts.json[0].statusCode, 200);
    assert.equal(attempts.json[0].response, 'ok');
    assert.equal((await api(s, 'GET', `/api/webhooks/${ep.id}/messages?status=bogus`)).status, 400);
    assert.equal((await api(s, 'DELETE', `/api/webhooks/${ep.id}`)).status, 204);
    assert.equal(s.app.webhooks.capturing, false, 'the capture hook goes away with the last endpoint');
    assert.equal(s.app.hooks.onRecordCreate.length, baseline.create);
  });

  it('retries 5xx with the same webhook-id until a 2xx', async () => {
    const r = await receiver((_q, res, n) => {
      res.statusCode = n <= 2 ? 500 : 200;
      res.end(n <= 2 ? 'boom' : 'fine');
    });
    const ep = await createEndpoint(s, { url: r.url, events: ['notes.create'] });
    await s.admin.collection('notes').create({ text: 'x' });
    const hits = await r.waitFor(3);
    const ids = new Set(hits.map((h) => h.headers['webhook-id']));
    assert.equal(ids.size, 1, 'one id across retries');
    for (const h of hits) verifyHit(ep.secret, h);
    assert.ok(hits[1]!.at - hits[0]!.at >= 100, 'the schedule waits between attempts');
    const msgs = await eventually(async () => {
      const m = await api(s, 'GET', `/api/webhooks/${ep.id}/messages`);
      return m.json.items[0]?.status === 'delivered' ? m : null;
    });
    assert.equal(msgs.json.items[0].attempts, 3);
    const attempts = await api(s, 'GET', `/api/webhooks/${ep.id}/messages/${msgs.json.items[0].id}/attempts`);
    assert.deepEqual(
      attempts.json.map((a: { statusCode: number }) => a.statusCode),
      [500, 500, 200],
    );
    assert.equal(attempts.json[0].response, 'boom');
    await api(s, 'DELETE', `/api/webhooks/${ep.id}`);
  });

  it('fails hung, redirected and reset attempts; gives up after the schedule; replay sends the same id again', async () => {
    // Hit 1 hangs past the timeout, 2 redirects, 3 and 4 close the socket, later ones succeed.
    const target = await receiver();
    const r = await receiver((req, res, n) => {
      if (n === 1) return void setTimeout(() => res.end('late'), 1500);
      if (n === 2) {
        res.statusCode = 302;
        res.setHeader('location', `${target.url}/elsewhere`);
        return void res.end();
      }
      if (n <= 4) return void req.socket.destroy();
      res.end('ok');
    });
    const ep = await createEndpoint(s, { url: r.url, events: ['notes.create'] });
    await s.admin.collection('notes').create({ text: 'a' });
    await r.waitFor(4);
    const failed = await eventually(async () => {
      const m = await api(s, 'GET', `/api/webhooks/${ep.id}/messages?status=failed`);
      return m.json.totalItems === 1 ? m.json.items[0] : null;
    });
    assert.equal(failed.attempts, SCHEDULE.length);
    assert.equal(target.hits.length, 0, 'the redirect is not followed');
    const attempts = (await api(s, 'GET', `/api/webhooks/${ep.id}/messages/${failed.id}/attempts`)).json;
    assert.equal(attempts.length, SCHEDULE.length);
    assert.match(attempts[0].error, /timed out/i);
    assert.equal(attempts[1].statusCode, 302);
    assert.match(attempts[1].error, /redirect/i);
    assert.equal(attempts[2].statusCode, 0);
    assert.ok(attempts[2].error.length > 0);
    const endpoint = (await api(s, 'GET', `/api/webhooks/${ep.id}`)).json;
    assert.notEqual(endpoint.failingSince, '');

    const replay = await api(s, 'POST', `/api/webhooks/${ep.id}/messages/${failed.id}/replay`);
    assert.equal(replay.status, 200);
    const hits = await r.waitFor(SCHEDULE.length + 1);
    const last = hits[hits.length - 1]!;
    assert.equal(last.headers['webhook-id'], failed.id);
    verifyHit(ep.secret, last);
    await eventually(async () => (await api(s, 'GET', `/api/webhooks/${ep.id}/messages?status=delivered`)).json.totalItems === 1);
    await eventually(async () => (await api(s, 'GET', `/api/webhooks/${ep.id}`)).json.failingSince === '', 5000, 'failingSince cleared');
    assert.equal((await api(s, 'POST', `/api/webhooks/${ep.id}/messages/msg_nope/replay`)).status, 404);
    await api(s, 'DELETE', `/api/webhooks/${ep.id}`);
  });

  it('replay-failed resends every failed message since a time; stats count per endpoint', async () => {
    let fail = true;
    const r = await receiver((_q, res) => {
      res.statusCode = fail ? 503 : 204;
      res.end();
    });
    const ep = await createEndpoint(s, { url: r.url, events: ['notes.create'] });
    await s.admin.collection('notes').create({ text: '1' });
    await s.admin.collection('notes').create({ text: '2' });
    await eventually(async () => (await api(s, 'GET', `/api/webhooks/${ep.id}/messages?status=failed`)).json.totalItems === 2);
    const stats = await api(s, 'GET', '/api/webhooks/stats');
    const mine = stats.json.find((x: { endpoint: string }) => x.endpoint === ep.id);
    assert.deepEqual({ pending: mine.pending, delivered: mine.delivered, failed: mine.failed }, { pending: 0, delivered: 0, failed: 2 });
    fail = false;
    assert.equal((await api(s, 'POST', `/api/webhooks/${ep.id}/replay-failed`, { since: 'not a date' })).status, 400);
    const res = await api(s, 'POST', `/api/webhooks/${ep.id}/replay-failed`, { since: '2000-01-01 00:00:00.000Z' });
    assert.deepEqual(res.json, { replayed: 2 });
    await eventually(async () => (await api(s, 'GET', `/api/webhooks/${ep.id}/messages?status=delivered`)).json.totalItems === 2);
    await api(s, 'DELETE', `/api/webhooks/${ep.id}`);
  });

  it('sends nothing for a write that rolls back (a throwing hook, a failing batch)', async () => {
    const r = await receiver();
    const ep = await createEndpoint(s, { url: r.url, events: ['notes.create', 'posts.create'] });
    const hookId = s.app.hooks.onRecordCreate.bind(
      async (e, next) => {
        await next();
        if (e.record.text === 'boom') throw new Error('after the write');
      },
      { priority: -10 },
    );
    try {
      await assert.rejects(s.admin.collection('notes').create({ text: 'boom' }));
      const batch = await api(s, 'POST', '/api/batch', {
        requests: [
          { method: 'POST', url: '/api/collections/notes/records', body: { text: 'in batch' } },
          // Fails at its own write, after the first one ran in the batch's transaction.
          { method: 'POST', url: '/api/collections/posts/records', body: { id: 'NOT A VALID ID' } },
        ],
      });
      assert.ok(batch.status >= 400, JSON.stringify(batch.json));
      await s.admin.collection('notes').create({ text: 'kept' });
      const hits = await r.waitFor(1);
      await sleep(400);
      assert.equal(r.hits.length, 1, 'only the committed write was sent');
      assert.equal(verifyHit(ep.secret, hits[0]!).data.record.text, 'kept');
      const all = await api(s, 'GET', `/api/webhooks/${ep.id}/messages`);
      assert.equal(all.json.totalItems, 1);
    } finally {
      s.app.hooks.onRecordCreate.unbind(hookId);
      await api(s, 'DELETE', `/api/webhooks/${ep.id}`);
    }
  });

  it('rotation: during the overlap both secrets verify; after it only the new one', async () => {
    const r = await receiver();
    const ep = await createEndpoint(s, { url: r.url, events: ['notes.create'] });
    const rot = await api(s, 'POST', `/api/webhooks/${ep.id}/rotate-secret`, { overlapHours: 1 });
    assert.equal(rot.status, 200);
    assert.match(rot.json.secret, /^whsec_/);
    assert.notEqual(rot.json.secret, ep.secret);
    assert.equal(rot.json.activeSecrets, 2);
    assert.equal((await api(s, 'GET', `/api/webhooks/${ep.id}`)).json.secret, undefined);
    await s.admin.collection('notes').create({ text: 'rotated' });
    const [hit] = await r.waitFor(1);
    assert.equal(String(hit!.headers['webhook-signature']).split(' ').length, 2);
    verifyHit(ep.secret, hit!);
    verifyHit(rot.json.secret, hit!);
    assert.throws(() => verifyHit(`whsec_${Buffer.alloc(24, 1).toString('base64')}`, hit!));
    // No overlap: the previous secret stops at once.
    const rot2 = await api(s, 'POST', `/api/webhooks/${ep.id}/rotate-secret`, { overlapHours: 0 });
    assert.equal(rot2.json.activeSecrets, 1);
    assert.equal((await api(s, 'POST', `/api/webhooks/${ep.id}/rotate-secret`, { overlapHours: -1 })).status, 400);
    await s.admin.collection('notes').create({ text: 'rotated again' });
    const hits = await r.waitFor(2);
    verifyHit(rot2.json.secret, hits[1]!);
    assert.throws(() => verifyHit(rot.json.secret, hits[1]!));
    await api(s, 'DELETE', `/api/webhooks/${ep.id}`);
  });

  it('a filter picks the records an endpoint gets; updates and disabling apply at once', async () => {
    const r = await receiver();
    const ep = await createEndpoint(s, { url: r.url, events: ['posts.create', 'posts.update'], filter: 'status = "published"' });
    await s.admin.collection('posts').create({ title: 'draft', status: 'draft' });
    const pub = await s.admin.collection('posts').create({ title: 'pub', status: 'published' });
    const [hit] = await r.waitFor(1);
    assert.equal(verifyHit(ep.secret, hit!).data.record.id, pub.id);
    // Disabled: nothing; enabled again with another filter.
    assert.equal((await api(s, 'PATCH', `/api/webhooks/${ep.id}`, { enabled: false })).json.enabled, false);
    await s.admin.collection('posts').create({ title: 'pub2', status: 'published' });
    assert.equal((await api(s, 'PATCH', `/api/webhooks/${ep.id}`, { enabled: true, filter: 'title ~ "x"' })).status, 200);
    await s.admin.collection('posts').create({ title: 'pub3', status: 'published' });
    await s.admin.collection('posts').create({ title: 'xx', status: 'draft' });
    const hits = await r.waitFor(2);
    await sleep(300);
    assert.equal(r.hits.length, 2);
    assert.equal(verifyHit(ep.secret, hits[1]!).data.record.title, 'xx');
    assert.equal((await api(s, 'PATCH', `/api/webhooks/${ep.id}`, { filter: 'nope = 1' })).status, 400);
    await api(s, 'DELETE', `/api/webhooks/${ep.id}`);
  });

  it('custom events from code, in a transaction or not; the test event', async () => {
    const r = await receiver();
    const ep = await createEndpoint(s, { url: r.url, events: ['billing.*', 'users.auth.signup'] });
    const ids = await s.app.webhooks.emit('billing.invoice_paid', { amount: 42 });
    assert.equal(ids.length, 1);
    await assert.rejects(
      s.app.db.transaction(async (tx) => {
        await s.app.webhooks.emit('users.auth.signup', { user: 'rolled back' }, { tx });
        throw new Error('roll back');
      }),
    );
    await s.app.db.transaction(async (tx) => {
      await s.app.webhooks.emit('users.auth.signup', { user: 'kept' }, { tx });
    });
    assert.deepEqual(await s.app.webhooks.emit('other.thing', {}), [], 'no endpoint subscribed');
    await assert.rejects(s.app.webhooks.emit('posts.create', {}), /record event/);
    await assert.rejects(s.app.webhooks.emit('bad', {}), /not a valid event type/);
    const hits = await r.waitFor(2);
    const bodies = hits.map((h) => verifyHit(ep.secret, h));
    assert.deepEqual(bodies.map((b) => b.type).sort(), ['billing.invoice_paid', 'users.auth.signup']);
    assert.deepEqual(bodies.find((b) => b.type === 'users.auth.signup').data, { user: 'kept' });
    assert.equal(bodies.find((b) => b.type === 'billing.invoice_paid').data.amount, 42);
    assert.equal(hits[0]!.headers['webhook-id'], ids[0]);

    const t = await api(s, 'POST', `/api/webhooks/${ep.id}/test`);
    assert.equal(t.status, 200);
    assert.equal(t.json.type, 'webhook.test');
    const [, , test] = await r.waitFor(3);
    assert.equal(verifyHit(ep.secret, test!).type, 'webhook.test');
    await sleep(200);
    assert.equal(r.hits.length, 3);
    await api(s, 'DELETE', `/api/webhooks/${ep.id}`);
  });

  it('auth records are sent without password or token key; system collections only to patterns naming them', async () => {
    const r = await receiver();
    const ep = await createEndpoint(s, { url: r.url, events: ['users.create'] });
    const all = await createEndpoint(s, { url: `${r.url}/all`, events: ['*', '*.create'] });
    const su = await createEndpoint(s, { url: `${r.url}/su`, events: ['_superusers.create'] });
    await s.admin.collection('_superusers').create({ email: 'second@example.com', password: 'password123', passwordConfirm: 'password123' });
    await r.waitFor(1);
    await sleep(300);
    assert.equal(r.hits.length, 1);
    const suHit = r.hits.find((h) => h.url === '/su');
    assert.ok(suHit);
    assert.equal(verifyHit(su.secret, suHit).data.record.email, 'second@example.com');
    assert.ok(!r.hits.some((h) => h.url === '/all' && h.body.includes('_superusers')), 'a wildcard does not get system collections');
    await api(s, 'DELETE', `/api/webhooks/${su.id}`);
    await api(s, 'DELETE', `/api/webhooks/${all.id}`);
    r.hits.length = 0;
    const user = await s.admin.collection('users').create({ email: 'hook@example.com', password: 'password123', passwordConfirm: 'password123' });
    const [hit] = await r.waitFor(1);
    const record = verifyHit(ep.secret, hit!).data.record;
    assert.equal(record.id, user.id);
    assert.equal(record.email, 'hook@example.com');
    assert.equal(record.password, undefined);
    assert.equal(record.tokenKey, undefined);
    assert.ok(!hit!.body.includes('password123'));
    await api(s, 'DELETE', `/api/webhooks/${ep.id}`);
  });

  it('an abort-message answer stops the retries', async () => {
    const r = await receiver((_q, res) => {
      res.statusCode = 400;
      res.setHeader('webhook-delivery', 'abort-message');
      res.end();
    });
    const ep = await createEndpoint(s, { url: r.url, events: ['notes.create'] });
    await s.admin.collection('notes').create({ text: 'abort' });
    await eventually(async () => (await api(s, 'GET', `/api/webhooks/${ep.id}/messages?status=failed`)).json.totalItems === 1);
    await sleep(400);
    assert.equal(r.hits.length, 1);
    await api(s, 'DELETE', `/api/webhooks/${ep.id}`);
  });

  it('a create whose only hook is the capture: one statement on PostgreSQL, the same errors, nothing captured on failure', async () => {
    const r = await receiver();
    const ep = await createEndpoint(s, { url: r.url, events: ['notes.create'] });
    const seen: string[] = [];
    const previous = s.app.db.observer;
    s.app.db.observer = (text, ms) => {
      seen.push(text);
      previous?.(text, ms);
    };
    try {
      const id = 'dupwebhook00001';
      await s.admin.collection('notes').create({ id, text: 'first' });
      const writes = seen.filter((t) => /INSERT INTO "notes"/.test(t));
      if (s.app.db.dialect.name === 'postgres') {
        // the record's INSERT and the outbox row as one statement, sent with BEGIN and COMMIT
        assert.equal(writes.length, 1, writes.join('\n'));
        assert.match(writes[0] as string, /^WITH "_w1" AS \(INSERT INTO "notes".*\) INSERT INTO "_webhookOutbox"/s);
      } else {
        assert.equal(writes.length, 1);
        assert.match(writes[0] as string, /^INSERT INTO "notes"/);
      }
      // The same id again: the deferred INSERT fails at the commit with the usual field error, and the
      // message it would have sent is not captured.
      await eventually(() => r.hits.length === 1);
      const dup = await s.fetch('/api/collections/notes/records', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id, text: 'second' }),
      });
      assert.equal(dup.status, 400);
      const body = (await dup.json()) as { data: Record<string, { code: string }> };
      assert.equal(body.data.id?.code, 'validation_invalid_or_existing_id');
      const list = await api(s, 'GET', `/api/webhooks/${ep.id}/messages`);
      assert.equal(list.json.totalItems, 1, 'only the committed create has a message');
      await sleep(100);
      assert.equal(r.hits.length, 1);
      // With a filter the capture reads the written row: the INSERT runs at once, in its own round trip.
      await api(s, 'PATCH', `/api/webhooks/${ep.id}`, { filter: "text != 'skip'" });
      seen.length = 0;
      await s.admin.collection('notes').create({ text: 'filtered' });
      const filtered = seen.filter((t) => /INSERT INTO "notes"/.test(t));
      assert.equal(filtered.length, 1);
      assert.match(filtered[0] as string, /^INSERT INTO "notes"/);
      await eventually(() => r.hits.length === 2);
    } finally {
      s.app.db.observer = previous;
      await api(s, 'DELETE', `/api/webhooks/${ep.id}`);
    }
  });

  it('a message captured and not yet moved out of the outbox is listed, counted and found as pending', async () => {
    const r = await receiver();
    const ep = await createEndpoint(s, { url: r.url, events: ['notes.create'] });
    s.app.webhooks.pauseDelivery(); // this node stops claiming (and so moving): the message stays in the outbox
    try {
      await s.admin.collection('notes').create({ text: 'held in the outbox' });
      const inOutbox = await s.app.db.all<{ id: string }>(sql`SELECT id FROM "_webhookOutbox" WHERE endpoint = ${ep.id}`);
      assert.equal(inOutbox.length, 1, 'captured into the outbox');
      const msgId = inOutbox[0]?.id as string;
      const attempts = await api(s, 'GET', `/api/webhooks/${ep.id}/messages/${msgId}/attempts`); // found by id: moved on the miss
      assert.equal(attempts.status, 200);
      assert.deepEqual(attempts.json, []);
      await s.admin.collection('notes').create({ text: 'also held' });
      const list = await api(s, 'GET', `/api/webhooks/${ep.id}/messages`);
      assert.equal(list.status, 200);
      assert.equal(list.json.totalItems, 2);
      assert.deepEqual(
        list.json.items.map((m: { status: string }) => m.status),
        ['pending', 'pending'],
      );
      assert.ok(list.json.items.some((m: { id: string }) => m.id === msgId));
      const stats = await api(s, 'GET', '/api/webhooks/stats');
      assert.equal(stats.json.find((x: { endpoint: string }) => x.endpoint === ep.id).pending, 2);
      assert.equal(r.hits.length, 0, 'nothing sent while paused');
    } finally {
      s.app.webhooks.resumeDelivery();
    }
    await eventually(() => r.hits.length === 2);
    await eventually(async () => (await api(s, 'GET', `/api/webhooks/${ep.id}/messages?status=delivered`)).json.totalItems === 2);
    await api(s, 'DELETE', `/api/webhooks/${ep.id}`);
  });
  it('the SDK-style signature from standardwebhooks matches ours byte for byte', () => {
    const secret = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
    const wh = new Webhook(secret);
    const when = new Date(1_700_000_000_000);
    // Our signer is what deliveries use; the package's own sign() must agree.
    return import('../../src/webhooks/index.js').then(({ signStandard }) => {
      assert.equal(signStandard(secret, 'msg_1', 1_700_000_000, '{"a":1}'), wh.sign('msg_1', when, '{"a":1}'));
    });
  });
});

describe('outbound webhooks: an endpoint failing too long is disabled', () => {
  let s: TestServer;
  let r: Receiver;
  let smtp: SmtpSink;
  before(async () => {
    smtp = await startSmtpSink();
    s = await startServer({
      settings: { outbound: { allowedHosts: ['127.0.0.1'] } },
      jobs: { pollMs: 50 },
      webhooks: { scheduleMs: [0, 100, 100, 100, 100, 100, 100, 100], timeoutMs: 400, disableAfterMs: 300 },
    });
    await smtp.attach(s);
    r = await startReceiver((_q, res) => {
      res.statusCode = 500;
      res.end();
    });
  });
  after(async () => {
    await r.close();
    await s.close();
    await smtp.close();
  });

  it('disables it with a reason, then nothing more is sent; enabling clears it', async () => {
    const ep = await createEndpoint(s, { url: r.url, events: ['custom.ping'] });
    await s.app.webhooks.emit('custom.ping', { n: 1 });
    const disabled = await eventually(async () => {
      const e = (await api(s, 'GET', `/api/webhooks/${ep.id}`)).json;
      return e.enabled === false ? e : null;
    });
    assert.match(disabled.disabledReason, /Disabled automatically/);
    const mail = await smtp.waitFor((m) => m.subject.includes('Webhook endpoint disabled'));
    assert.ok(mail.to.includes(SUPERUSER_EMAIL));
    assert.ok(mail.text.includes(r.url));
    await sleep(300);
    const n = r.hits.length;
    assert.deepEqual(await s.app.webhooks.emit('custom.ping', { n: 2 }), []);
    await sleep(300);
    assert.equal(r.hits.length, n);
    const again = await api(s, 'PATCH', `/api/webhooks/${ep.id}`, { enabled: true });
    assert.equal(again.json.enabled, true);
    assert.equal(again.json.disabledReason, '');
    assert.equal(again.json.failingSince, '');
  });
});
