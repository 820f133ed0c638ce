/**
 * Liveness (GET /api/health, PocketBase's answer, unchanged) and readiness (GET /api/health/ready): 200 when the
 * database answers and every migration file is applied, else 503 `not_ready` naming what is wrong, while
 * liveness keeps answering 200. The database going away is simulated per dialect: PostgreSQL's throw-away
 * database is dropped (its connections terminated), SQLite's connections are closed under the app.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openTestApp, serveApp, startServer, TEST_DIALECT, type TestServer } from '../helpers/server.js';

describe('health: liveness and readiness', () => {
  let s: TestServer;

  before(async () => {
    s = await startServer();
  });
  after(async () => {
    await s.close();
  });

  it("liveness is PocketBase's answer; readiness says the database and migrations are fine", async () => {
    const live = await s.fetch('/api/health');
    assert.equal(live.status, 200);
    assert.deepEqual(await live.json(), { code: 200, message: 'API is healthy.', data: {} });
    const ready = await s.fetch('/api/health/ready');
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { code: 200, message: 'API is ready.', data: { database: 'ok', migrations: 'ok' } });
    const head = await s.fetch('/api/health/ready', { method: 'HEAD' });
    assert.equal(head.status, 200);
  });

  it('a migration file that is not applied makes it not ready (503 not_ready, its name to superusers only), liveness stays 200, and it recovers', async () => {
    mkdirSync(join(s.dir, 'migrations'), { recursive: true });
    const file = join(s.dir, 'migrations', '1999999999_pending_change.js');
    writeFileSync(file, 'export async function up() {}\n');
    try {
      const res = await s.fetch('/api/health/ready', { headers: { 'x-request-id': 'probe-1' } });
      assert.equal(res.status, 503);
      const body = (await res.json()) as { status: number; message: string; data: Record<string, { code: string; message: string }>; requestId: string };
      assert.equal(body.status, 503);
      assert.equal(body.data.migrations?.code, 'validation_migrations_pending');
      // A guest (a load balancer) learns that one is pending, not its name: migration names carry collection names.
      assert.equal(body.data.migrations?.message, '1 migration file is not applied.');
      assert.doesNotMatch(JSON.stringify(body), /pending_change/);
      assert.match(body.message, /^Not ready: /);
      assert.equal(body.requestId, 'probe-1');
      // A superuser gets the names.
      const asSuperuser = await s.fetch('/api/health/ready', { headers: { authorization: s.admin.authStore.token } });
      assert.equal(asSuperuser.status, 503);
      const named = (await asSuperuser.json()) as { data: Record<string, { message: string }> };
      assert.match(named.data.migrations?.message ?? '', /1 migration file is not applied \(1999999999_pending_change\.js\)/);
      assert.equal((await s.fetch('/api/health')).status, 200);
    } finally {
      unlinkSync(file);
    }
    assert.equal((await s.fetch('/api/health/ready')).status, 200);
  });
});

describe(`health: readiness when the database goes away (${TEST_DIALECT})`, () => {
  it('answers 503 naming the database, quickly, while liveness still answers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plinth-test-'));
    const app = await openTestApp({ dataDir: join(dir, 'data'), migrationsDir: join(dir, 'migrations') });
    const served = await serveApp(app);
    try {
      assert.equal((await fetch(`${served.url}/api/health/ready`)).status, 200);
      if (TEST_DIALECT === 'postgres') {
        const url = new URL(app.config.databaseUrl as string);
        const name = url.pathname.slice(1);
        assert.match(name, /^plinth_test_[0-9a-f]+$/);
        url.pathname = '/postgres';
        const admin = new pg.Client({ connectionString: url.toString() });
        await admin.connect();
        try {
          await admin.query(`DROP DATABASE ${name} WITH (FORCE)`); // the generated name checked above
        } finally {
          await admin.end();
        }
      } else {
        await app.db.close();
      }
      const started = Date.now();
      const res = await fetch(`${served.url}/api/health/ready`);
      assert.equal(res.status, 503);
      const body = (await res.json()) as { data: Record<string, { code: string; message: string }> };
      assert.equal(body.data.database?.code, 'validation_database_unavailable');
      assert.match(body.data.database?.message ?? '', /^The database is not answering \((unreachable|a query failed)\)\.$/);
      assert.ok(Date.now() - started < 6000, 'within the readiness time limit (plus the pool connect timeout)');
      const live = await fetch(`${served.url}/api/health`);
      assert.equal(live.status, 200);
    } finally {
      await served.close().catch(() => undefined); // the database is gone: closing may complain
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
