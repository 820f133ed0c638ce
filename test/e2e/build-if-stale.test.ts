/**
 * `npm start`'s prestart (scripts/build-if-stale.js) in a throw-away project tree, with `npx` and `npm`
 * replaced by recorders on PATH: nothing runs when the outputs are newer than every source; a changed,
 * added or deleted source runs only the build it belongs to.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const SCRIPT = resolve('scripts/build-if-stale.js');

describe('npm start builds only what is stale', () => {
  let root: string;
  let log: string;
  const run = () => {
    writeFileSync(log, '');
    const r = spawnSync(process.execPath, [SCRIPT], {
      cwd: join(root, 'project'),
      encoding: 'utf8',
      env: { ...process.env, PATH: `${join(root, 'bin')}:${process.env.PATH}` },
    });
    assert.equal(r.status, 0, r.stderr);
    return { out: r.stdout, calls: readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) };
  };
  const write = (rel: string, text = 'x', ageSeconds = 0) => {
    const p = join(root, 'project', rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
    const t = new Date(Date.now() - ageSeconds * 1000);
    utimesSync(p, t, t);
    return p;
  };
  const age = (rel: string, ageSeconds: number) => {
    const t = new Date(Date.now() - ageSeconds * 1000);
    utimesSync(join(root, 'project', rel), t, t);
  };

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'plinth-stale-'));
    log = join(root, 'calls.log');
    mkdirSync(join(root, 'bin'));
    for (const tool of ['npx', 'npm']) {
      const p = join(root, 'bin', tool);
      writeFileSync(p, `#!/bin/sh\necho "${tool} $*" >> "${log}"\n`);
      chmodSync(p, 0o755);
    }
    // Sources an hour old, outputs a minute old: up to date.
    for (const rel of ['src/a.ts', 'test/t.test.ts', 'bench/b.ts', 'tsconfig.json', 'admin/src/App.svelte', 'admin/index.html', 'package-lock.json'])
      write(rel, 'x', 3600);
    for (const dir of ['src', 'test', 'bench', 'admin', 'admin/src', '.']) age(dir, 3600);
    write('dist/src/cli/main.js', '', 60);
    write('dist/.tsbuildinfo', '{}', 60);
    write('dist/admin/index.html', '', 60);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('nothing changed: no build, in well under a second', () => {
    const t0 = performance.now();
    const r = run();
    assert.deepEqual(r.calls, []);
    assert.match(r.out, /^Build up to date \(checked in \d+ ms\)\.\n$/);
    assert.ok(performance.now() - t0 < 5000);
  });

  it('a changed server source runs the incremental tsc only, and then counts as built', () => {
    write('src/a.ts', 'y');
    const before = statSync(join(root, 'project', 'dist/.tsbuildinfo')).mtimeMs;
    assert.deepEqual(run().calls, ['npx tsc -p tsconfig.json']);
    assert.ok(statSync(join(root, 'project', 'dist/.tsbuildinfo')).mtimeMs > before, 'marked as checked even when tsc emitted nothing');
    assert.deepEqual(run().calls, []);
  });

  it('a deleted dashboard file (its folder changes) rebuilds the dashboard only', () => {
    rmSync(join(root, 'project', 'admin/src/App.svelte'));
    const r = run();
    assert.deepEqual(r.calls, ['npm run --silent build:admin']);
    assert.match(r.out, /^Built dashboard in \d+ ms\.\n$/);
  });

  it('a missing build runs both', () => {
    rmSync(join(root, 'project', 'dist'), { recursive: true });
    assert.deepEqual(run().calls, ['npx tsc -p tsconfig.json', 'npm run --silent build:admin']);
  });
});
