/**
 * The `plinth` command as a user runs it: help, version, flag errors, start-up failures (one line, exit 1,
 * nothing created when the port is taken), superuser management, serve with graceful shutdown and its
 * migrations report, and migrations applied on another data dir.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import PocketBase from 'pocketbase';
import { COMMANDS } from '../../src/cli/main.js';
import { createTempDatabase } from '../helpers/postgres.js';
import { BIN, freePort, plinth } from '../helpers/cli.js';

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

  it("each subcommand's --help lists every flag it accepts (--db for superuser and migrate too)", () => {
    for (const [name, spec] of Object.entries(COMMANDS)) {
      const r = plinth([name, '-h']);
      assert.equal(r.code, 0, name);
      for (const flag of Object.keys(spec.flags)) assert.match(r.out, new RegExp(`--${flag}\\b`), `${name} --help lists --${flag}`);
    }
    assert.match(plinth(['superuser', '--help']).out, /--db/);
    assert.match(plinth(['migrate', '--help']).out, /--db/);
  });

  it('--version and -v print the package version', () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    for (const flag of ['--version', '-v']) {
      const r = plinth([flag]);
      assert.equal(r.code, 0);
      assert.equal(r.out, `plinth version ${version}\n`);
    }
  });

  it('rejects unknown commands and bad flags clearly (exit 2)', () => {
    for (const args of [
      ['bogus'],
      ['serve', '--nope'],
      ['serve', '--http=notanaddress'],
      ['serve', '--http'],
      ['superuser', 'upsert'],
      ['migrate', 'sideways', `--dir=${dir}/d0`],
      ['migrate-data', `--from=${dir}/d0`],
      ['serve', '--poolSize=0'],
      ['serve', '--poolSize=lots'],
      ['serve', '--metrics=maybe'],
      ['serve', '--slowQueryMs=fast'],
      ['serve', '--slowQueryMs=-5'],
      // stray positionals, unknown short flags, values for boolean flags
      ['serve', 'extra'],
      ['serve', '-x'],
      ['serve', '--dev=yes'],
      ['migrate', 'up', 'extra', `--dir=${dir}/d0`],
      ['migrate', 'down', '1', 'more', `--dir=${dir}/d0`],
      ['superuser', 'delete', 'a@example.com', 'extra', `--dir=${dir}/d0`],
      ['superuser', 'upsert', 'a@example.com', 'pw-123456789', 'extra'],
      ['migrate-data', 'stray', '--to=postgres://x'],
    ]) {
      const r = plinth(args);
      assert.equal(r.code, 2, `${args.join(' ')} → ${r.code}: ${r.err}`);
      assert.match(r.err, /Error:/);
      assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
    }
    assert.ok(!existsSync(join(dir, 'd0')), 'a usage error creates nothing');
  });

  it('a port in use is one line and exit 1, before anything is created or migrated (SQLite and PostgreSQL)', async () => {
    const blocker = createServer();
    await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', () => res()));
    const port = (blocker.address() as { port: number }).port;
    const temp = await createTempDatabase();
    try {
      const parent = join(dir, 'busy');
      mkdirSync(join(parent, 'plinth_migrations'), { recursive: true });
      writeFileSync(
        join(parent, 'plinth_migrations', '1000000000000_would_run.js'),
        `export async function up(app) { await app.saveCollection({ name: 'nope', type: 'base', fields: [] }); }\n`,
      );
      for (const db of [[], [`--db=${temp.url}`]]) {
        const r = plinth(['serve', `--http=127.0.0.1:${port}`, `--dir=${join(parent, 'data')}`, ...db]);
        assert.equal(r.code, 1, r.err);
        assert.match(r.err, new RegExp(`^Error: Cannot listen on 127\\.0\\.0\\.1:${port}: the port is already in use`));
        assert.equal(r.err.trim().split('\n').length, 1, `one line: ${r.err}`);
        assert.equal(r.out, '');
        assert.ok(!existsSync(join(parent, 'data')), 'no data dir was created');
      }
      const client = new pg.Client({ connectionString: temp.url });
      await client.connect();
      try {
        const tables = await client.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`);
        assert.deepEqual(tables.rows, [], 'nothing created in PostgreSQL');
      } finally {
        await client.end();
      }
    } finally {
      blocker.close();
      await temp.drop();
    }
  });

  it('a --dir that is a file, or below a file, is one line and exit 1', () => {
    const file = join(dir, 'plain-file');
    writeFileSync(file, 'x');
    for (const d of [file, join(file, 'sub')]) {
      const r = plinth(['serve', '--http=127.0.0.1:0', `--dir=${d}`]);
      assert.equal(r.code, 1, r.err);
      assert.match(
        r.err,
        /^Error: Cannot use the data directory .*: it \(or a folder above it\) is a file, not a directory\. Choose another with --dir=PATH\.\n$/,
      );
    }
    const mig = plinth(['serve', '--http=127.0.0.1:0', `--dir=${join(dir, 'mig-file', 'data')}`, `--migrationsDir=${file}`]);
    assert.equal(mig.code, 1, mig.err);
    assert.match(mig.err, /^Error: Cannot apply the migrations in .*ENOTDIR.*\n$/);
    const su = plinth(['superuser', 'upsert', 'x@example.com', 'password-123', `--dir=${join(file, 'sub')}`]);
    assert.equal(su.code, 1);
    assert.match(su.err, /^Error: Cannot use the data directory/);
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

  it('while it starts (the port bound, hook files loading), a request is answered 503 with Retry-After, not left hanging', async () => {
    const base = join(dir, 'starting');
    const hooksDir = join(base, 'plinth_hooks');
    mkdirSync(hooksDir, { recursive: true });
    // A hook file whose module takes 2 s to load keeps the server in its start-up.
    writeFileSync(join(hooksDir, 'slow.ts'), `await new Promise((r) => setTimeout(r, 2000));\nexport default () => {};\n`);
    const port = await freePort();
    const child = spawn(process.execPath, [BIN, 'serve', `--http=127.0.0.1:${port}`, `--dir=${join(base, 'data')}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (b) => (output += b));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    try {
      let early: Response | undefined;
      for (let i = 0; i < 200 && !early && !output.includes('Server started'); i++) {
        early = await fetch(`http://127.0.0.1:${port}/api/health`, { signal: AbortSignal.timeout(1000) }).catch(() => undefined);
        if (!early) await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(early, 'a request during start-up got an answer within a second');
      assert.equal(early.status, 503);
      assert.equal(early.headers.get('retry-after'), '1');
      assert.match(early.headers.get('x-request-id') ?? '', /^[\w-]{16}$/);
      assert.deepEqual(await early.json(), { data: {}, message: 'The server is starting, please try again.', status: 503 });
      const deadline = Date.now() + 15_000;
      while (!output.includes('Server started') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal((await fetch(`http://127.0.0.1:${port}/api/health`)).status, 200);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
  });

  it('serves the API, logs in a superuser, and shuts down cleanly on SIGTERM', async () => {
    const dataDir = join(dir, 'serve', 'data');
    assert.equal(plinth(['superuser', 'upsert', 'ops@example.com', 'password-123', `--dir=${dataDir}`]).code, 0);
    // A migration that arrives in the shared folder (say, from another instance) is applied at start, and said so.
    const migDir = join(dir, 'serve', 'plinth_migrations');
    mkdirSync(migDir, { recursive: true });
    writeFileSync(
      join(migDir, '1000000001000_from_elsewhere.js'),
      `export async function up(app) { await app.saveCollection({ name: 'elsewhere', type: 'base', fields: [] }); }\nexport async function down(app) { await app.deleteCollection('elsewhere'); }\n`,
    );
    const port = await freePort();
    // `--http VALUE` (space form) and `--dev=false` (the old parser's boolean form) still work.
    const child = spawn(process.execPath, [BIN, 'serve', '--http', `127.0.0.1:${port}`, `--dir=${dataDir}`, '--dev=false'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (b) => (output += b));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    try {
      const deadline = Date.now() + 15_000;
      while (!output.includes('Server started') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.match(output, /Server started at http:\/\/127\.0\.0\.1/);
      assert.ok(output.includes(`├─ Migrations: ${migDir} (1 file; 1 applied now, 1 applied in all)\n│    applied 1000000001000_from_elsewhere.js\n`), output);
      assert.equal(output.split('Mail is not configured:').length, 2, 'mail being off is said once');
      const pb = new PocketBase(`http://127.0.0.1:${port}`);
      await pb.collection('_superusers').authWithPassword('ops@example.com', 'password-123');
      await pb.collections.create({ name: 'cli_made', type: 'base', fields: [{ name: 'x', type: 'text' }] });
      assert.ok((await pb.health.check()).code === 200);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
    const migrations = readdirSync(join(dir, 'serve', 'plinth_migrations'));
    assert.ok(
      migrations.some((f) => f.includes('created_cli_made')),
      'automigrate wrote the change beside the data dir',
    );
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
