/** Request-log sampling: past the per-second budget successful requests are counted, and stats add them back. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { guestRequest } from '../rules/request-info.js';
import { LogStore, SUCCESS_LOGS_PER_SECOND } from './log-store.js';

test('successful requests beyond the per-second budget are counted in one summary, errors always logged', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'plinth-logs-'));
  const store = new LogStore(join(dir, 'auxiliary.db'), () => ({ maxDays: 5, minLevel: 0 }));
  try {
    const second = Date.UTC(2026, 0, 1, 10, 0, 0);
    let kept = 0;
    for (let i = 0; i < SUCCESS_LOGS_PER_SECOND + 30; i++) {
      if (store.admitRequest(0, second + 10)) {
        kept++;
        store.add(0, 'GET /api/x', { type: 'request' }, new Date(second));
      }
    }
    assert.equal(kept, SUCCESS_LOGS_PER_SECOND);
    assert.equal(store.admitRequest(8, second + 20), true, 'errors are never sampled away');
    store.add(8, 'GET /api/boom', { type: 'request' }, new Date(second));
    assert.equal(store.admitRequest(0, second + 1000), true, 'a new second has a new budget');
    await store.flush();
    const stats = await store.stats('', guestRequest());
    assert.deepEqual(stats, [{ date: '2026-01-01 10:00:00.000Z', total: SUCCESS_LOGS_PER_SECOND + 30 + 1 }]);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
