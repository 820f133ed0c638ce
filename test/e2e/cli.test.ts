/**
 * The `plinth` command as a user runs it: help, flag errors, superuser management, serve with graceful
 * shutdown, and migrations applied on another data dir.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import PocketBase from 'pocketbase';

const BIN = resolve('bin/plinth.js');

function plinth(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
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

describe('plinth CLI', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'plinth-cli-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints help for the command and each subcommand', () => {
    const main = plinth(['--help']);
    assert.equal(main.code, 0);
    assert.match(main.out, /serve/);
    for (const sub of ['serve', 'superuser', 'migrate', 'migrate-data']) {
      const r = plinth([sub, '--help']);
      assert.equal(r.code, 0, sub);
      assert.match(r.out, /Usage:/);
    }
  });

  it('rejects unknown commands and bad flags clearly (exit 2)', () => {
    for (const args of [['bogus'], ['serve', '--nope'], ['serve', '--http=notanaddress'], ['serve', '--http'], ['superuser', 'upsert'], ['migrate', 'sideways', `--dir=${dir}/d0`], ['migrate-data', `--from=${dir}/d0`], ['serve', '--poolSize=0'], ['serve', '--poolSize=lots']]) {
      const r = plinth(args);
      assert.equal(r.code, 2, `${args.join(' ')} → ${r.code}: ${r.err}`);
      assert.match(r.err, /Error:/);
    }
  });

  it('migrate-data explains what is wrong with its source or target (exit 1)', () => {
    const missing = plinth(['migrate-data', `--from=${dir}/does-not-exist`, '--to=postgres://127.0.0.1:5432/x']);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /No Plinth SQLite database/);
    const notPg = plinth(['migrate-data', `--from=${dir}`, '--to=mysql://x']);
    assert.equal(notPg.code, 1);
  });

  it('a database that cannot be opened is one clear line (password hidden), exit 1, no stack trace', () => {
    const unsupported = plinth(['serve', '--db=mysql://me:secret@host/db', `--dir=${dir}/d9`]);
    assert.equal(unsupported.code, 1);
    assert.match(unsupported.err, /^Error: Unsupported database URL "mysql:\/\/\*\*\*@host\/db"/);
    const down = plinth(['serve', '--db=postgres://me:secret@127.0.0.1:1/db', `--dir=${dir}/d9`]);
    assert.equal(down.code, 1);
    assert.match(down.err, /^Error: Cannot open the PostgreSQL database postgres:\/\/\*\*\*@127\.0\.0\.1:1\/db: .*ECONNREFUSED/);
    for (const r of [unsupported, down]) {
      assert.doesNotMatch(r.err, /secret|\n\s+at /);
    }
  });

  it('creates, updates and deletes superusers', () => {
    const d = `--dir=${join(dir, 'su')}`;
    assert.equal(plinth(['superuser', 'create', 'root@example.com', 'password-123', d]).code, 0);
    const again = plinth(['superuser', 'create', 'root@example.com', 'password-123', d]);
    assert.equal(again.code, 2);
    assert.equal(plinth(['superuser', 'upsert', 'root@example.com', 'password-456', d]).code, 0);
    const short = plinth(['superuser', 'upsert', 'x@example.com', 'short', d]);
    assert.equal(short.code, 1, 'a too-short password is refused');
    assert.match(short.err, /password/);
    assert.equal(plinth(['superuser', 'delete', 'root@example.com', d]).code, 0);
  });

  it('serves the API, logs in a superuser, and shuts down cleanly on SIGTERM', async () => {
    const dataDir = join(dir, 'serve', 'data');
    assert.equal(plinth(['superuser', 'upsert', 'ops@example.com', 'password-123', `--dir=${dataDir}`]).code, 0);
    const port = await freePort();
    const child = spawn(process.execPath, [BIN, 'serve', `--http=127.0.0.1:${port}`, `--dir=${dataDir}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (b) => (output += b));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    try {
      const deadline = Date.now() + 15_000;
      while (!output.includes('Server started') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.match(output, /Server started at http:\/\/127\.0\.0\.1/);
      const pb = new PocketBase(`http://127.0.0.1:${port}`);
      await pb.collection('_superusers').authWithPassword('ops@example.com', 'password-123');
      await pb.collections.create({ name: 'cli_made', type: 'base', fields: [{ name: 'x', type: 'text' }] });
      assert.ok((await pb.health.check()).code === 200);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
    const migrations = readdirSync(join(dir, 'serve', 'plinth_migrations'));
    assert.ok(migrations.some((f) => f.includes('created_cli_made')), 'automigrate wrote the change beside the data dir');
  });

  it('migrate up applies files to a fresh instance, down reverts, create writes a blank file', () => {
    const migDir = join(dir, 'mig', 'plinth_migrations');
    const d = `--dir=${join(dir, 'mig', 'data')}`;
    const created = plinth(['migrate', 'create', 'add_things', d]);
    assert.equal(created.code, 0, created.err);
    const file = readdirSync(migDir).find((f) => f.endsWith('_add_things.js'))!;
    writeFileSync(
      join(migDir, file),
      `export async function up(app) { await app.saveCollection({ name: 'things', type: 'base', fields: [{ name: 'n', type: 'number' }] }); }\n` +
        `export async function down(app) { await app.deleteCollection('things'); }\n`,
    );
    const up = plinth(['migrate', 'up', d]);
    assert.equal(up.code, 0, up.err);
    assert.match(up.out, /add_things/);
    assert.match(plinth(['migrate', 'up', d]).out, /No pending/);
    const snap = plinth(['migrate', 'collections', d]);
    assert.equal(snap.code, 0, snap.err);
    const down = plinth(['migrate', 'down', '2', d]);
    assert.equal(down.code, 0, down.err);
    assert.match(down.out, /add_things/);
  });
});
