/** Message and attempt ids: one format, unique, and ordered by time as text (one index page per batch). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { attemptId, messageId } from './ids.js';

test('a message id is msg_ and 24 alphanumerics, and ids are unique', () => {
  const now = Date.now();
  const ids = new Set(Array.from({ length: 10_000 }, () => messageId(now)));
  assert.equal(ids.size, 10_000);
  for (const id of ids) assert.match(id, /^msg_[A-Za-z0-9]{24}$/);
  assert.match(attemptId(now), /^atm_[A-Za-z0-9]{24}$/);
});

test('ids sort as text in the order of their capture times (to the millisecond, until the year 8000)', () => {
  const time = fc.integer({ min: 0, max: 190_000_000_000_000 });
  fc.assert(
    fc.property(time, time, (a, b) => {
      fc.pre(a !== b);
      const [x, y] = [messageId(a), messageId(b)];
      assert.equal(x < y, a < b, `${a} → ${x}, ${b} → ${y}`);
    }),
  );
});
