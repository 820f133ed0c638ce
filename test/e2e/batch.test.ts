/**
 * /api/batch: transactional, ordered sub-requests through the SDK's batch service (multipart), with
 * PocketBase's response and failure shapes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ClientResponseError } from 'pocketbase';
import { startServer, type TestServer } from '../helpers/server.js';

describe('batch', () => {
  let s: TestServer;

  before(async () => {
    s = await startServer();
    await s.admin.collections.create({
      name: 'todos',
      type: 'base',
      fields: [
        { name: 'title', type: 'text', required: true },
        { name: 'done', type: 'bool' },
      ],
      listRule: '',
      viewRule: '',
      createRule: '',
      updateRule: '',
      deleteRule: '',
    });
  });
  after(async () => {
    await s.close();
  });

  it('is refused (403) while disabled in settings', async () => {
    const batch = s.client().createBatch();
    batch.collection('todos').create({ title: 'x' });
    await assert.rejects(batch.send(), (e: ClientResponseError) => e.status === 403);
  });

  it('runs create, update, upsert and delete in order and answers [{status, body}]', async () => {
    await s.admin.settings.update({ batch: { enabled: true, maxRequests: 10 } });
    const existing = await s.client().collection('todos').create({ title: 'existing' });
    const doomed = await s.client().collection('todos').create({ title: 'doomed' });
    const batch = s.client().createBatch();
    batch.collection('todos').create({ title: 'first' });
    batch.collection('todos').update(existing.id, { done: true }, { fields: 'id,done' });
    batch.collection('todos').upsert({ id: 'upsertedid00001', title: 'upserted' });
    batch.collection('todos').delete(doomed.id);
    const res = await batch.send();
    assert.equal(res.length, 4);
    assert.equal(res[0]!.status, 200);
    assert.equal(res[0]!.body.title, 'first');
    assert.equal(res[1]!.body.done, true);
    assert.deepEqual(Object.keys(res[1]!.body).sort(), ['done', 'id'], "the sub-request's ?fields= applies");
    assert.equal(res[2]!.body.id, 'upsertedid00001');
    assert.deepEqual({ status: res[3]!.status, body: res[3]!.body }, { status: 204, body: null });
    await assert.rejects(s.client().collection('todos').getOne(doomed.id), (e: ClientResponseError) => e.status === 404);
  });

  it('sees its own earlier writes and rolls everything back when one sub-request fails', async () => {
    const before = (await s.admin.collection('todos').getList(1, 1)).totalItems;
    const batch = s.client().createBatch();
    batch.collection('todos').create({ id: 'batchchain00001', title: 'chain' });
    batch.collection('todos').update('batchchain00001', { title: 'chained update' });
    batch.collection('todos').create({ title: '' }); // required → fails
    await assert.rejects(batch.send(), (e: ClientResponseError) => {
      assert.equal(e.status, 400);
      assert.equal(e.response.message, 'Batch transaction failed.');
      const failed = e.response.data.requests['2'];
      assert.equal(failed.code, 'batch_request_failed');
      assert.equal(failed.response.status, 400);
      assert.equal(failed.response.data.title.code, 'validation_required');
      return true;
    });
    assert.equal((await s.admin.collection('todos').getList(1, 1)).totalItems, before, 'nothing from the failed batch remains');
    await assert.rejects(s.admin.collection('todos').getOne('batchchain00001'), (e: ClientResponseError) => e.status === 404);
  });

  it('refuses too many requests, unknown actions and malformed bodies with 400', async () => {
    const tooMany = s.client().createBatch();
    for (let i = 0; i < 11; i++) tooMany.collection('todos').create({ title: `n${i}` });
    await assert.rejects(tooMany.send(), (e: ClientResponseError) => e.status === 400 && 'requests' in e.response.data);
    const post = (body: unknown) => s.fetch('/api/batch', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal((await post({ requests: [{ method: 'GET', url: '/api/collections/todos/records' }] })).status, 400);
    assert.equal((await post({ requests: [{ method: 'POST', url: '/api/settings' }] })).status, 400);
    assert.equal((await post({ requests: 'nope' })).status, 400);
    assert.equal((await post({ requests: [{ method: 'POST' }] })).status, 400);
    assert.equal((await post({})).status, 400);
  });

  it('answers a malformed sub-request URL with a 400 sub-response, not an internal error', async () => {
    const res = await s.fetch('/api/batch', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requests: [{ method: 'PATCH', url: '/api/collections/todos/records/%E0%A4%A', body: { done: true } }] }),
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { data: { requests: Record<string, { response: { status: number } }> } };
    assert.equal(body.data.requests['0']!.response.status, 400);
  });

  it("applies each sub-request's rules with the caller's auth", async () => {
    await s.admin.collections.update('todos', { createRule: null });
    try {
      const batch = s.client().createBatch();
      batch.collection('todos').create({ title: 'guest' });
      await assert.rejects(batch.send(), (e: ClientResponseError) => e.status === 400 && e.response.data.requests['0'].response.status === 403);
      const adminBatch = s.admin.createBatch();
      adminBatch.collection('todos').create({ title: 'by admin' });
      const [r] = await adminBatch.send();
      assert.equal(r!.status, 200);
    } finally {
      await s.admin.collections.update('todos', { createRule: '' });
    }
  });
});
