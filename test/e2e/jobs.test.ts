/**
 * The durable job queue on one node (SQLite, and PostgreSQL under PLINTH_TEST_DB=postgres): define/enqueue/run,
 * retries with backoff ending as failed, timeouts, idempotency keys, the transactional outbox, payload
 * checks, leases of dead nodes, graceful shutdown, and the superusers' /api/jobs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from '../../src/db/sql.js';
import { AppError } from '../../src/errors/index.js';
import type { JobContext } from '../../src/jobs/index.js';
import { startServer, type TestServer } from '../helpers/server.js';

async function until<T>(ms: number, check: () => Promise<T | undefined | false> | T | undefined | false): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() - start > ms) throw new Error(`not true within ${ms} ms`);
    await sleep(10);
  }
}

async function statusOf(s: TestServer, id: string): Promise<string | undefined> {
  const row = await s.app.db.get<{ status: string }>(sql`SELECT status FROM "_jobs" WHERE id = ${id}`);
  return row?.status;
}

describe('job queue', () => {
  let s: TestServer;

  before(async () => {
    s = await startServer({ jobs: { pollMs: 50, leaseMs: 1000 } });
  });
  after(async () => {
    await s?.close();
  });

  it('runs a defined job once with its payload and marks it done', async () => {
    const seen: Array<JobContext<{ n: number }>> = [];
    s.app.jobs.define<{ n: number }>('basic', (job) => {
      seen.push(job);
    });
    const { id, created } = await s.app.jobs.enqueue('basic', { n: 42 });
    assert.equal(created, true);
    assert.match(id, /^[a-z0-9]{15}$/);
    await until(3000, async () => (await statusOf(s, id)) === 'done');
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.id, id);
    assert.equal(seen[0]?.name, 'basic');
    assert.deepEqual(seen[0]?.payload, { n: 42 });
    assert.equal(seen[0]?.attempt, 1);
    assert.ok(seen[0]?.signal instanceof AbortSignal);
    const job = await s.app.jobs.get(id);
    assert.equal(job.status, 'done');
    assert.equal(job.attempts, 1);
    assert.ok(job.finished);
    await sleep(150);
    assert.equal(seen.length, 1, 'a done job does not run again');
  });

  it('wakes at once on a local enqueue (no waiting for the poll)', async () => {
    s.app.jobs.define('fast', () => undefined);
    const t0 = Date.now();
    const { id } = await s.app.jobs.enqueue('fast', null);
    await until(2000, async () => (await statusOf(s, id)) === 'done');
    assert.ok(Date.now() - t0 < 500, `took ${Date.now() - t0} ms`);
  });

  it('respects delay and runAt', async () => {
    const ran = new Map<string, number>();
    s.app.jobs.define('later', (job) => void ran.set(job.id, Date.now()));
    const t0 = Date.now();
    const a = await s.app.jobs.enqueue('later', {}, { delay: 300 });
    const b = await s.app.jobs.enqueue('later', {}, { runAt: new Date(Date.now() + 150) });
    await until(3000, () => ran.has(a.id) && ran.has(b.id));
    assert.ok(ran.get(a.id)! - t0 >= 300, 'the delayed job waited');
    assert.ok(ran.get(b.id)! - t0 >= 150, 'the scheduled job waited');
    await assert.rejects(s.app.jobs.enqueue('later', {}, { runAt: 'not a date' }), (e: AppError) => e.status === 400);
    await assert.rejects(s.app.jobs.enqueue('later', {}, { delay: -1 }), (e: AppError) => e.status === 400);
  });

  it('retries a throwing handler with growing backoff, then keeps it as failed with its error; others keep running', async () => {
    const attempts: number[] = [];
    s.app.jobs.define(
      'always-throws',
      () => {
        attempts.push(Date.now());
        throw new Error('boom: upstream said no');
      },
      { retries: 3, backoff: 80 },
    );
    let healthy = 0;
    s.app.jobs.define('healthy', () => void healthy++);
    const { id } = await s.app.jobs.enqueue('always-throws', { x: 1 });
    for (let i = 0; i < 5; i++) await s.app.jobs.enqueue('healthy', i);
    await until(10_000, async () => (await statusOf(s, id)) === 'failed');
    assert.equal(attempts.length, 4, '1 attempt + 3 retries');
    // base·2^(n-1), with jitter between half and all of it: ≥ 40, ≥ 80, ≥ 160 ms.
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
    assert.ok(gaps[0]! >= 35, `gap 1 = ${gaps[0]}`);
    assert.ok(gaps[1]! >= 75, `gap 2 = ${gaps[1]}`);
    assert.ok(gaps[2]! >= 155, `gap 3 = ${gaps[2]}`);
    const job = await s.app.jobs.get(id);
    assert.equal(job.status, 'failed');
    assert.equal(job.attempts, 4);
    assert.match(job.lastError, /boom: upstream said no/);
    assert.match(job.lastError, /at /, 'the stack is kept');
    assert.equal(healthy, 5, 'a failing job does not block others');
    await sleep(200);
    assert.equal(attempts.length, 4, 'a failed job is not run again');
  });

  it('keeps whatever a handler throws as the error, even values that are not Errors', async () => {
    const weird = Object.create(null) as Record<string, unknown>;
    Object.defineProperty(weird, 'toJSON', {
      value: () => {
        throw new Error('no');
      },
    });
    const thrown: unknown[] = ['plain string', null, { code: 42 }, weird];
    s.app.jobs.define(
      'throws-values',
      (job) => {
        throw thrown[job.payload as number];
      },
      { retries: 0 },
    );
    const ids: string[] = [];
    for (let i = 0; i < thrown.length; i++) ids.push((await s.app.jobs.enqueue('throws-values', i)).id);
    await until(3000, async () => (await Promise.all(ids.map((id) => statusOf(s, id)))).every((st) => st === 'failed'));
    const errors = await Promise.all(ids.map(async (id) => (await s.app.jobs.get(id)).lastError));
    assert.deepEqual(errors.slice(0, 3), ['plain string', 'null', '{"code":42}']);
    assert.ok(errors[3], 'something is kept');
  });

  it('backoff delays grow exponentially, with jitter, up to a cap', () => {
    const d = (attempt: number) => s.app.jobs.backoffDelay(1000, attempt);
    for (let i = 0; i < 50; i++) {
      const a = d(1);
      assert.ok(a >= 500 && a <= 1000);
      const c = d(3);
      assert.ok(c >= 2000 && c <= 4000);
      assert.ok(d(40) <= 3_600_000);
    }
    const samples = new Set(Array.from({ length: 20 }, () => d(2)));
    assert.ok(samples.size > 1, 'jittered');
  });

  it('aborts an attempt past its timeout (signal), counts it as failed and runs it again', async () => {
    const signals: AbortSignal[] = [];
    s.app.jobs.define(
      'slow-once',
      async (job) => {
        signals.push(job.signal);
        if (job.attempt === 1) await new Promise((resolve) => job.signal.addEventListener('abort', resolve));
      },
      { timeout: 150, retries: 2, backoff: 10 },
    );
    const { id } = await s.app.jobs.enqueue('slow-once', {});
    await until(5000, async () => (await statusOf(s, id)) === 'done');
    assert.equal(signals.length, 2);
    assert.equal(signals[0]?.aborted, true);
    assert.match(String((signals[0]?.reason as Error).message), /timed out after 150 ms/);
    assert.equal(signals[1]?.aborted, false);
    const job = await s.app.jobs.get(id);
    assert.equal(job.attempts, 2);
    assert.match(job.lastError, /timed out/);
  });

  it('a handler that never settles does not hold its slot past the timeout', async () => {
    let started = 0;
    s.app.jobs.define(
      'hangs',
      () => {
        started++;
        return new Promise(() => undefined);
      },
      { timeout: 80, retries: 0, concurrency: 1 },
    );
    const a = await s.app.jobs.enqueue('hangs', 1);
    const b = await s.app.jobs.enqueue('hangs', 2);
    await until(5000, async () => (await statusOf(s, a.id)) === 'failed' && (await statusOf(s, b.id)) === 'failed');
    assert.equal(started, 2);
  });

  it('respects per-name concurrency', async () => {
    let now = 0;
    let peak = 0;
    s.app.jobs.define(
      'limited',
      async () => {
        now++;
        peak = Math.max(peak, now);
        await sleep(30);
        now--;
      },
      { concurrency: 3 },
    );
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push((await s.app.jobs.enqueue('limited', i)).id);
    await until(10_000, async () => {
      const r = await s.app.db.get<{ n: number }>(sql`SELECT COUNT(*) AS n FROM "_jobs" WHERE name = 'limited' AND status = 'done'`);
      return Number(r?.n) === 12;
    });
    assert.equal(peak, 3);
  });

  it('define again replaces the handler in place (running jobs keep their slots)', async () => {
    const seen: string[] = [];
    let now = 0;
    let peak = 0;
    const slow = (tag: string) => async () => {
      now++;
      peak = Math.max(peak, now);
      seen.push(tag);
      await sleep(80);
      now--;
    };
    s.app.jobs.define('redefined', slow('v1'), { concurrency: 1 });
    const a = await s.app.jobs.enqueue('redefined', 1);
    await until(2000, () => seen.length === 1);
    s.app.jobs.define('redefined', slow('v2'), { concurrency: 1 });
    const b = await s.app.jobs.enqueue('redefined', 2);
    await until(3000, async () => (await statusOf(s, a.id)) === 'done' && (await statusOf(s, b.id)) === 'done');
    assert.deepEqual(seen, ['v1', 'v2']);
    assert.equal(peak, 1);
    assert.deepEqual(s.app.jobs.defined().includes('redefined'), true);
  });

  it('a key makes enqueueing idempotent (per name, while the job exists)', async () => {
    const runs: string[] = [];
    s.app.jobs.define('keyed', (job) => void runs.push(job.id));
    const first = await s.app.jobs.enqueue('keyed', { v: 1 }, { key: 'order-7' });
    const again = await s.app.jobs.enqueue('keyed', { v: 2 }, { key: 'order-7' });
    assert.equal(first.created, true);
    assert.deepEqual(again, { id: first.id, created: false });
    const other = await s.app.jobs.enqueue('keyed-other-name', {}, { key: 'order-7' });
    assert.equal(other.created, true, 'keys are per job name');
    await until(3000, async () => (await statusOf(s, first.id)) === 'done');
    const afterDone = await s.app.jobs.enqueue('keyed', { v: 3 }, { key: 'order-7' });
    assert.deepEqual(afterDone, { id: first.id, created: false }, 'a done job keeps its key until pruned or discarded');
    assert.deepEqual(runs, [first.id]);
    assert.deepEqual((await s.app.jobs.get(first.id)).payload, { v: 1 });
    // concurrent enqueues with one key: one job
    const many = await Promise.all(Array.from({ length: 10 }, () => s.app.jobs.enqueue('keyed', {}, { key: 'burst' })));
    assert.equal(new Set(many.map((m) => m.id)).size, 1);
    assert.equal(many.filter((m) => m.created).length, 1);
    await s.app.jobs.discard(first.id);
    assert.equal((await s.app.jobs.enqueue('keyed', {}, { key: 'order-7' })).created, true, 'discarding frees the key');
    await assert.rejects(s.app.jobs.enqueue('keyed', {}, { key: '' }), (e: AppError) => e.status === 400);
  });

  it('enqueue in a transaction: rolled back → no job, committed → the job runs', async () => {
    const runs: unknown[] = [];
    s.app.jobs.define('outbox', (job) => void runs.push(job.payload));
    let rolledBackId = '';
    await assert.rejects(
      s.app.db.transaction(async (tx) => {
        rolledBackId = (await s.app.jobs.enqueue('outbox', 'rolled back', { tx })).id;
        assert.ok(await tx.get(sql`SELECT id FROM "_jobs" WHERE id = ${rolledBackId}`), 'visible inside the transaction');
        throw new Error('abort');
      }),
      /abort/,
    );
    assert.equal(await statusOf(s, rolledBackId), undefined);
    const committed = await s.app.db.transaction(async (tx) => (await s.app.jobs.enqueue('outbox', 'committed', { tx })).id);
    await until(3000, async () => (await statusOf(s, committed)) === 'done');
    await sleep(100);
    assert.deepEqual(runs, ['committed']);
  });

  it('enqueue from a record hook through event.tx: a failed create leaves no job', async () => {
    await s.admin.collections.create({ name: 'orders', type: 'base', fields: [{ name: 'total', type: 'number' }], createRule: '' });
    const mailed: unknown[] = [];
    s.app.jobs.define('order-mail', (job) => void mailed.push(job.payload));
    const hookId = s.app.hooks.onRecordCreate.bind(
      async (e, next) => {
        await next();
        await s.app.jobs.enqueue('order-mail', { order: e.record.id }, { tx: e.tx });
        if (Number(e.record.total) < 0) throw AppError.badRequest('negative total');
      },
      { tags: ['orders'] },
    );
    try {
      await assert.rejects(s.client().collection('orders').create({ total: -1 }));
      const ok = await s.client().collection('orders').create({ total: 5 });
      await until(3000, () => mailed.length === 1);
      await sleep(100);
      assert.deepEqual(mailed, [{ order: ok.id }]);
      const n = await s.app.db.get<{ n: number }>(sql`SELECT COUNT(*) AS n FROM "_jobs" WHERE name = 'order-mail'`);
      assert.equal(Number(n?.n), 1);
    } finally {
      s.app.hooks.onRecordCreate.unbind(hookId);
    }
  });

  it('refuses payloads JSON cannot carry with a 400 at enqueue', async () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const bad: Array<[unknown, RegExp]> = [
      [undefined, /undefined/],
      [() => 1, /function/],
      [{ nested: { fn() {} } }, /function at payload\.nested\.fn/],
      [{ big: 10n }, /BigInt/],
      [[1, Symbol('x')], /symbol/],
      [cyclic, /circular/],
      [{ n: Number.NaN }, /NaN/],
      ['x'.repeat(1_000_001), /too big/],
    ];
    for (const [payload, message] of bad) {
      await assert.rejects(s.app.jobs.enqueue('basic', payload), (e: AppError) => {
        assert.equal(e.status, 400);
        assert.match(e.message, message);
        return true;
      });
    }
    const n = await s.app.db.get<{ n: number }>(sql`SELECT COUNT(*) AS n FROM "_jobs" WHERE name = 'basic'`);
    assert.equal(Number(n?.n), 1, 'nothing was stored');
    // Dates and shared (non-cyclic) references are fine.
    const shared = { k: 1 };
    const ok = await s.app.jobs.enqueue('basic', { when: new Date(0), a: shared, b: shared });
    assert.equal(ok.created, true);
    await assert.rejects(s.app.jobs.enqueue('bad name!', {}), (e: AppError) => e.status === 400);
    assert.throws(
      () => s.app.jobs.define('x', () => undefined, { concurrency: 0 }),
      (e: AppError) => e.status === 400,
    );
  });

  it('a job whose name no node defines stays queued until one does', async () => {
    const { id } = await s.app.jobs.enqueue('defined-later', { v: 1 });
    await sleep(200);
    assert.equal(await statusOf(s, id), 'queued');
    const stats = await s.app.jobs.stats();
    assert.ok(stats.undefinedNames.includes('defined-later'));
    let ran = false;
    s.app.jobs.define('defined-later', () => void (ran = true));
    await until(3000, async () => (await statusOf(s, id)) === 'done');
    assert.equal(ran, true);
  });

  it("re-runs a job whose node died once its lease expires; heartbeats keep a long job's lease", async () => {
    const runs: number[] = [];
    s.app.jobs.define('orphan', (job) => void runs.push(job.attempt));
    const now = Date.now();
    // A claim left by a node that is gone: lease already over.
    await s.app.db.run(
      sql`INSERT INTO "_jobs" (id, name, payload, status, attempts, "maxAttempts", "runAt", "lockedBy", "lockedUntil", created, updated) VALUES ('orphanjob000001', 'orphan', '{}', 'running', 1, 4, ${now}, 'dead-node', ${now - 1}, ${now}, ${now})`,
    );
    await until(5000, async () => (await statusOf(s, 'orphanjob000001')) === 'done');
    assert.deepEqual(runs, [2], 'the crashed attempt counts');

    // A job that outlives the 1 s lease several times over is renewed, not run twice.
    let longRuns = 0;
    s.app.jobs.define(
      'long',
      async () => {
        longRuns++;
        await sleep(3000);
      },
      { timeout: 10_000 },
    );
    const { id } = await s.app.jobs.enqueue('long', {});
    await until(8000, async () => (await statusOf(s, id)) === 'done');
    assert.equal(longRuns, 1);
  });

  it('a job whose node died during its last attempt ends as failed', async () => {
    const now = Date.now();
    await s.app.db.run(
      sql`INSERT INTO "_jobs" (id, name, payload, status, attempts, "maxAttempts", "runAt", "lockedBy", "lockedUntil", created, updated) VALUES ('orphanjob000002', 'orphan', '{}', 'running', 4, 4, ${now}, 'dead-node', ${now - 1}, ${now}, ${now})`,
    );
    await until(5000, async () => (await statusOf(s, 'orphanjob000002')) === 'failed');
    assert.match((await s.app.jobs.get('orphanjob000002')).lastError, /stopped renewing/);
  });

  it('prunes done jobs past the retention', async () => {
    s.app.jobs.define('prunable', () => undefined);
    const { id } = await s.app.jobs.enqueue('prunable', {});
    await until(3000, async () => (await statusOf(s, id)) === 'done');
    assert.equal(await s.app.jobs.prune(Date.now()), 0, 'kept within the retention');
    const pruned = await s.app.jobs.prune(Date.now() + 8 * 86_400_000);
    assert.ok(pruned >= 1);
    assert.equal(await statusOf(s, id), undefined);
    const failed = await s.app.db.get<{ n: number }>(sql`SELECT COUNT(*) AS n FROM "_jobs" WHERE status = 'failed'`);
    assert.ok(Number(failed?.n) >= 1, 'failed jobs (dead letters) are kept');
  });

  describe('/api/jobs', () => {
    let failedId = '';
    let user: TestServer['admin'];

    before(async () => {
      let fail = true;
      s.app.jobs.define(
        'api-flaky',
        () => {
          if (fail) throw new Error('flaky failure');
        },
        { retries: 0 },
      );
      failedId = (await s.app.jobs.enqueue('api-flaky', { order: 1 })).id;
      await until(3000, async () => (await statusOf(s, failedId)) === 'failed');
      fail = false;
      await s.admin.collection('users').create({ email: 'u@example.com', password: 'password-123', passwordConfirm: 'password-123' });
      user = s.client();
      await user.collection('users').authWithPassword('u@example.com', 'password-123');
    });

    it('401 for guests and 403 for other users on every route', async () => {
      const routes: Array<[string, string]> = [
        ['GET', '/api/jobs'],
        ['GET', '/api/jobs/stats'],
        ['GET', `/api/jobs/${failedId}`],
        ['POST', `/api/jobs/${failedId}/retry`],
        ['DELETE', `/api/jobs/${failedId}`],
      ];
      for (const [method, path] of routes) {
        const guest = await s.fetch(path, { method });
        assert.equal(guest.status, 401, `${method} ${path}`);
        const other = await s.fetch(path, { method, headers: { Authorization: user.authStore.token } });
        assert.equal(other.status, 403, `${method} ${path}`);
      }
      assert.equal(await statusOf(s, failedId), 'failed', 'nothing changed');
    });

    it('lists with paging and filters by status and name', async () => {
      const all = await s.admin.send('/api/jobs', { query: { perPage: 2, page: 1 } });
      assert.equal(all.page, 1);
      assert.equal(all.perPage, 2);
      assert.equal(all.items.length, 2);
      assert.ok(all.totalItems > 2);
      assert.equal(all.totalPages, Math.ceil(all.totalItems / 2));
      const failed = await s.admin.send('/api/jobs', { query: { filter: "status = 'failed' && name = 'api-flaky'" } });
      assert.equal(failed.totalItems, 1);
      const item = failed.items[0];
      assert.equal(item.id, failedId);
      assert.deepEqual(item.payload, { order: 1 });
      assert.equal(item.status, 'failed');
      assert.match(item.lastError, /flaky failure/);
      assert.match(item.created, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z$/);
      const sorted = await s.admin.send('/api/jobs', { query: { sort: '-attempts,name', perPage: 500 } });
      const attempts = sorted.items.map((j: { attempts: number }) => j.attempts);
      assert.deepEqual(
        attempts,
        [...attempts].sort((a, b) => b - a),
      );
      const one = await s.admin.send(`/api/jobs/${failedId}`, {});
      assert.equal(one.id, failedId);
      const stats = await s.admin.send('/api/jobs/stats', {});
      assert.ok(stats.failed >= 1);
      assert.deepEqual(Object.keys(stats).sort(), ['done', 'failed', 'queued', 'running', 'undefinedNames']);
    });

    it('400 for a bad filter or sort, 404 for an unknown id', async () => {
      for (const q of ['filter=status%20%3D', 'filter=nope%20%3D%201', 'sort=nope', 'perPage=x']) {
        const res = await s.fetch(`/api/jobs?${q}`, { headers: { Authorization: s.admin.authStore.token } });
        assert.equal(res.status, 400, q);
        assert.equal(((await res.json()) as { status: number }).status, 400);
      }
      for (const [method, path] of [
        ['GET', '/api/jobs/doesnotexist123'],
        ['POST', '/api/jobs/doesnotexist123/retry'],
        ['DELETE', '/api/jobs/doesnotexist123'],
      ] as const) {
        const res = await s.fetch(path, { method, headers: { Authorization: s.admin.authStore.token } });
        assert.equal(res.status, 404, `${method} ${path}`);
      }
    });

    it('retry puts a failed job back with its attempts reset, and it runs; retrying a non-failed job is a 400', async () => {
      const job = await s.admin.send(`/api/jobs/${failedId}/retry`, { method: 'POST' });
      assert.equal(job.id, failedId);
      assert.equal(job.attempts, 0);
      await until(3000, async () => (await statusOf(s, failedId)) === 'done');
      assert.equal((await s.app.jobs.get(failedId)).attempts, 1);
      const res = await s.fetch(`/api/jobs/${failedId}/retry`, { method: 'POST', headers: { Authorization: s.admin.authStore.token } });
      assert.equal(res.status, 400);
    });

    it('discard deletes a job (and aborts it when it runs here)', async () => {
      let signal: AbortSignal | undefined;
      s.app.jobs.define(
        'discard-me',
        async (job) => {
          signal = job.signal;
          await new Promise((r) => job.signal.addEventListener('abort', r));
        },
        { timeout: 30_000 },
      );
      const { id } = await s.app.jobs.enqueue('discard-me', {});
      await until(3000, () => signal);
      await s.admin.send(`/api/jobs/${id}`, { method: 'DELETE' });
      assert.equal(signal?.aborted, true);
      assert.equal(await statusOf(s, id), undefined);
      const res = await s.fetch(`/api/jobs/${id}`, { headers: { Authorization: s.admin.authStore.token } });
      assert.equal(res.status, 404);
    });
  });
});

describe('job queue shutdown', () => {
  it('waits for running jobs, and puts back the ones past the grace period without counting the attempt', async () => {
    const s = await startServer({ jobs: { pollMs: 50, shutdownGraceMs: 300 } });
    let closed = false;
    try {
      let quickDone = false;
      s.app.jobs.define('quick', async () => {
        await sleep(100);
        quickDone = true;
      });
      s.app.jobs.define('stuck', () => new Promise(() => undefined), { timeout: 60_000 });
      const quick = await s.app.jobs.enqueue('quick', {});
      const stuck = await s.app.jobs.enqueue('stuck', {});
      await until(3000, async () => (await statusOf(s, quick.id)) === 'running' && (await statusOf(s, stuck.id)) === 'running');
      const db = s.app.db;
      // Keep the database open past app.close() to look at the rows: close the queue alone first.
      const t0 = Date.now();
      await s.app.jobs.close();
      const took = Date.now() - t0;
      assert.ok(took >= 250 && took < 2000, `close took ${took} ms`);
      assert.equal(quickDone, true);
      const rows = await db.all<{ id: string; status: string; attempts: number }>(sql`SELECT id, status, attempts FROM "_jobs" ORDER BY created`);
      assert.deepEqual(
        rows.map((r) => [r.id, r.status, Number(r.attempts)]),
        [
          [quick.id, 'done', 1],
          [stuck.id, 'queued', 0],
        ],
      );
      await s.close();
      closed = true;
    } finally {
      if (!closed) await s.close();
    }
  });
});
