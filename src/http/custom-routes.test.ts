/** Custom route paths: parsing, matching priorities (static > param > wildcard, with backtracking), shapes. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parsePath, RouteRegistry } from './custom-routes.js';

const ok = () => null;

describe('RouteRegistry.match', () => {
  const r = new RouteRegistry();
  r.get('/a/{x}/c', ok);
  r.get('/a/b/{y}', ok);
  r.get('/a/b/d/e', ok);
  r.get('/files/{rest...}', ok);
  r.get('/files/static', ok);
  r.get('/', ok);
  r.post('/a/{x}/c', ok);

  const hit = (method: string, path: string) => {
    const m = r.match(method, path);
    return m ? { path: m.route.entry.path, params: m.params } : null;
  };

  it('prefers static segments, then params, then the wildcard, backtracking when a branch dead-ends', () => {
    assert.deepEqual(hit('GET', '/a/b/c'), { path: '/a/b/{y}', params: { y: 'c' } });
    assert.deepEqual(hit('GET', '/a/z/c'), { path: '/a/{x}/c', params: { x: 'z' } });
    // /a/b/d/… has a static branch that fails at the last segment; no other route fits four segments.
    assert.equal(hit('GET', '/a/b/d/x'), null);
    assert.deepEqual(hit('GET', '/a/b/d/e'), { path: '/a/b/d/e', params: {} });
    assert.deepEqual(hit('GET', '/files/static'), { path: '/files/static', params: {} });
    assert.deepEqual(hit('GET', '/files/x/y%20z'), { path: '/files/{rest...}', params: { rest: 'x/y z' } });
    assert.deepEqual(hit('GET', '/files'), { path: '/files/{rest...}', params: { rest: '' } });
    assert.deepEqual(hit('GET', '/'), { path: '/', params: {} });
    assert.deepEqual(hit('HEAD', '/a/b/c'), { path: '/a/b/{y}', params: { y: 'c' } });
    assert.deepEqual(hit('POST', '/a/q/c/'), { path: '/a/{x}/c', params: { x: 'q' } });
    assert.equal(hit('DELETE', '/a/q/c'), null);
    assert.equal(hit('GET', '/a//c'), null);
  });

  it('a malformed escape in a param is a 400 AppError', () => {
    assert.throws(
      () => r.match('GET', '/a/%E0%A4%A/c'),
      (e: { status?: number }) => e.status === 400,
    );
  });
});

describe('parsePath', () => {
  it('parses params and the wildcard, and refuses what Fastify or PocketBase would read differently', () => {
    assert.deepEqual(parsePath('/api/x/{id}/{rest...}'), [
      { kind: 'static', value: 'api' },
      { kind: 'static', value: 'x' },
      { kind: 'param', name: 'id' },
      { kind: 'wildcard', name: 'rest' },
    ]);
    assert.deepEqual(parsePath('/'), []);
    for (const bad of ['', 'x', '/a//b', '/a/:id', '/a/*', '/a/{id}/{id}', '/a/{1x}', '/a/{r...}/b', '/a?b', '/a b', '/a/x{y}']) {
      assert.throws(() => parsePath(bad), /Invalid custom route path/, bad);
    }
  });

  it('treats routes that differ only in param names as duplicates, and allows the same path for another method', () => {
    const r = new RouteRegistry();
    r.get('/o/{id}', ok);
    assert.throws(() => r.get('/o/{orderId}/', ok), /duplicates the custom route GET \/o\/\{id\}/);
    r.patch('/o/{orderId}', ok);
    assert.equal(r.size, 2);
    assert.equal(r.remove('GET', '/o/{whatever}'), true);
    assert.equal(r.remove('GET', '/o/{whatever}'), false);
    r.clear();
    assert.equal(r.size, 0);
  });
});
