/**
 * Fan-out cost and correctness below HTTP: subscribers sharing auth and options cost one rule check and
 * one serialisation; every subscriber still gets the message under its own subscription name.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import type { App } from '../app.js';
import type { AuthCollection } from '../collections/model.js';
import type { Executor } from '../db/dialect.js';
import type { RecordData } from '../hooks/index.js';
import type { Sql } from '../db/sql.js';
import { systemRequest } from '../records/system-request.js';
import { Broker } from './broker.js';
import { RealtimeClient } from './client.js';
import { deliver, FanOut, topicsFor, type PreparedMessage } from './fan-out.js';
import { SseConnection } from './sse-connection.js';
import { parseSubscription } from './subscription.js';
import { openTestApp } from '../../test/helpers/server.js';

let dir: string;
let app: App;

/** A client whose stream just records what it was sent. */
function fakeClient(broker: Broker, id: string, subs: string[]): { client: RealtimeClient; sent: Array<[string, string]> } {
  const client = new RealtimeClient(id, '127.0.0.1');
  const sent: Array<[string, string]> = [];
  client.connection = {
    closed: false,
    send: (frame: string) => (sent.push(parseFrame(frame)), true),
    sendShared: (frame: SharedFrameLike, idBytes: Uint8Array) => (sent.push(parseFrame(frame.bytesFor(idBytes, false).toString('utf8'))), true),
  } as unknown as RealtimeClient['connection'];
  broker.add(client);
  broker.replaceSubscriptions(client, subs.map(parseSubscription));
  return { client, sent };
}

type SharedFrameLike = { bytesFor(id: Uint8Array, chunked: boolean): Buffer };

/** Subscriptions a prepared batch goes to, one entry per subscriber. */
function recipients(messages: readonly PreparedMessage[]): Array<{ id: string; data: string }> {
  return messages.flatMap((m) => m.subs.map((sub) => ({ id: sub.client.id, data: m.data })));
}

/** A socket stand-in that keeps every byte written to it, in HTTP chunked transfer-coding. */
class WireTarget extends EventEmitter {
  readonly chunked = true;
  private bytes: Buffer[] = [];
  write(b: Uint8Array): boolean {
    this.bytes.push(Buffer.from(b));
    return true;
  }
  end(): void {
    this.emit('close');
  }
  destroy(): void {
    this.emit('close');
  }
  /** The SSE frames received, decoded from the chunks (each chunk must be exactly one frame). */
  frames(): Array<{ id: string; event: string; data: string }> {
    return this.bytes.map((b) => {
      const text = b.toString('utf8');
      const m = /^([0-9a-f]+)\r\n([\s\S]*)\r\n$/.exec(text);
      assert.ok(m, `a whole chunk: ${JSON.stringify(text)}`);
      assert.equal(Buffer.byteLength(m[2]!, 'utf8'), parseInt(m[1]!, 16), 'chunk length');
      const f = /^id:([^\n]*)\nevent:([^\n]*)\ndata:([^\n]*)\n\n$/.exec(m[2]!);
      assert.ok(f, `an SSE frame: ${JSON.stringify(m[2])}`);
      return { id: f[1]!, event: f[2]!, data: f[3]! };
    });
  }
}

/** A client on a real SseConnection over a WireTarget. */
function wireClient(broker: Broker, id: string): { client: RealtimeClient; wire: WireTarget } {
  const client = new RealtimeClient(id, '127.0.0.1');
  const wire = new WireTarget();
  const limits = { idleTimeoutMs: 60_000, maxLifetimeMs: 60_000, maxQueuedMessages: 100, maxQueuedChars: 1 << 20 };
  client.connection = new SseConnection(wire, limits, () => broker.remove(client));
  broker.add(client);
  return { client, wire };
}

function parseFrame(frame: string): [string, string] {
  const event = /\nevent:([^\n]*)/.exec(frame)?.[1] ?? '';
  const data = /\ndata:([^\n]*)/.exec(frame)?.[1] ?? '';
  return [event, data];
}

/** Counts the queries an access check makes. */
function counting(exec: Executor): Executor & { queries: number } {
  const wrapped = Object.create(exec) as Executor & { queries: number };
  wrapped.queries = 0;
  wrapped.get = async <T>(q: Sql) => {
    wrapped.queries++;
    return exec.get<T>(q);
  };
  return wrapped;
}

describe('FanOut', () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'plinth-fanout-'));
    app = await openTestApp({ dataDir: join(dir, 'data'), migrationsDir: join(dir, 'migrations'), automigrate: false });
    await app.collections.create({ name: 'posts', type: 'base', fields: [{ name: 'title', type: 'text' }], listRule: 'title != "hidden"', viewRule: '' });
  });
  after(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('checks and serialises once per (rule, identity, options) group', async () => {
    const posts = app.collections.require('posts');
    const record = await app.writer.create(posts, { data: { title: 'hello' } }, systemRequest(app.collections));
    const broker = new Broker();
    const fanOut = new FanOut(broker, app.collections, app.db.dialect, (err) => assert.fail(String(err)));
    const plain = Array.from({ length: 100 }, (_, i) => fakeClient(broker, `plain${i}`, ['posts/*']));
    const withFields = fakeClient(broker, 'fields', [`posts/*?options=${encodeURIComponent('{"query":{"fields":"title"}}')}`]);
    const byId = fakeClient(broker, 'byId', [`${posts.id}/*`]);
    const one = fakeClient(broker, 'one', [`posts/${String(record.id)}`]);
    const exec = counting(app.db);
    const messages = await fanOut.prepare('create', posts, record, exec);
    // Groups: listRule × guest × {no options (posts/* and <id>/* alike), fields} → 2 checks; viewRule "" → no query.
    assert.equal(exec.queries, 2);
    assert.equal(recipients(messages).length, 103);
    assert.equal(new Set(messages.map((m) => m.data)).size, 2, 'the full record and the fields-picked one');
    assert.equal(await deliver(messages), 103);
    assert.deepEqual(
      plain[0]?.sent.map(([e]) => e),
      ['posts/*'],
    );
    assert.deepEqual(JSON.parse(withFields.sent[0]![1]), { action: 'create', record: { title: 'hello' } });
    assert.equal(byId.sent[0]?.[0], `${posts.id}/*`);
    assert.equal(one.sent[0]?.[0], `posts/${String(record.id)}`);
  });

  it('sends nothing to a group the rule excludes, and skips clients that unsubscribed meanwhile', async () => {
    const posts = app.collections.require('posts');
    const hidden = await app.writer.create(posts, { data: { title: 'hidden' } }, systemRequest(app.collections));
    const broker = new Broker();
    const fanOut = new FanOut(broker, app.collections, app.db.dialect, () => undefined);
    const list = fakeClient(broker, 'list', ['posts/*']);
    const view = fakeClient(broker, 'view', [`posts/${String(hidden.id)}`]);
    const messages = await fanOut.prepare('update', posts, hidden, app.db);
    assert.deepEqual(
      recipients(messages).map((r) => r.id),
      ['view'],
    );
    broker.replaceSubscriptions(view.client, []);
    assert.equal(await deliver(messages), 0);
    assert.deepEqual(list.sent, []);
  });

  it('a large fan-out, written in many batches, gives each subscriber exactly what its own rule allows', async () => {
    const users = app.collections.require('users') as AuthCollection;
    const notes = await app.collections.create({
      name: 'notes',
      type: 'base',
      fields: [
        { name: 'text', type: 'text' },
        { name: 'owner', type: 'text' },
        { name: 'public', type: 'bool' },
      ],
      listRule: 'public = true || owner = @request.auth.id',
      viewRule: '',
    });
    const broker = new Broker();
    const fanOut = new FanOut(broker, app.collections, app.db.dialect, (err) => assert.fail(String(err)));
    const people = Array.from({ length: 40 }, (_, i) => `user${String(i).padStart(3, '0')}`);
    const filtered = `notes/*?options=${encodeURIComponent('{"query":{"filter":"text ~ \'even\'"}}')}`;
    // 2,000 streams: guests, 40 identities, some under the collection id, some with a filter option.
    const clients = Array.from({ length: 2000 }, (_, i) => {
      const c = wireClient(broker, `c${String(i).padStart(39, '0')}`);
      const who = i % 9 === 0 ? null : (people[i % people.length] as string);
      if (who) broker.bindAuth(c.client, { collection: users, record: { id: who } });
      const topic = i % 5 === 0 ? `${notes.id}/*` : i % 7 === 0 ? filtered : 'notes/*';
      broker.replaceSubscriptions(c.client, [parseSubscription(topic)]);
      return { ...c, who, topic };
    });
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const records: RecordData[] = [];
    for (let i = 0; i < 12; i++) {
      const data = { text: i % 2 ? `odd ${i}` : `even ${i}`, owner: people[Math.floor(rand() * people.length)], public: rand() < 0.25 };
      const record = await app.writer.create(notes, { data }, systemRequest(app.collections));
      records.push(record);
      // A batch of 97 streams per event-loop turn: every event is written across ~20 turns.
      await deliver(await fanOut.prepare('create', notes, record, app.db), 97);
    }
    let privateDeliveries = 0;
    for (const c of clients) {
      const frames = c.wire.frames();
      const expected = records
        .filter((r) => r.public === true || (c.who !== null && r.owner === c.who))
        .filter((r) => c.topic !== filtered || String(r.text).startsWith('even'))
        .map((r) => String(r.id));
      assert.deepEqual(
        frames.map((f) => (JSON.parse(f.data) as { record: { id: string } }).record.id),
        expected,
        `client ${c.client.id} (${c.who ?? 'guest'})`,
      );
      privateDeliveries += expected.filter((id) => records.find((r) => r.id === id)?.public !== true).length;
      for (const f of frames) {
        assert.equal(f.id, c.client.id, 'its own id on every frame');
        assert.equal(f.event, c.topic, 'under its own subscription name');
      }
    }
    assert.ok(privateDeliveries > 0 && privateDeliveries < clients.length, `owner-only records reached their owners only (${privateDeliveries})`);
  });

  it('checks each stream when its batch comes: closed, re-authed or unsubscribed meanwhile gets nothing', async () => {
    const posts = app.collections.require('posts');
    const users = app.collections.require('users') as AuthCollection;
    const record = await app.writer.create(posts, { data: { title: 'batched' } }, systemRequest(app.collections));
    const broker = new Broker();
    const fanOut = new FanOut(broker, app.collections, app.db.dialect, (err) => assert.fail(String(err)));
    const clients = Array.from({ length: 50 }, (_, i) => {
      const c = wireClient(broker, `b${String(i).padStart(39, '0')}`);
      broker.replaceSubscriptions(c.client, [parseSubscription('posts/*')]);
      return c;
    });
    const messages = await fanOut.prepare('create', posts, record, app.db);
    const pending = deliver(messages, 10);
    // The first batch of 10 is written synchronously; the rest wait for later turns of the event loop.
    assert.equal(clients.filter((c) => c.wire.frames().length === 1).length, 10);
    clients[20]!.client.connection.close('server');
    broker.bindAuth(clients[30]!.client, { collection: users, record: { id: 'someone' } });
    broker.replaceSubscriptions(clients[40]!.client, []);
    assert.equal(await pending, 47);
    const missed = clients.flatMap((c, i) => (c.wire.frames().length === 0 ? [i] : []));
    assert.deepEqual(missed, [20, 30, 40]);
  });

  it('knows the six topics a record event reaches', () => {
    const posts = app.collections.require('posts');
    assert.deepEqual(
      topicsFor(posts, 'r1').map(([t, r]) => `${t}:${r}`),
      ['posts/r1:viewRule', `${posts.id}/r1:viewRule`, 'posts/*:listRule', `${posts.id}/*:listRule`, 'posts:listRule', `${posts.id}:listRule`],
    );
  });
});
