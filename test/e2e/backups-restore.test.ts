/**
 * Restore end to end, as a user runs it: `plinth serve` (a real process), a backup over the API, data
 * changed, `POST /api/backups/{key}/restore` (204), the same process re-opens the restored data on the same
 * address and serves it (files included); a corrupt backup is refused and the server keeps serving.
 * Then the CLI: `plinth backup create|list|restore` on SQLite (stopped server) and on PostgreSQL (dump into
 * an empty database; a non-empty target refused).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import PocketBase from 'pocketbase';
import { App } from '../../src/app.js';
import { silentLogger } from '../../src/util/logger.js';
import { systemRequest } from '../../src/records/system-request.js';
import { sql } from '../../src/db/sql.js';
import { createTempDatabase } from '../helpers/postgres.js';

const BIN = resolve('bin/plinth.js');

function plinth(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (ok(v)) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out; last: ${String(last)}`);
}

describe('backup restore end to end', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'plinth-restore-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('restores over the API in a running `plinth serve`, which then serves the restored data', async () => {
    const dataDir = join(dir, 'serve', 'data');
    assert.equal(plinth(['superuser', 'upsert', 'ops@example.com', 'password-123', `--dir=${dataDir}`]).code, 0);
    const port = await freePort();
    const child = spawn(process.execPath, [BIN, 'serve', `--http=127.0.0.1:${port}`, `--dir=${dataDir}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (b) => (output += b));
    child.stderr.on('data', (b) => (output += b));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    try {
      await until(
        async () => output,
        (o) => o.includes('Server started'),
      );
      const url = `http://127.0.0.1:${port}`;
      const pb = new PocketBase(url);
      pb.autoCancellation(false);
      await pb.collection('_superusers').authWithPassword('ops@example.com', 'password-123');
      await pb.collections.create({
        name: 'notes',
        type: 'base',
        listRule: '',
        viewRule: '',
        fields: [
          { name: 'title', type: 'text' },
          { name: 'doc', type: 'file', maxSelect: 1 },
        ],
      });
      const form = new FormData();
      form.append('title', 'in the backup');
      form.append('doc', new File(['backed up bytes'], 'doc.txt', { type: 'text/plain' }));
      const kept = await pb.collection('notes').create(form);
      await pb.backups.create('snapshot.zip');

      // Changes after the backup: one record deleted, one added, a collection added.
      await pb.collection('notes').delete(kept.id);
      await pb.collection('notes').create({ title: 'after the backup' });
      await pb.collections.create({ name: 'later', type: 'base', fields: [] });

      // A corrupt backup is refused and changes nothing.
      writeFileSync(join(dataDir, 'backups', 'broken.zip'), 'PK\x03\x04 not really');
      await assert.rejects(pb.backups.restore('broken.zip'), (e: { status: number }) => e.status === 400);
      assert.equal((await pb.collection('notes').getFullList()).length, 1);

      // A realtime stream open during the restore must not hold the restart up.
      const stream = await fetch(`${url}/api/realtime`);
      assert.equal(stream.status, 200);
      const reader = stream.body!.getReader();
      await reader.read(); // PB_CONNECT
      const streamEnded = (async () => {
        for (;;) if ((await reader.read().catch(() => ({ done: true }))).done) return true;
      })();

      assert.equal(await pb.backups.restore('snapshot.zip'), true);
      assert.equal(await Promise.race([streamEnded, new Promise((r) => setTimeout(() => r(false), 10_000))]), true, 'the stream was closed by the restart');
      // The same process comes back on the same address with the backup's data.
      const restored = await until(
        () => new PocketBase(url).collection('notes').getFullList(),
        (list) => list.length === 1 && list[0]?.title === 'in the backup',
      );
      assert.equal(restored[0]?.id, kept.id);
      const file = await fetch(`${url}/api/files/notes/${kept.id}/${kept.doc}`);
      assert.equal(file.status, 200);
      assert.equal(await file.text(), 'backed up bytes');
      const pb2 = new PocketBase(url);
      await pb2.collection('_superusers').authWithPassword('ops@example.com', 'password-123');
      // As in PocketBase, migration files live outside the data dir: the one automigrate wrote for `later`
      // after the backup is pending for the restored database and is applied again on the re-open.
      assert.equal((await pb2.collections.getOne('later')).name, 'later');
      // Backups survive the restore; the new instance writes and backs up again.
      assert.deepEqual((await pb2.backups.getFullList()).map((b) => b.key).sort(), ['broken.zip', 'snapshot.zip']);
      await pb2.collection('notes').create({ title: 'after the restore' });
      await pb2.backups.create('again.zip');
      const health = await pb2.health.check();
      assert.equal(health.data.canBackup, true);
      assert.ok(child.exitCode === null, 'the process kept running');
      assert.deepEqual(readdirSync(join(dataDir, '.plinth_temp')), [], 'the previous data was removed');
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, output);
  });

  it('plinth backup create | list | restore on SQLite', async () => {
    const dataDir = join(dir, 'cli', 'data');
    const app = await App.open({ dataDir, logger: silentLogger() });
    const notes = await app.collections.create({ name: 'notes', type: 'base', fields: [{ name: 'title', type: 'text' }] });
    await app.writer.create(notes, { data: { title: 'one' } }, systemRequest(app.collections));
    await app.close();

    const created = plinth(['backup', 'create', 'cli_one.zip', `--dir=${dataDir}`]);
    assert.equal(created.code, 0, created.err);
    assert.match(created.out, /Created backup cli_one\.zip/);
    assert.doesNotMatch(created.err, /\r/, 'no progress bar when stderr is not a TTY');
    // On a terminal (a pty from script(1)): a progress bar redrawn in place.
    const tty = spawnSync('script', ['-qec', `${process.execPath} ${BIN} backup create tty_one.zip --dir=${dataDir}`, '/dev/null'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(tty.status, 0, tty.stdout + tty.stderr);
    assert.match(tty.stdout, /\r\[#+-*\] +\d+% /);
    assert.match(tty.stdout, /\[#{30}\] 100% /);
    assert.match(tty.stdout, /Created backup tty_one\.zip/);
    const auto = plinth(['backup', 'create', `--dir=${dataDir}`]);
    assert.equal(auto.code, 0, auto.err);
    const listed = plinth(['backup', 'list', `--dir=${dataDir}`]);
    assert.equal(listed.code, 0, listed.err);
    assert.match(listed.out, /cli_one\.zip/);
    assert.match(listed.out, /pb_backup_plinth_\d{14}\.zip/);
    assert.equal(plinth(['backup', 'create', 'Bad Name', `--dir=${dataDir}`]).code, 1);
    assert.equal(plinth(['backup', 'frobnicate', `--dir=${dataDir}`]).code, 2);
    assert.equal(plinth(['backup', 'restore', 'missing.zip', `--dir=${dataDir}`]).code, 2);

    // Change the data, restore by key, and the change is gone.
    const again = await App.open({ dataDir, logger: silentLogger() });
    await again.writer.create(again.collections.require('notes'), { data: { title: 'two' } }, systemRequest(again.collections));
    await again.close();
    const restored = plinth(['backup', 'restore', 'cli_one.zip', `--dir=${dataDir}`]);
    assert.equal(restored.code, 0, restored.err);
    const check = await App.open({ dataDir, logger: silentLogger() });
    try {
      const rows = await check.db.all<{ title: string }>(sql`SELECT title FROM notes ORDER BY title`);
      assert.deepEqual(
        rows.map((r) => r.title),
        ['one'],
      );
    } finally {
      await check.close();
    }
    // A foreign zip is refused with the data untouched.
    writeFileSync(join(dir, 'foreign.zip'), 'not a zip');
    const bad = plinth(['backup', 'restore', join(dir, 'foreign.zip'), `--dir=${dataDir}`]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /not a valid zip/);
    assert.ok(existsSync(join(dataDir, 'data.db')));
  });

  it('plinth backup create | restore on PostgreSQL: a dump restored into an empty database only', async () => {
    const source = await createTempDatabase();
    const target = await createTempDatabase();
    try {
      const dataDir = join(dir, 'pg', 'data');
      const app = await App.open({ dataDir, databaseUrl: source.url, poolSize: 2, logger: silentLogger() });
      const notes = await app.collections.create({ name: 'notes', type: 'base', fields: [{ name: 'title', type: 'text' }] });
      await app.writer.create(notes, { data: { title: 'from postgres' } }, systemRequest(app.collections));
      await app.settings.update({ smtp: { password: 'smtp-secret-in-dump' } });
      await app.close();
      const created = plinth(['backup', 'create', 'pg_one.zip', `--dir=${dataDir}`, `--db=${source.url}`]);
      assert.equal(created.code, 0, created.err);
      const zip = join(dataDir, 'backups', 'pg_one.zip');
      // SQLite restore of a PostgreSQL backup: refused, pointing at --db.
      const wrong = plinth(['backup', 'restore', zip, `--dir=${join(dir, 'pg', 'sqlite')}`]);
      assert.equal(wrong.code, 1);
      assert.match(wrong.err, /PostgreSQL backup/);
      // Into a non-empty database: refused.
      const busy = plinth(['backup', 'restore', zip, `--dir=${join(dir, 'pg', 'x')}`, `--db=${source.url}`]);
      assert.equal(busy.code, 1);
      assert.match(busy.err, /not empty/);
      const ok = plinth(['backup', 'restore', zip, `--dir=${join(dir, 'pg', 'restored')}`, `--db=${target.url}`]);
      assert.equal(ok.code, 0, ok.err);
      const check = await App.open({ dataDir: join(dir, 'pg', 'restored'), databaseUrl: target.url, poolSize: 2, logger: silentLogger() });
      try {
        // The encrypted secrets come back with their key (_plinthKeys is in the dump).
        assert.equal(check.settings.get().smtp.password, 'smtp-secret-in-dump');
        const rows = await check.db.all<{ title: string }>(sql`SELECT title FROM notes ORDER BY title`);
        assert.deepEqual(
          rows.map((r) => r.title),
          ['from postgres'],
        );
      } finally {
        await check.close();
      }
    } finally {
      await source.drop();
      await target.drop();
    }
  });

  it("PostgreSQL without pg_dump: Plinth's JSON-lines format, restored with the schema rebuilt and every value typed", async () => {
    const source = await createTempDatabase();
    const target = await createTempDatabase();
    try {
      const dataDir = join(dir, 'pgjson', 'data');
      const app = await App.open({ dataDir, databaseUrl: source.url, poolSize: 2, logger: silentLogger() });
      const things = await app.collections.create({
        name: 'things',
        type: 'base',
        fields: [
          { name: 'title', type: 'text' },
          { name: 'n', type: 'number' },
          { name: 'ok', type: 'bool' },
          { name: 'meta', type: 'json' },
          { name: 'when', type: 'date' },
          { name: 'tags', type: 'select', values: ['a', 'b', 'c'], maxSelect: 3 },
        ],
      });
      await app.collections.create({ name: 'thing_titles', type: 'view', viewQuery: 'SELECT id, title FROM things' });
      const req = systemRequest(app.collections);
      const values = [
        { title: 'it\'s "quoted" ✓\nline', n: 1.5, ok: true, meta: { a: [1, 'x', null], s: 'str' }, when: '2026-01-02 03:04:05.678Z', tags: ['a', 'c'] },
        { title: '', n: -3, ok: false, meta: 'just a string', when: '', tags: [] },
        { title: 'null json', n: 0, ok: false, meta: null, when: '', tags: ['b'] },
      ];
      for (const data of values) await app.writer.create(things, { data }, req);
      await app.settings.update({ smtp: { password: 'smtp-secret-in-json' } });
      const before = await app.db.all(sql`SELECT * FROM things ORDER BY id`);
      await app.close();
      // pg_dump "missing": PLINTH_PG_DUMP names a tool that does not exist, so the fallback runs.
      const created = plinth(['backup', 'create', 'pg_json.zip', `--dir=${dataDir}`, `--db=${source.url}`], { PLINTH_PG_DUMP: '/nonexistent/pg_dump' });
      assert.equal(created.code, 0, created.err);
      const zip = join(dataDir, 'backups', 'pg_json.zip');
      const { listZip } = await import('../../src/backups/zip.js');
      const names = await listZip(zip);
      assert.ok(names.includes('postgres_tables/things.jsonl') && !names.includes('postgres_dump.sql'), names.join());
      const ok = plinth(['backup', 'restore', zip, `--dir=${join(dir, 'pgjson', 'restored')}`, `--db=${target.url}`]);
      assert.equal(ok.code, 0, ok.err);
      const check = await App.open({ dataDir: join(dir, 'pgjson', 'restored'), databaseUrl: target.url, poolSize: 2, logger: silentLogger() });
      try {
        assert.deepEqual(await check.db.all(sql`SELECT * FROM things ORDER BY id`), before);
        assert.equal((await check.db.all(sql`SELECT * FROM thing_titles`)).length, 3, 'the view was rebuilt');
        assert.equal(check.settings.get().smtp.password, 'smtp-secret-in-json', 'the encryption key (_plinthKeys) is in the dump');
        const su = await check.db.all(sql`SELECT email FROM _superusers`);
        assert.ok(Array.isArray(su));
        // A second restore into the now non-empty database is refused.
        const again = plinth(['backup', 'restore', zip, `--dir=${join(dir, 'pgjson', 'restored')}`, `--db=${target.url}`]);
        assert.equal(again.code, 1);
        assert.match(again.err, /not empty/);
      } finally {
        await check.close();
      }
    } finally {
      await source.drop();
      await target.drop();
    }
  });
});
