import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TimingGuard } from './timing-guard.js';

test('delays only after more than 3 empty filtered answers within 3 s, per collection', async () => {
  const delays: number[] = [];
  const guard = new TimingGuard(async (ms) => {
    delays.push(ms);
  });
  for (let i = 0; i < 3; i++) await guard.emptyResult('a', 1000 + i);
  assert.equal(delays.length, 0);
  await guard.emptyResult('a', 1100);
  assert.equal(delays.length, 1);
  assert.ok(delays[0]! >= 0 && delays[0]! <= 500);
  await guard.emptyResult('b', 1100);
  assert.equal(delays.length, 1, 'another collection has its own budget');
  await guard.emptyResult('a', 1100 + 5000);
  assert.equal(delays.length, 1, 'old misses expire');
});
