import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AuthCollection } from '../collections/model.js';
import type { AuthState } from '../rules/request-info.js';
import { Broker } from './broker.js';
import { RealtimeClient } from './client.js';
import { parseSubscription } from './subscription.js';

function client(id: string): RealtimeClient {
  const c = new RealtimeClient(id, '127.0.0.1');
  c.connection = { closed: false } as RealtimeClient['connection'];
  return c;
}

function auth(recordId: string, extra: Record<string, unknown> = {}): AuthState {
  return { collection: { id: 'users_id', name: 'users' } as AuthCollection, record: { id: recordId, ...extra } };
}

describe('Broker', () => {
  it('indexes subscriptions by topic and replaces them wholesale', () => {
    const b = new Broker();
    const a = client('a');
    b.add(a);
    b.replaceSubscriptions(a, ['posts/*', 'posts/*?options=%7B%7D', 'posts/1'].map(parseSubscription));
    assert.equal(b.subscribers('posts/*')?.size, 2);
    assert.equal(b.subscribers('posts/1')?.size, 1);
    b.replaceSubscriptions(a, [parseSubscription('other')]);
    assert.equal(b.subscribers('posts/*'), undefined);
    assert.deepEqual(b.stats(), { clients: 1, topics: 1, subscriptions: 1, identities: 0 });
    b.remove(a);
    assert.deepEqual(b.stats(), { clients: 0, topics: 0, subscriptions: 0, identities: 0 });
  });

  it('shares the freshest auth object across one identity, and drops it for all', () => {
    const b = new Broker();
    const [x, y, z] = [client('x'), client('y'), client('z')];
    for (const c of [x, y, z]) b.add(c);
    b.bindAuth(x, auth('u1', { v: 1 }));
    b.bindAuth(y, auth('u1', { v: 2 }));
    b.bindAuth(z, auth('u2'));
    assert.equal(x.auth, y.auth, 'same identity, same object');
    assert.equal(x.auth?.record.v, 2);
    b.refreshAuth(auth('u1', { v: 3 }));
    assert.equal(x.auth?.record.v, 3);
    assert.equal(y.auth?.record.v, 3);
    b.dropAuth('users_id/u1');
    assert.equal(x.auth, null);
    assert.equal(y.auth, null);
    assert.equal(x.authKey, '');
    assert.equal(z.authKey, 'users_id/u2');
    b.mapAuth((a) => (a.record.id === 'u2' ? null : a));
    assert.equal(z.auth, null);
    assert.equal(b.stats().identities, 0);
  });
});
