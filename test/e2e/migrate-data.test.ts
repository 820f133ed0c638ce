/**
 * `plinth migrate-data`: a SQLite instance (schema, records, an auth user, settings, migration history)
 * moved into an empty PostgreSQL database answers the same API the same way: same records, the user signs
 * in with the same password, tokens issued before the move still work. A non-empty target is refused.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import PocketBase from 'pocketbase';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { App } from '../../src/app.js';
import { silentLogger } from '../../src/util/logger.js';
import { createTempDatabase } from '../helpers/postgres.js';
import { addSuperuser, serveApp, SUPERUSER_EMAIL as EMAIL, SUPERUSER_PASSWORD as PASSWORD } from '../helpers/server.js';

const BIN = resolve('bin/plinth.js');

describe('plinth migrate-data', () => {
  it('moves a SQLite instance into an empty PostgreSQL database, verified, and refuses a non-empty one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plinth-move-'));
    const target = await createTempDatabase();
    try {
      const dataDir = join(dir, 'data');
      const source = await App.open({ dataDir, migrationsDir: join(dir, 'migrations'), logger: silentLogger() });
      await source.settings.update({ meta: { appName: 'Moved app' }, rateLimits: { enabled: false }, smtp: { password: 'smtp-secret-moved' } });
      await addSuperuser(source);
      const http = await serveApp(source);
      const admin = new PocketBase(http.url);
      await admin.collection('_superusers').authWithPassword(EMAIL, PASSWORD);
      const users = new PocketBase(http.url);
      await admin.collections.create({
        name: 'posts',
        type: 'base',
        fields: [
          { name: 'title', type: 'text' },
          { name: 'views', type: 'number' },
          { name: 'draft', type: 'bool' },
          { name: 'tags', type: 'select', values: ['a', 'b', 'c'], maxSelect: 3 },
          { name: 'meta', type: 'json' },
          { name: 'when', type: 'date' },
          { name: 'author', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
        ],
        indexes: ['CREATE INDEX idx_posts_title ON posts (title)'],
        listRule: 'draft = false',
        viewRule: '',
      });
      await admin.collections.create({ name: 'titles', type: 'view', viewQuery: 'SELECT id, title FROM posts', listRule: '' });
      const user = await admin
        .collection('users')
        .create({ email: 'u@example.com', password: 'user-password-1', passwordConfirm: 'user-password-1', name: 'U' });
      for (let i = 0; i < 250; i++) {
        await admin.collection('posts').create({
          title: `post ${i}`,
          views: i * 1.5,
          draft: i % 3 === 0,
          tags: i % 2 ? ['a', 'c'] : [],
          meta: { i, nested: { ok: true } },
          when: i % 5 ? '2026-01-02 03:04:05.678Z' : '',
          author: i % 4 ? user.id : '',
        });
      }
      const signedIn = new PocketBase(http.url);
      await signedIn.collection('users').authWithPassword('u@example.com', 'user-password-1');
      const tokenBefore = signedIn.authStore.token;
      const before = await users.collection('posts').getFullList({ sort: 'id', filter: 'tags ?= "c" && views > 10' });
      const viewBefore = await users.collection('titles').getFullList({ sort: 'id' });
      await http.close(); // and the app

      const run = spawnSync(process.execPath, [BIN, 'migrate-data', `--from=${dataDir}`, `--to=${target.url}`], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /row counts verified/);
      assert.match(run.stdout, /posts: 250/);

      const moved = await App.open({ dataDir: join(dir, 'pg-node'), migrationsDir: join(dir, 'migrations'), databaseUrl: target.url, logger: silentLogger() });
      const http2 = await serveApp(moved);
      try {
        const guest = new PocketBase(http2.url);
        assert.deepEqual(await guest.collection('posts').getFullList({ sort: 'id', filter: 'tags ?= "c" && views > 10' }), before);
        assert.deepEqual(await guest.collection('titles').getFullList({ sort: 'id' }), viewBefore);
        const again = new PocketBase(http2.url);
        await again.collection('users').authWithPassword('u@example.com', 'user-password-1');
        const withOldToken = new PocketBase(http2.url);
        withOldToken.authStore.save(tokenBefore, null);
        await withOldToken.collection('users').authRefresh();
        assert.equal(moved.settings.get().meta.appName, 'Moved app');
        // Secrets are copied encrypted, with the key file's key (the target has no PLINTH_ENCRYPTION_KEY either).
        assert.equal(moved.settings.get().smtp.password, 'smtp-secret-moved');
        const admin2 = new PocketBase(http2.url);
        await admin2.collection('_superusers').authWithPassword(EMAIL, PASSWORD);
        const posts = await admin2.collections.getOne('posts');
        assert.deepEqual(posts.indexes, ['CREATE INDEX `idx_posts_title` ON `posts` (`title`)']);
        // Migration files written on SQLite count as applied on PostgreSQL: nothing is replayed.
        const applied = await moved.db.all((await import('../../src/db/sql.js')).sql`SELECT file FROM _migrations`);
        assert.ok(applied.length >= 2);
      } finally {
        await http2.close(); // and the app
      }

      const refused = spawnSync(process.execPath, [BIN, 'migrate-data', `--from=${dataDir}`, `--to=${target.url}`], { encoding: 'utf8' });
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, /not empty/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await target.drop();
    }
  });

  it('a value PostgreSQL cannot take is reported (collection, record, field) in one line, exit 1, target left empty', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plinth-move-'));
    const target = await createTempDatabase();
    try {
      const dataDir = join(dir, 'data');
      const source = await App.open({ dataDir, migrationsDir: join(dir, 'migrations'), logger: silentLogger() });
      await addSuperuser(source);
      const http = await serveApp(source);
      const admin = new PocketBase(http.url);
      await admin.collection('_superusers').authWithPassword(EMAIL, PASSWORD);
      await admin.collections.create({
        name: 'notes',
        type: 'base',
        fields: [
          { name: 'title', type: 'text' },
          { name: 'n', type: 'number' },
        ],
      });
      for (let i = 0; i < 20; i++) await admin.collection('notes').create({ title: `note ${i}`, n: i });
      const bad = await admin.collection('notes').create({ title: 'clean for now', n: 1 });
      await http.close();

      // Plinth refuses NUL at the API now; an older instance (or PocketBase's own file) may still hold one.
      const raw = new BetterSqlite3(join(dataDir, 'data.db'));
      raw.prepare("UPDATE notes SET title = 'a' || char(0) || 'b' WHERE id = ?").run(bad.id);

      const run = () => spawnSync(process.execPath, [BIN, 'migrate-data', `--from=${dataDir}`, `--to=${target.url}`], { encoding: 'utf8' });
      const errorLine = (r: ReturnType<typeof run>): string => {
        assert.equal(r.status, 1, r.stderr);
        assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
        const lines = r.stderr
          .trim()
          .split('\n')
          .filter((l) => l.startsWith('Error:'));
        assert.equal(lines.length, 1, r.stderr);
        return lines[0] as string;
      };
      const tables = async (): Promise<number> => {
        const c = new pg.Client({ connectionString: target.url });
        await c.connect();
        try {
          const res = await c.query("SELECT COUNT(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'");
          return (res.rows[0] as { n: number }).n;
        } finally {
          await c.end();
        }
      };

      const nul = errorLine(run());
      assert.match(nul, new RegExp(`collection "notes", record "${bad.id}", field "title".*NUL`));
      assert.match(nul, /Nothing was committed/);
      assert.equal(await tables(), 0, 'the target is left empty');

      // Something else PostgreSQL refuses: text in a number column (SQLite keeps it as text).
      raw.prepare("UPDATE notes SET title = 'fixed', n = 'not a number' WHERE id = ?").run(bad.id);
      const refused = errorLine(run());
      assert.match(refused, new RegExp(`collection "notes", record "${bad.id}".*PostgreSQL refused the row: .*"n"`));
      assert.equal(await tables(), 0);

      raw.prepare('UPDATE notes SET n = 7 WHERE id = ?').run(bad.id);
      raw.close();
      const ok = run();
      assert.equal(ok.status, 0, ok.stderr);
      assert.match(ok.stdout, /notes: 21/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await target.drop();
    }
  });
});
