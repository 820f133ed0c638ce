import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cacheControlOf, contentTypeOf, safeSegments } from './static-files.js';

test('path checks refuse every way out before the disk is touched', () => {
  assert.deepEqual(safeSegments('/a/b.txt'), ['a', 'b.txt']);
  assert.deepEqual(safeSegments('/'), []);
  assert.deepEqual(safeSegments('/.well-known/x'), ['.well-known', 'x']);
  assert.deepEqual(safeSegments('/with%20space.txt'), ['with space.txt']);
  for (const bad of [
    '/../x',
    '/%2e%2e/x',
    '/%2E%2E%2Fx',
    '/a/..%2f..%2fx',
    '/a\\b',
    '/a%5cb',
    '/a%00b',
    '/.env',
    '/%2eenv',
    '/a/.git/config',
    '/./x',
    '/%zz',
    `/${'a'.repeat(3000)}`,
  ]) {
    assert.equal(safeSegments(bad), null, bad);
  }
});

test('caching: HTML and plain names revalidate, fingerprinted names are immutable', () => {
  assert.equal(cacheControlOf('/p/index.html'), 'no-cache');
  assert.equal(cacheControlOf('/p/logo.svg'), 'no-cache');
  assert.equal(cacheControlOf('/p/my-component2.js'), 'no-cache');
  assert.equal(cacheControlOf('/p/jquery-3.7.1.min.js'), 'no-cache');
  assert.equal(cacheControlOf('/p/app-3f9a1c2b.js'), 'public, max-age=31536000, immutable');
  assert.equal(cacheControlOf('/p/index-B1x2Y3z4.js'), 'public, max-age=31536000, immutable');
  assert.equal(cacheControlOf('/p/main.4e5d6f7a8b.css'), 'public, max-age=31536000, immutable');
  assert.equal(contentTypeOf('/p/a.JS'), 'text/javascript; charset=utf-8');
  assert.equal(contentTypeOf('/p/a.unknown'), 'application/octet-stream');
});
