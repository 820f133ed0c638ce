/**
 * `npm i plinth` as a user gets it: the packed tarball installed into an empty folder serves the API with
 * `npx plinth serve`, `import … from 'plinth'` type-checks (a hand-written migration and a generated one), and
 * the tarball holds no tests. Also the fresh clone: the first `plinth` command builds a source checkout.
 *
 * The install is offline-first from the npm cache that `npm ci` filled, with `--ignore-scripts`: the only
 * install script that matters, better-sqlite3's native build, takes over a minute, so the test copies this
 * checkout's compiled binding into place instead (what `prebuild-install` would have downloaded).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const NPM_ENV = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };

function run(cmd: string, args: string[], options: SpawnSyncOptions & { cwd: string }) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000, env: NPM_ENV, ...options });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${out}`);
  return out;
}

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

describe('the npm package', () => {
  let dir: string;
  let project: string;
  let files: string[] = [];

  before(() => {
    assert.ok(existsSync(join(ROOT, 'dist/admin/index.html')), 'the dashboard is not built: run `npm run build` first');
    dir = mkdtempSync(join(tmpdir(), 'plinth-pack-'));
    const packed = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT })) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    const tarball = join(dir, packed[0]!.filename);
    files = packed[0]!.files.map((f) => f.path);
    project = join(dir, 'app');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'my-app', version: '1.0.0', private: true, type: 'module' }));
    run('npm', ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', tarball], { cwd: project });
    const binding = 'node_modules/better-sqlite3/build/Release/better_sqlite3.node';
    mkdirSync(join(project, 'node_modules/better-sqlite3/build/Release'), { recursive: true });
    cpSync(join(ROOT, binding), join(project, binding));
  });

  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('ships the compiled server, its declarations and the dashboard, but no tests', () => {
    for (const f of ['bin/plinth.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js', 'dist/admin/index.html', 'LICENSE', 'README.md']) {
      assert.ok(files.includes(f), `${f} is in the tarball`);
    }
    assert.deepEqual(
      files.filter((f) => /\.test\.|^dist\/test\/|^dist\/bench\/|^src\/|tsbuildinfo/.test(f)),
      [],
    );
  });

  it('`npx plinth serve` answers /api/health from the installed package', async () => {
    const port = await freePort();
    const child = spawn('npx', ['--no-install', 'plinth', 'serve', `--http=127.0.0.1:${port}`, `--dir=${join(project, 'pb_data')}`], {
      cwd: project,
      env: NPM_ENV,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group: npx runs the server as a grandchild, and both must stop
    });
    const closed = new Promise((r) => child.once('close', r));
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    try {
      let health: { code?: number; message?: string } | undefined;
      for (let i = 0; i < 150 && !health; i++) {
        if (child.exitCode !== null) assert.fail(`plinth serve exited (${child.exitCode}):\n${output}`);
        try {
          const res = await fetch(`http://127.0.0.1:${port}/api/health`);
          if (res.status === 200) health = (await res.json()) as typeof health;
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      assert.equal(health?.code, 200, output);
      assert.equal(health?.message, 'API is healthy.');
      const dashboard = await fetch(`http://127.0.0.1:${port}/_/`);
      assert.equal(dashboard.status, 200);
      assert.match(await dashboard.text(), /<html/i);
    } finally {
      process.kill(-child.pid!, 'SIGTERM');
      await closed;
    }
    assert.ok(existsSync(join(project, 'pb_data')));
  });

  it("`import … from 'plinth'` resolves with types, in TypeScript and in a generated migration", () => {
    run(process.execPath, [join(project, 'node_modules/plinth/bin/plinth.js'), 'migrate', 'create', 'add_posts', `--dir=${join(project, 'pb_data')}`], {
      cwd: project,
    });
    const migrations = join(project, 'plinth_migrations');
    const generated = readdirSync(migrations).filter((f) => f.endsWith('_add_posts.js'));
    assert.equal(generated.length, 1);
    assert.match(readFileSync(join(migrations, generated[0]!), 'utf8'), /import\('plinth'\)\.MigrationApi/);
    writeFileSync(
      join(project, 'migration.ts'),
      [
        "import type { MigrationApi } from 'plinth';",
        'export async function up(app: MigrationApi): Promise<void> {',
        "  await app.saveCollection({ name: 'posts', type: 'base', fields: [{ name: 'title', type: 'text' }] });",
        "  const found: { id: string } | undefined = app.findCollection('posts');",
        '  void found;',
        '}',
        '// @ts-expect-error: the types are real, not `any`',
        'export const wrong = (app: MigrationApi) => app.noSuchMethod();',
        '',
      ].join('\n'),
    );
    // A user's ordinary tsconfig: strict, NodeNext, and the migration files type-checked as JavaScript.
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          skipLibCheck: true,
          noEmit: true,
          allowJs: true,
          checkJs: true,
          types: [],
        },
        include: ['migration.ts', 'plinth_migrations/*.js'],
      }),
    );
    run(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: project });
    // A broken use is reported, so the check above is not vacuous.
    writeFileSync(
      join(project, 'plinth_migrations', 'bad.js'),
      "/** @param {import('plinth').MigrationApi} app */\nexport async function up(app) { await app.saveCollection(42); }\n",
    );
    const bad = spawnSync(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: project, encoding: 'utf8' });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stdout, /bad\.js.*TS2345/);
    rmSync(join(project, 'plinth_migrations', 'bad.js'));
    // And the runtime entry loads.
    run(process.execPath, ['--input-type=module', '-e', "await import('plinth');"], { cwd: project });
  });
});

describe('a fresh source checkout', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'plinth-clone-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('builds itself on the first `plinth` command, so "create a superuser before starting" works', () => {
    // What `git clone` + `npm ci` leave: the sources and node_modules, no dist/.
    for (const p of ['bin', 'src', 'test', 'bench', 'admin', 'scripts', 'tsconfig.json', 'package.json']) {
      cpSync(join(ROOT, p), join(dir, p), { recursive: true, filter: (src) => !/node_modules|bench\/results/.test(src) });
    }
    symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(dir, 'node_modules'), 'dir');
    assert.ok(!existsSync(join(dir, 'dist')));
    const out = run(
      process.execPath,
      [join(dir, 'bin/plinth.js'), 'superuser', 'upsert', 'admin@example.com', 'a-long-password', `--dir=${join(dir, 'plinth_data')}`],
      { cwd: dir },
    );
    assert.match(out, /building it/);
    assert.match(out, /superuser admin@example\.com/i);
    assert.ok(existsSync(join(dir, 'dist/src/cli/main.js')));
    assert.ok(existsSync(join(dir, 'dist/admin/index.html')), 'the dashboard is built too');
    // Built once: the next command does not build again.
    const again = run(
      process.execPath,
      [join(dir, 'bin/plinth.js'), 'superuser', 'upsert', 'admin@example.com', 'another-password', `--dir=${join(dir, 'plinth_data')}`],
      { cwd: dir },
    );
    assert.doesNotMatch(again, /building/);
  });
});
