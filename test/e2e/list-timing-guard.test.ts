/**
 * PocketBase's anti-timing guard on rule-protected lists, over HTTP: after more than 3 empty client-filtered
 * answers in 3 s, further empty answers are delayed by a random 0-500 ms, counted per client IP and
 * collection (PocketBase keys it by the real IP), so one prober does not slow everybody else down.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { TimingGuard } from '../../src/records/timing-guard.js';
import { startServer, type TestServer } from '../helpers/server.js';

describe('list anti-timing guard', () => {
  let s: TestServer;
  let delays: number[] = [];

  before(async () => {
    s = await startServer();
    await s.admin.collections.create({ name: 'secrets', type: 'base', fields: [{ name: 't', type: 'text' }], listRule: "t != 'hidden'", createRule: '' });
    await s.admin.collections.create({ name: 'open', type: 'base', fields: [{ name: 't', type: 'text' }], listRule: '', createRule: '' });
    await s.admin.collection('secrets').create({ t: 'visible' });
    await s.admin.collection('secrets').create({ t: 'hidden' });
  });
  after(async () => {
    await s.close();
  });

  /** Swaps in a guard that records the delays it would sleep instead of sleeping. */
  function recordDelays(): void {
    delays = [];
    (s.app.reader as unknown as { timingGuard: TimingGuard }).timingGuard = new TimingGuard(async (ms) => {
      delays.push(ms);
    });
  }

  const list = async (collection: string, filter: string, headers: Record<string, string> = {}) => {
    const res = await s.fetch(`/api/collections/${collection}/records?filter=${encodeURIComponent(filter)}`, { headers });
    assert.equal(res.status, 200);
    return ((await res.json()) as { items: unknown[] }).items.length;
  };

  it('delays one client after 3 free misses without touching another client of the same collection', async () => {
    await s.admin.settings.update({ trustedProxy: { headers: ['X-Real-IP'], useLeftmostIP: false } });
    try {
      recordDelays();
      const a = { 'X-Real-IP': '203.0.113.1' };
      const b = { 'X-Real-IP': '203.0.113.2' };
      for (let i = 0; i < 3; i++) assert.equal(await list('secrets', "t = 'hidden'", a), 0);
      assert.equal(delays.length, 0, 'the first 3 misses are free');
      assert.equal(await list('secrets', "t = 'hidden'", a), 0);
      assert.equal(await list('secrets', "t = 'nope'", a), 0);
      assert.equal(delays.length, 2, "the prober's 4th and 5th misses are delayed");
      assert.ok(delays.every((d) => d >= 0 && d <= 500));
      for (let i = 0; i < 3; i++) assert.equal(await list('secrets', "t = 'hidden'", b), 0);
      assert.equal(delays.length, 2, 'another client keeps its own budget');
      assert.equal(await list('secrets', "t = 'visible'", a), 1);
      assert.equal(delays.length, 2, 'answers with items are never delayed');
      assert.equal(await list('secrets', "t = 'hidden'", b), 0);
      assert.equal(delays.length, 3, 'the other client is delayed once it misses too often itself');
    } finally {
      await s.admin.settings.update({ trustedProxy: { headers: [], useLeftmostIP: false } });
    }
  });

  it('ignores client-chosen proxy headers unless configured, and never delays superusers or public lists', async () => {
    recordDelays();
    for (let i = 0; i < 5; i++) await list('secrets', "t = 'hidden'", { 'X-Real-IP': `198.51.100.${i}` });
    assert.equal(delays.length, 2, 'a spoofed header does not give a prober fresh budgets');
    recordDelays();
    for (let i = 0; i < 5; i++) assert.equal(await list('open', "t = 'x'"), 0);
    assert.equal(delays.length, 0, 'no list rule, no guard');
    for (let i = 0; i < 5; i++) {
      const res = await s.admin.collection('secrets').getList(1, 10, { filter: "t = 'none'" });
      assert.equal(res.items.length, 0);
    }
    assert.equal(delays.length, 0, 'superusers are never delayed');
  });

  it('really slows a prober down while a client on another IP is answered at once', async () => {
    (s.app.reader as unknown as { timingGuard: TimingGuard }).timingGuard = new TimingGuard();
    const timedList = (localAddress: string) =>
      new Promise<number>((resolve, reject) => {
        const started = performance.now();
        const url = new URL(`${s.url}/api/collections/secrets/records?filter=${encodeURIComponent("t = 'hidden'")}`);
        const req = http.get(url, { localAddress, agent: false }, (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`status ${res.statusCode}`))));
        });
        req.on('error', reject);
      });
    for (let i = 0; i < 3; i++) await timedList('127.0.0.1');
    let prober = 0;
    for (let i = 0; i < 6; i++) prober += await timedList('127.0.0.1');
    let other = 0;
    for (let i = 0; i < 3; i++) other += await timedList('127.0.0.2');
    // Six uniform 0-500 ms delays sum to under 300 ms with probability ~1e-4.
    assert.ok(prober > 300, `prober's 6 delayed misses took ${prober.toFixed(0)} ms`);
    assert.ok(other < prober / 2, `the other client's 3 misses took ${other.toFixed(0)} ms (prober ${prober.toFixed(0)} ms)`);
  });
});
