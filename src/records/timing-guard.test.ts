import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TimingGuard } from './timing-guard.js';

function recording(maxTracked?: number) {
  const delays: number[] = [];
  const guard = new TimingGuard(async (ms) => {
    delays.push(ms);
  }, maxTracked);
  return { guard, delays };
}

test('delays only after more than 3 empty filtered answers within 3 s, per client and collection', async () => {
  const { guard, delays } = recording();
  for (let i = 0; i < 3; i++) await guard.emptyResult('a', '10.0.0.1', 1000 + i);
  assert.equal(delays.length, 0);
  await guard.emptyResult('a', '10.0.0.1', 1100);
  assert.equal(delays.length, 1);
  assert.ok(delays[0]! >= 0 && delays[0]! <= 500);
  await guard.emptyResult('b', '10.0.0.1', 1100);
  assert.equal(delays.length, 1, 'another collection has its own budget');
  for (let i = 0; i < 3; i++) await guard.emptyResult('a', '10.0.0.2', 1100 + i);
  assert.equal(delays.length, 1, 'another client has its own budget');
  await guard.emptyResult('a', '10.0.0.1', 1100 + 5000);
  assert.equal(delays.length, 1, 'old misses expire');
});

test('stays bounded: expired pairs go first, then the least recently missed, and an active prober keeps its count', async () => {
  const { guard, delays } = recording(4);
  for (let i = 0; i < 3; i++) await guard.emptyResult('a', 'prober', 1000);
  for (let i = 0; i < 10; i++) await guard.emptyResult('a', `sprayed-${i}`, 1000 + i);
  assert.equal(guard.size, 4);
  // The prober was the least recently missed and got evicted by the spray: it starts over (a fresh budget of 3)...
  await guard.emptyResult('a', 'prober', 1020);
  assert.equal(delays.length, 0);
  // ...but a prober that keeps probing stays the most recent and is not pushed out.
  for (let i = 0; i < 4; i++) {
    await guard.emptyResult('a', 'prober', 1021 + i);
    await guard.emptyResult('a', `sprayed-again-${i}`, 1021 + i);
  }
  assert.equal(delays.length, 2, 'its 4th and 5th misses are delayed');
  assert.equal(guard.size, 4);
  // Entries past the window are dropped before anything recent.
  await guard.emptyResult('a', 'late', 1000 + 10_000);
  assert.equal(guard.size, 1);
});
