import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomInt, randomString } from './random.js';

describe('random', () => {
  it('draws from the alphabet with the requested length', () => {
    assert.match(randomString(32), /^[a-zA-Z0-9]{32}$/);
    assert.match(randomString(10, '123456789'), /^[1-9]{10}$/);
    assert.equal(randomString(0), '');
  });

  it('is roughly uniform (no modulo bias)', () => {
    const counts = new Map<string, number>();
    const sample = randomString(36_000, 'abcdefghijklmnopqrstuvwxyz0123456789');
    for (const c of sample) counts.set(c, (counts.get(c) ?? 0) + 1);
    assert.equal(counts.size, 36);
    for (const n of counts.values()) assert.ok(n > 800 && n < 1200, String(n));
  });

  it('validates arguments', () => {
    assert.throws(() => randomString(5, ''));
    assert.throws(() => randomInt(0));
    assert.equal(randomInt(1), 0);
  });
});
