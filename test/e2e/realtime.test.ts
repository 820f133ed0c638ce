/**
 * Realtime end to end with the real `pocketbase` SDK over SSE (the `eventsource` package stands in for the
 * browser's EventSource): who receives which record event, how each subscriber's copy is shaped, auth
 * binding and revocation, rolled-back writes, custom topics, and the subscription endpoint's errors.
 *
 * Negative checks ("X received nothing") are made exact with a marker: every listener also subscribes to a
 * custom topic; `sync()` waits for pending hooks, publishes a marker and waits until it arrives. A stream
 * is ordered, so anything that was going to reach that client has arrived by then.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventSource } from 'eventsource';
import type PocketBase from 'pocketbase';
import type { ClientResponseError } from 'pocketbase';
import { startServer, type TestServer } from '../helpers/server.js';

(globalThis as Record<string, unknown>).EventSource = EventSource;

type RecordEvent = { action: string; record: Record<string, unknown> & { expand?: Record<string, Record<string, unknown>> } };
const MARKER = '@test-marker';
let s: TestServer;
let markerSeq = 0;

async function waitFor(check: () => boolean, what = 'condition', timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** An SDK client's realtime side, recording events per label. */
class Listener {
  private markers = new Set<string>();
  private received = new Map<string, RecordEvent[]>();
  private constructor(readonly pb: PocketBase) {}

  static async open(pb: PocketBase): Promise<Listener> {
    const l = new Listener(pb);
    await pb.realtime.subscribe(MARKER, (d: { id: string }) => l.markers.add(d.id));
    return l;
  }

  /** Subscribes `collection.subscribe(topic, …, options)` and records its events under `label`. */
  async on(label: string, collection: string, topic: string, options?: Record<string, unknown>): Promise<() => Promise<void>> {
    const list: RecordEvent[] = [];
    this.received.set(label, list);
    return this.pb.collection(collection).subscribe(topic, (e: RecordEvent) => list.push(e), options);
  }

  /** A raw topic through the realtime service (custom topics, the deprecated bare collection name). */
  async onTopic(label: string, topic: string): Promise<void> {
    const list: RecordEvent[] = [];
    this.received.set(label, list);
    await this.pb.realtime.subscribe(topic, (e: RecordEvent) => list.push(e));
  }

  events(label: string): RecordEvent[] {
    return this.received.get(label) ?? [];
  }

  /** Every message sent to this client so far has arrived once this resolves. */
  async sync(): Promise<void> {
    await s.app.hooks.settled();
    await s.app.realtime.settled();
    const id = String(++markerSeq);
    s.app.realtime.publish(MARKER, { id });
    await waitFor(() => this.markers.has(id), `marker ${id}`);
  }

  async close(): Promise<void> {
    await this.pb.realtime.unsubscribe();
  }
}

async function signUp(email: string): Promise<[PocketBase, string]> {
  const pb = s.client();
  const rec = await pb.collection('users').create({ email, password: 'password123', passwordConfirm: 'password123', name: email });
  await pb.collection('users').authWithPassword(email, 'password123');
  return [pb, rec.id];
}

function actions(events: RecordEvent[]): string[] {
  return events.map((e) => `${e.action}:${String(e.record.id)}`);
}

describe('realtime', () => {
  let alice: PocketBase;
  let bob: PocketBase;
  let aliceId: string;
  let bobId: string;
  const listeners: Listener[] = [];
  /** A listener on its own stream (a fresh SDK client carrying `pb`'s auth), so tests never share one. */
  const listen = async (pb: PocketBase): Promise<Listener> => {
    const own = s.client();
    own.authStore.save(pb.authStore.token, pb.authStore.record);
    const l = await Listener.open(own);
    listeners.push(l);
    return l;
  };

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
        { name: 'secret', type: 'text', hidden: true },
        { name: 'owner', type: 'relation', collectionId: users.id, maxSelect: 1 },
      ],
      listRule: 'public = true || owner = @request.auth.id',
      viewRule: 'public = true || owner = @request.auth.id',
      createRule: '@request.auth.id != "" && owner = @request.auth.id',
      updateRule: 'owner = @request.auth.id',
      deleteRule: 'owner = @request.auth.id',
    });
    const tags = await s.admin.collections.create({
      name: 'tags',
      type: 'base',
      fields: [
        { name: 'name', type: 'text' },
        { name: 'hiddenTag', type: 'bool' },
      ],
      listRule: '',
      viewRule: 'hiddenTag = false',
    });
    await s.admin.collections.create({
      name: 'docs',
      type: 'base',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'tag', type: 'relation', collectionId: tags.id, maxSelect: 1 },
      ],
      listRule: null,
      viewRule: '',
    });
    await s.admin.collections.create({ name: 'feed', type: 'base', fields: [{ name: 'text', type: 'text' }], listRule: '@request.auth.id != ""' });
    await s.admin.collections.create({
      name: 'members',
      type: 'auth',
      fields: [{ name: 'nick', type: 'text' }],
      listRule: '',
      viewRule: '',
      manageRule: '@request.headers.x_manager = "yes"',
    });
  });

  after(async () => {
    for (const l of listeners) await l.close().catch(() => undefined);
    await s.close();
  });

  describe('rules decide who receives what', () => {
    it('list rule: the owner and superusers get a private create, others do not; everyone gets a public one', async () => {
      const [a, b, g, su] = await Promise.all([listen(alice), listen(bob), listen(s.client()), listen(s.admin)]);
      for (const l of [a, b, g, su]) await l.on('notes', 'notes', '*');
      const priv = await alice.collection('notes').create({ text: 'private', owner: aliceId });
      const pub = await alice.collection('notes').create({ text: 'public', owner: aliceId, public: true });
      for (const l of [a, b, g, su]) await l.sync();
      assert.deepEqual(actions(a.events('notes')), [`create:${priv.id}`, `create:${pub.id}`]);
      assert.deepEqual(actions(su.events('notes')), [`create:${priv.id}`, `create:${pub.id}`]);
      assert.deepEqual(actions(b.events('notes')), [`create:${pub.id}`]);
      assert.deepEqual(actions(g.events('notes')), [`create:${pub.id}`]);
      assert.equal(g.events('notes')[0]?.record.text, 'public');
    });

    it('a record topic follows the view rule; a locked list rule sends nothing to `/*`; a bare name means `/*`', async () => {
      const doc = await s.admin.collection('docs').create({ title: 'v1' });
      const g = await listen(s.client());
      await g.on('all', 'docs', '*');
      await g.on('one', 'docs', doc.id);
      await g.onTopic('bare-docs', 'docs');
      await g.onTopic('bare-tags', 'tags');
      await s.admin.collection('docs').update(doc.id, { title: 'v2' });
      const tag = await s.admin.collection('tags').create({ name: 'bare' });
      await g.sync();
      assert.deepEqual(actions(g.events('all')), []);
      assert.deepEqual(actions(g.events('bare-docs')), []);
      assert.deepEqual(actions(g.events('one')), [`update:${doc.id}`]);
      assert.equal(g.events('one')[0]?.record.title, 'v2');
      assert.deepEqual(actions(g.events('bare-tags')), [`create:${tag.id}`]);
    });

    it('the filter option narrows what a subscriber gets; privileged identifiers in it match nothing', async () => {
      const g = await listen(s.client());
      await g.on('keep', 'notes', '*', { filter: 'text ~ "keep"' });
      await g.on('oracle', 'notes', '*', { filter: 'secret = "s3"' });
      await g.on('request', 'notes', '*', { filter: '@request.auth.id = ""' });
      const su = await listen(s.admin);
      await su.on('oracle', 'notes', '*', { filter: 'secret = "s3"' });
      const kept = await s.admin.collection('notes').create({ text: 'please keep', public: true, secret: 's3' });
      await s.admin.collection('notes').create({ text: 'drop me', public: true });
      await g.sync();
      await su.sync();
      assert.deepEqual(actions(g.events('keep')), [`create:${kept.id}`]);
      assert.deepEqual(actions(g.events('oracle')), [], 'a hidden field in a guest filter is refused, not an oracle');
      assert.deepEqual(actions(g.events('request')), [], '@request in a guest filter is refused');
      assert.deepEqual(actions(su.events('oracle')), [`create:${kept.id}`], 'superusers may filter on hidden fields');
    });

    it('deletes reach those who could see the record, with the record as it was', async () => {
      const [a, b] = await Promise.all([listen(alice), listen(bob)]);
      const note = await alice.collection('notes').create({ text: 'short-lived', owner: aliceId });
      await a.on('notes', 'notes', '*');
      await a.on('one', 'notes', note.id);
      await b.on('notes', 'notes', '*');
      await alice.collection('notes').delete(note.id);
      await a.sync();
      await b.sync();
      assert.deepEqual(actions(a.events('notes')), [`delete:${note.id}`]);
      assert.deepEqual(actions(a.events('one')), [`delete:${note.id}`]);
      assert.equal(a.events('notes')[0]?.record.text, 'short-lived');
      assert.deepEqual(actions(b.events('notes')), []);
    });
  });

  describe('many identities at once', () => {
    it('each of many subscribers receives exactly what its own list rule shows it, and its own field visibility', async () => {
      const people: Array<{ pb: PocketBase; id: string }> = [];
      for (let i = 0; i < 8; i++) {
        const [pb, id] = await signUp(`crowd${i}@example.com`);
        people.push({ pb, id });
      }
      const subscribers = [...people.map((p) => p.pb), s.client(), s.admin];
      const ls = await Promise.all(subscribers.map((pb) => listen(pb)));
      for (const l of ls) await l.on('crowd', 'notes', '*', { filter: 'text ~ "crowd"' });
      // A seeded shuffle of owners and visibility: reproducible, yet not hand-picked.
      let seed = 42;
      const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      for (let i = 0; i < 30; i++) {
        const owner = people[Math.floor(rand() * people.length)]!.id;
        await s.admin.collection('notes').create({ text: `crowd ${i}`, owner, public: rand() < 0.2, secret: `s${i}` });
      }
      for (const [i, l] of ls.entries()) {
        await l.sync();
        const listed = await subscribers[i]!.collection('notes').getFullList({ filter: 'text ~ "crowd"' });
        const got = l.events('crowd');
        assert.deepEqual(got.map((e) => e.record.id).sort(), listed.map((r) => r.id).sort(), `subscriber ${i} got exactly its list`);
        const superuser = subscribers[i] === s.admin;
        for (const e of got) assert.equal('secret' in e.record, superuser, `subscriber ${i}: hidden field only for superusers`);
      }
    });
  });

  describe('each subscriber gets its own copy', () => {
    it('hidden fields only for superusers', async () => {
      const [g, su] = await Promise.all([listen(s.client()), listen(s.admin)]);
      await g.on('notes', 'notes', '*');
      await su.on('notes', 'notes', '*');
      await s.admin.collection('notes').create({ text: 'with secret', public: true, secret: 'hush' });
      await g.sync();
      await su.sync();
      assert.equal(su.events('notes')[0]?.record.secret, 'hush');
      assert.equal('secret' in (g.events('notes')[0]?.record ?? { secret: 1 }), false);
    });

    it('email: visible to the owner, superusers and managers (manage rule fed by the headers option), hidden from others', async () => {
      const pw = { password: 'password123', passwordConfirm: 'password123' };
      const m = await s.admin.collection('members').create({ email: 'm1@example.com', nick: 'one', ...pw });
      const owner = s.client();
      await owner.collection('members').authWithPassword('m1@example.com', 'password123');
      const [o, g, mgr, su] = await Promise.all([listen(owner), listen(s.client()), listen(s.client()), listen(s.admin)]);
      await o.on('m', 'members', '*');
      await g.on('m', 'members', '*');
      await mgr.on('m', 'members', '*', { headers: { 'X-Manager': 'yes' } });
      await su.on('m', 'members', '*');
      await s.admin.collection('members').update(m.id, { nick: 'two' });
      for (const l of [o, g, mgr, su]) await l.sync();
      assert.equal(o.events('m')[0]?.record.email, 'm1@example.com');
      assert.equal(su.events('m')[0]?.record.email, 'm1@example.com');
      assert.equal(mgr.events('m')[0]?.record.email, 'm1@example.com');
      assert.equal(g.events('m')[0]?.record.nick, 'two');
      assert.equal('email' in (g.events('m')[0]?.record ?? { email: 1 }), false);
      for (const l of [o, g, su]) assert.equal('tokenKey' in (l.events('m')[0]?.record ?? {}) || 'password' in (l.events('m')[0]?.record ?? {}), false);
    });

    it('expand (through the related view rule) and fields options', async () => {
      const visible = await s.admin.collection('tags').create({ name: 'red', hiddenTag: false });
      const invisible = await s.admin.collection('tags').create({ name: 'blue', hiddenTag: true });
      const doc = await s.admin.collection('docs').create({ title: 'd', tag: visible.id });
      const g = await listen(s.client());
      await g.on('expand', 'docs', doc.id, { expand: 'tag' });
      await g.on('fields', 'docs', doc.id, { expand: 'tag', fields: 'id,expand.tag.name' });
      await s.admin.collection('docs').update(doc.id, { title: 'd2' });
      await s.admin.collection('docs').update(doc.id, { tag: invisible.id });
      await g.sync();
      const [first, second] = g.events('expand');
      assert.equal(first?.record.expand?.tag?.name, 'red');
      assert.deepEqual(second?.record.expand, {}, 'a related record the subscriber cannot view is left out (expand stays, empty)');
      assert.deepEqual(g.events('fields')[0]?.record, { id: doc.id, expand: { tag: { name: 'red' } } });
    });
  });

  describe('transactions', () => {
    it('a rolled-back batch announces nothing; a committed one announces every write', async () => {
      await s.admin.settings.update({ batch: { enabled: true, maxRequests: 10 } });
      const doomed = await s.admin.collection('notes').create({ text: 'doomed', public: true });
      const g = await listen(s.client());
      await g.on('notes', 'notes', '*');
      const failing = s.admin.createBatch();
      failing.collection('notes').create({ text: 'never', public: true });
      failing.collection('notes').delete(doomed.id);
      failing.collection('nope').create({});
      await assert.rejects(failing.send(), (e: ClientResponseError) => e.status === 400);
      await g.sync();
      assert.deepEqual(actions(g.events('notes')), []);

      const ok = s.admin.createBatch();
      ok.collection('notes').create({ id: 'batchrealtime01', text: 'yes', public: true });
      ok.collection('notes').delete(doomed.id);
      await ok.send();
      await g.sync();
      assert.deepEqual(actions(g.events('notes')), ['create:batchrealtime01', `delete:${doomed.id}`]);
    });
  });

  describe('auth', () => {
    it('the auth of the subscription request is bound to the stream', async () => {
      const a = await listen(alice);
      await a.on('notes', 'notes', '*');
      const n = await s.admin.collection('notes').create({ text: 'for alice', owner: aliceId });
      await a.sync();
      assert.deepEqual(actions(a.events('notes')), [`create:${n.id}`]);
    });

    it('a password change (tokenKey rotation) drops the stream to guest at once', async () => {
      const [carol, carolId] = await signUp('carol@example.com');
      const c = await listen(carol);
      await c.on('notes', 'notes', '*');
      const before = await s.admin.collection('notes').create({ text: 'before', owner: carolId });
      await c.sync();
      assert.deepEqual(actions(c.events('notes')), [`create:${before.id}`]);

      const other = s.client();
      await other.collection('users').authWithPassword('carol@example.com', 'password123');
      const changed = Date.now();
      await other.collection('users').update(carolId, { oldPassword: 'password123', password: 'newpassword1', passwordConfirm: 'newpassword1' });
      await s.app.hooks.settled();
      assert.ok(Date.now() - changed < 1000);
      const afterChange = await s.admin.collection('notes').create({ text: 'after', owner: carolId });
      const pub = await s.admin.collection('notes').create({ text: 'public after', public: true });
      await c.sync();
      assert.deepEqual(actions(c.events('notes')), [`create:${before.id}`, `create:${pub.id}`], 'private events stop, public ones go on');
      void afterChange;
    });

    it('deleting the user drops the auth of their streams', async () => {
      const [dave, daveId] = await signUp('dave@example.com');
      const d = await listen(dave);
      await d.on('feed', 'feed', '*');
      await d.on('me', 'users', daveId);
      const first = await s.admin.collection('feed').create({ text: 'for members' });
      await d.sync();
      await s.admin.collection('users').delete(daveId);
      await s.admin.collection('feed').create({ text: 'too late' });
      await d.sync();
      assert.deepEqual(actions(d.events('feed')), [`create:${first.id}`]);
      assert.deepEqual(actions(d.events('me')), [`delete:${daveId}`], 'the delete of their own record still reaches them (as in PocketBase)');
    });

    it('an update that keeps the tokenKey refreshes the stored auth record', async () => {
      const [erin, erinId] = await signUp('erin@example.com');
      await s.admin.collections.update('notes', { listRule: 'public = true || owner = @request.auth.id || (text = "vip" && @request.auth.name = "VIP")' });
      try {
        const e = await listen(erin);
        await e.on('notes', 'notes', '*');
        const first = await s.admin.collection('notes').create({ text: 'vip' });
        await e.sync();
        assert.deepEqual(actions(e.events('notes')), []);
        await s.admin.collection('users').update(erinId, { name: 'VIP' });
        const second = await s.admin.collection('notes').create({ text: 'vip' });
        await e.sync();
        assert.deepEqual(actions(e.events('notes')), [`create:${second.id}`]);
        void first;
      } finally {
        await s.admin.collections.update('notes', { listRule: 'public = true || owner = @request.auth.id' });
      }
    });

    it('a different auth on the same client id is 403; an unknown client id is 404', async () => {
      const a = await listen(alice);
      const clientId = a.pb.realtime.clientId;
      const post = (token: string | null, id = clientId) =>
        s.fetch('/api/realtime', {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(token ? { Authorization: token } : {}) },
          body: JSON.stringify({ clientId: id, subscriptions: ['notes/*'] }),
        });
      const stolen = await post(bob.authStore.token);
      assert.equal(stolen.status, 403);
      assert.equal(((await stolen.json()) as { message: string }).message, "The current and the previous request authorization don't match.");
      assert.equal((await post(null)).status, 403, 'a bound client cannot be downgraded to guest by anyone');
      assert.equal((await post('garbage.token.value')).status, 403, 'an invalid token is a guest: never elevated, never accepted');
      assert.equal((await post(alice.authStore.token)).status, 204);
      const unknown = await post(null, 'x'.repeat(40));
      assert.equal(unknown.status, 404);
      assert.equal(((await unknown.json()) as { message: string }).message, 'Missing or invalid client id.');
      void bobId;
    });
  });

  describe('subscriptions', () => {
    it('unsubscribe stops events; removing the last one closes the stream', async () => {
      const g = await Listener.open(s.client());
      await g.on('notes', 'notes', '*');
      await g.on('docs', 'docs', '*');
      await g.pb.collection('notes').unsubscribe('*');
      const n = await s.admin.collection('notes').create({ text: 'unheard', public: true });
      await g.sync();
      assert.deepEqual(actions(g.events('notes')), []);
      void n;
      const before = s.app.realtime.stats().clients;
      await g.close();
      await waitFor(() => s.app.realtime.stats().clients === before - 1, 'the stream to close');
    });

    it('custom topics get server-pushed messages only (publish and sendToClient)', async () => {
      const pb = s.client();
      const got: unknown[] = [];
      await pb.realtime.subscribe('@oauth2', (d) => got.push(d));
      listeners.push(await Listener.open(pb));
      assert.equal(s.app.realtime.hasSubscription(pb.realtime.clientId, '@oauth2'), true);
      assert.equal(s.app.realtime.hasSubscription(pb.realtime.clientId, '@other'), false);
      assert.equal(s.app.realtime.sendToClient(pb.realtime.clientId, '@oauth2', { state: pb.realtime.clientId, code: 'c' }), true);
      assert.equal(s.app.realtime.publish('@oauth2', { broadcast: true }) >= 1, true);
      assert.equal(s.app.realtime.sendToClient('nobody', '@oauth2', {}), false);
      await waitFor(() => got.length === 2, 'custom messages');
      assert.deepEqual(got, [{ state: pb.realtime.clientId, code: 'c' }, { broadcast: true }]);
      assert.throws(() => s.app.realtime.sendToClient(pb.realtime.clientId, 'a\nb', {}), TypeError);
    });
  });
});
