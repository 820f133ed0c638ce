/**
 * Request logs: PocketBase's logs API (list, filter, stats, view, truncate) over a database of their own,
 * with no secrets logged and retention by settings.logs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, type TestServer } from '../helpers/server.js';

describe('request logs', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
    await s.admin.collections.create({ name: 'things', type: 'base', fields: [{ name: 'x', type: 'text' }], listRule: '' });
  });
  after(async () => s.close());

  it('logs API requests (not the UI files) in auxiliary.db, listable by superusers', async () => {
    await s.fetch('/api/collections/things/records?page=1&token=SECRET-TOKEN&password=hunter2', { headers: { Authorization: 'SECRET-AUTH' } });
    await s.fetch('/api/collections/nope/records');
    await s.fetch('/_/');
    const list = await s.admin.logs.getList(1, 50, { filter: 'data.url ~ "/api/collections/"' });
    assert.ok(list.totalItems >= 2);
    const ok = list.items.find((l) => String(l.data.url).startsWith('/api/collections/things/records'));
    assert.ok(ok, 'the request was logged');
    assert.equal(ok.level, 0);
    assert.equal(ok.message, 'GET /api/collections/things/records');
    assert.equal(ok.data.method, 'GET');
    assert.equal(ok.data.status, 200);
    assert.equal(typeof ok.data.execTime, 'number');
    assert.equal(ok.data.url, '/api/collections/things/records?page=1&token=***&password=***');
    const text = JSON.stringify(list.items);
    assert.doesNotMatch(text, /SECRET|hunter2/, 'no secrets logged');
    const missing = list.items.find((l) => String(l.data.url) === '/api/collections/nope/records');
    assert.equal(missing?.level, 4, '4xx is a warning');
    assert.equal(missing?.data.status, 404);
    assert.equal((await s.admin.logs.getList(1, 50, { filter: 'data.url ~ "/_/"' })).totalItems, 0);
    assert.ok(existsSync(join(s.dir, 'data', 'auxiliary.db')));
  });

  it('filters and sorts on level, message and data.*, views one entry, counts per hour', async () => {
    const warn = await s.admin.logs.getList(1, 10, { filter: 'level >= 4 && data.status = 404', sort: '-created' });
    assert.ok(warn.items.length >= 1);
    assert.ok(warn.items.every((l) => Number(l.level) >= 4));
    const one = await s.admin.logs.getOne(warn.items[0]!.id);
    assert.equal(one.id, warn.items[0]!.id);
    const stats = await s.admin.logs.getStats({ filter: 'data.method = "GET"' });
    assert.ok(stats.length >= 1);
    assert.match(stats[0]!.date, /^\d{4}-\d{2}-\d{2} \d{2}:00:00\.000Z$/);
    assert.ok(stats.reduce((n, x) => n + Number(x.total), 0) >= 2);
    await assert.rejects(s.admin.logs.getList(1, 10, { filter: 'bogus = 1' }), (e: { status: number }) => e.status === 400);
    await assert.rejects(s.admin.logs.getOne('nope'), (e: { status: number }) => e.status === 404);
  });

  it('is for superusers only', async () => {
    assert.equal((await s.fetch('/api/logs')).status, 401);
    assert.equal((await s.fetch('/api/logs/stats')).status, 401);
  });

  it('keeps nothing when maxDays is 0, honours minLevel, and deletes entries past maxDays', async () => {
    const logs = s.app.logs;
    await s.admin.settings.update({ logs: { maxDays: 0 } });
    assert.equal(logs.accepts(8), false);
    await s.admin.settings.update({ logs: { maxDays: 2, minLevel: 4 } });
    assert.equal(logs.accepts(0), false);
    assert.equal(logs.accepts(4), true);
    const day = 86_400_000;
    logs.add(8, 'old', { type: 'test' }, new Date(Date.now() - 3 * day));
    logs.add(8, 'recent', { type: 'test' }, new Date(Date.now() - day));
    await logs.flush();
    assert.equal((await s.admin.logs.getList(1, 10, { filter: 'data.type = "test"' })).totalItems, 2);
    assert.equal(await logs.cleanup(), 1);
    const left = await s.admin.logs.getList(1, 10, { filter: 'data.type = "test"' });
    assert.deepEqual(
      left.items.map((l) => l.message),
      ['recent'],
    );
    await s.admin.settings.update({ logs: { maxDays: 5, minLevel: 0 } });
  });

  it('truncates', async () => {
    await s.admin.send('/api/logs', { method: 'DELETE' });
    const list = await s.admin.logs.getList(1, 10, { filter: 'data.type = "test"' });
    assert.equal(list.totalItems, 0);
  });
});
