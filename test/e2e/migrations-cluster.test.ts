/**
 * Nodes of a PostgreSQL cluster starting at the same moment (a first deploy with several tasks, a scale-out, a
 * rolling deploy whose first nodes come up together; docs/deploy.md): on an empty database every node starts
 * (one creates Plinth's tables, the others wait for it), and a new migration file is applied exactly once.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from '../../src/app.js';
import { sql } from '../../src/db/sql.js';
import { silentLogger } from '../../src/util/logger.js';
import { createTempDatabase, type TempDatabase } from '../helpers/postgres.js';

describe('migrations on a cluster', () => {
  let dir: string;
  let db: TempDatabase;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'plinth-migrations-cluster-'));
    db = await createTempDatabase();
  });
  after(async () => {
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('nodes starting together on an empty database all start, on one schema', async () => {
    const fresh = await createTempDatabase();
    try {
      const opened = await Promise.allSettled(
        [1, 2, 3, 4].map((n) => App.open({ dataDir: join(dir, `fresh${n}`), databaseUrl: fresh.url, poolSize: 1, logger: silentLogger() })),
      );
      const apps = opened.filter((r): r is PromiseFulfilledResult<App> => r.status === 'fulfilled').map((r) => r.value);
      try {
        assert.deepEqual(
          opened.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason)),
          [],
        );
        const ids = apps.map((a) =>
          a.collections
            .all()
            .map((c) => c.id)
            .sort()
            .join(','),
        );
        assert.equal(new Set(ids).size, 1, 'the same system collections on every node');
        const superusers = await apps[0]!.db.all(sql`SELECT id FROM _collections WHERE name = ${'_superusers'}`);
        assert.equal(superusers.length, 1, 'created once');
      } finally {
        await Promise.all(apps.map((a) => a.close()));
      }
    } finally {
      await fresh.drop();
    }
  });

  it('nodes starting together apply a new migration once', async () => {
    const open = (node: number) =>
      App.open({ dataDir: join(dir, `node${node}`), migrationsDir: join(dir, 'plinth_migrations'), databaseUrl: db.url, poolSize: 3, logger: silentLogger() });
    await (await open(0)).close(); // the database exists: Plinth's tables are there
    mkdirSync(join(dir, 'plinth_migrations'), { recursive: true });
    writeFileSync(
      join(dir, 'plinth_migrations', '1800000000000_orders.js'),
      `export async function up(app) {
  await app.saveCollection({ name: 'orders', type: 'base', fields: [{ name: 'total', type: 'number' }] });
  // Slow enough that the other nodes reach the same migration while this one runs.
  await new Promise((r) => setTimeout(r, 300));
}
export async function down(app) { await app.deleteCollection('orders'); }
`,
    );
    const apps = await Promise.all([1, 2, 3, 4].map(open));
    try {
      const applied = apps.flatMap((a) => a.migrationsAppliedAtStart);
      assert.deepEqual(applied, ['1800000000000_orders.js'], 'one node applied it');
      const rows = await apps[0]!.db.all<{ file: string }>(sql`SELECT file FROM _migrations WHERE file = ${'1800000000000_orders.js'}`);
      assert.equal(rows.length, 1);
      for (const a of apps) assert.ok(a.collections.find('orders'), 'every node sees the collection');
    } finally {
      await Promise.all(apps.map((a) => a.close()));
    }
  });
});
