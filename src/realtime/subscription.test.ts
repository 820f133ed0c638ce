import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidSubscription, parseSubscription, snakeCase, stringifyOptionValue } from './subscription.js';

/** What the SDK sends for `subscribe(topic, cb, options)`. */
function sdkKey(topic: string, options: { query?: unknown; headers?: unknown }): string {
  return `${topic}?options=${encodeURIComponent(JSON.stringify(options))}`;
}

describe('parseSubscription', () => {
  it('splits topic and options, keeping the name verbatim', () => {
    const name = sdkKey('posts/*', { query: { filter: 'a = 1', expand: 'author', n: 5, b: true, z: null }, headers: { 'X-Token': 'abc' } });
    const sub = parseSubscription(name);
    assert.equal(sub.name, name);
    assert.equal(sub.topic, 'posts/*');
    assert.deepEqual({ ...sub.query }, { filter: 'a = 1', expand: 'author', n: '5', b: 'true', z: '' });
    assert.deepEqual({ ...sub.headers }, { x_token: 'abc' });
  });

  it('has no options for a bare topic or custom topic', () => {
    for (const name of ['posts', 'posts/*', 'posts/abc', '@oauth2', 'posts/*?other=1']) {
      const sub = parseSubscription(name);
      assert.equal(sub.topic, name.split('?')[0]);
      assert.deepEqual({ ...sub.query }, {});
    }
  });

  it('gives equal options the same grouping key, different ones different keys', () => {
    const a = parseSubscription(sdkKey('posts/*', { query: { expand: 'x' } }));
    const b = parseSubscription(sdkKey('posts/abc', { query: { expand: 'x' } }));
    const c = parseSubscription(sdkKey('posts/*', { query: { expand: 'y' } }));
    assert.equal(a.optionsKey, b.optionsKey);
    assert.notEqual(a.optionsKey, c.optionsKey);
    assert.equal(parseSubscription('posts/*').optionsKey, parseSubscription(sdkKey('posts/*', {})).optionsKey);
  });

  it('refuses options that are not a JSON object, and line breaks', () => {
    for (const bad of [
      'posts/*?options=%7Bnope',
      'posts/*?options=%5B1%5D',
      'posts/*?options=%22x%22',
      sdkKey('p', { query: 'x' }),
      sdkKey('p', { headers: [1] }),
      'posts/*\nevent:x',
      'a\r',
      'a\0',
    ]) {
      assert.throws(() => parseSubscription(bad), InvalidSubscription, bad);
    }
  });

  it('treats a __proto__ key as data, never as a prototype', () => {
    const sub = parseSubscription('p?options=' + encodeURIComponent('{"query":{"__proto__":"x","filter":"1=1"}}'));
    assert.equal(Object.getPrototypeOf(sub.query), null);
    assert.equal(sub.query['__proto__'], 'x');
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });
});

describe('snakeCase (PocketBase inflector.Snakecase)', () => {
  it('matches PocketBase on header-like names', () => {
    const cases: Array<[string, string]> = [
      ['X-Token', 'x_token'],
      ['x-token', 'x_token'],
      ['myTestDB', 'my_test_db'],
      ['Content-Type', 'content_type'],
      ['__a--b__', 'a_b'],
      ['ABC', 'abc'],
      ['', ''],
    ];
    for (const [input, expected] of cases) assert.equal(snakeCase(input), expected, input);
  });
});

describe('stringifyOptionValue', () => {
  it('stringifies scalars and blanks containers', () => {
    assert.equal(stringifyOptionValue('a'), 'a');
    assert.equal(stringifyOptionValue(1.5), '1.5');
    assert.equal(stringifyOptionValue(false), 'false');
    assert.equal(stringifyOptionValue(null), '');
    assert.equal(stringifyOptionValue({ a: 1 }), '');
    assert.equal(stringifyOptionValue([1]), '');
  });
});
