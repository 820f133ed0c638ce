/**
 * Fan-out cost and correctness below HTTP: subscribers sharing auth and options cost one rule check and
 * one serialisation; every subscriber still gets the message under its own subscription name.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from '../app.js';
import type { Executor } from '../db/dialect.js';
import type { Sql } from '../db/sql.js';
import { systemRequest } from '../records/system-request.js';
import { silentLogger } from '../util/logger.js';
import { Broker } from './broker.js';
import { RealtimeClient } from './client.js';
import { deliver, FanOut, topicsFor } from './fan-out.js';
import { parseSubscription } from './subscription.js';

let dir: string;
let app: App;

/** A client whose stream just records what it was sent. */
function fakeClient(broker: Broker, id: string, subs: string[]): { client: RealtimeClient; sent: Array<[string, string]> } {
  const client = new RealtimeClient(id, '127.0.0.1');
  const sent: Array<[string, string]> = [];
  client.connection = { closed: false, send: (frame: string) => (sent.push(parseFrame(frame)), true) } as unknown as RealtimeClient['connection'];
  broker.add(client);
  broker.replaceSubscriptions(client, subs.map(parseSubscription));
  return { client, sent };
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
    app = await App.open({ dataDir: join(dir, 'data'), migrationsDir: join(dir, 'migrations'), automigrate: false, logger: silentLogger() });
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
    assert.equal(messages.length, 103);
    assert.equal(new Set(messages.map((m) => m.data)).size, 2, 'the full record and the fields-picked one');
    assert.equal(deliver(messages), 103);
    assert.deepEqual(plain[0]?.sent.map(([e]) => e), ['posts/*']);
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
    assert.deepEqual(messages.map((m) => m.sub.client.id), ['view']);
    broker.replaceSubscriptions(view.client, []);
    assert.equal(deliver(messages), 0);
    assert.deepEqual(list.sent, []);
  });

  it('knows the six topics a record event reaches', () => {
    const posts = app.collections.require('posts');
    assert.deepEqual(
      topicsFor(posts, 'r1').map(([t, r]) => `${t}:${r}`),
      ['posts/r1:viewRule', `${posts.id}/r1:viewRule`, 'posts/*:listRule', `${posts.id}/*:listRule`, 'posts:listRule', `${posts.id}:listRule`],
    );
  });
});
