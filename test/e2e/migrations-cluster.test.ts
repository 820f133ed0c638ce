/**
 * Nodes of a PostgreSQL cluster starting at the same moment with a new migration file (a scale-out, or a
 * rolling deploy whose first nodes come up together; docs/deploy.md): the migration is applied exactly once,
 * by one of them, and every node starts.
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
