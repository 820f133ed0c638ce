/**
 * A backup on a really full disk (issue 16: "disk full during a backup: clear error, no partial file left as
 * done"): small tmpfs mounts where the zip is written (`backups/`) and where the PostgreSQL dump is staged
 * (`.plinth_temp/`). `plinth backup create` exits 1 with one line saying the disk is full, leaves no file in
 * either folder and lists no backup; with room again the next backup works. On PostgreSQL this covers both
 * pg_dump (whose output pipe used to hang when the file failed after the dump had ended) and the JSON-lines format.
 * backups-api.test.ts covers the same with an injected write error; this file needs `mount` (root), which
 * the CI and the development machines have; elsewhere it says so and checks nothing more.
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from '../../src/app.js';
import { systemRequest } from '../../src/records/system-request.js';
import { silentLogger } from '../../src/util/logger.js';
import { BIN } from '../helpers/cli.js';
import { createTempDatabase } from '../helpers/postgres.js';

function mountTmpfs(dir: string, size: string): boolean {
  mkdirSync(dir, { recursive: true });
  return spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]).status === 0;
}
function unmount(dir: string): void {
  spawnSync('umount', [dir]);
}
function backup(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [BIN, 'backup', ...args], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, ...env } });
  return { code: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
}

describe('backups on a full disk', () => {
  let dir: string;
  let canMount = false;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'plinth-disk-full-'));
    const probe = join(dir, 'probe');
    canMount = mountTmpfs(probe, '64k');
    if (canMount) unmount(probe);
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** A data dir with `rows` records of 4 KB (0: not even the collection) and 3 MB of incompressible files. */
  async function dataDirWith(name: string, rows: number, databaseUrl?: string): Promise<string> {
    const dataDir = join(dir, name, 'data');
    const app = await App.open({ dataDir, logger: silentLogger(), ...(databaseUrl ? { databaseUrl, poolSize: 2 } : {}) });
    try {
      if (rows > 0) {
        const notes = await app.collections.create({ name: 'notes', type: 'base', fields: [{ name: 'title', type: 'text' }] });
        const req = systemRequest(app.collections);
        for (let i = 0; i < rows; i++) await app.writer.create(notes, { data: { title: randomBytes(2000).toString('hex') } }, req);
      }
    } finally {
      await app.close();
    }
    mkdirSync(join(dataDir, 'storage', 'blobs'), { recursive: true });
    writeFileSync(join(dataDir, 'storage', 'blobs', 'random.bin'), randomBytes(3 * 1024 * 1024));
    return dataDir;
  }

  function skipUnlessMount(t: TestContext): boolean {
    if (canMount) return false;
    // Reported as skipped, not passed: the injected-error test in backups-api.test.ts still covers the logic.
    t.skip('mount -t tmpfs is not permitted here (not root?)');
    return true;
  }

  function assertFullDiskRefusal(r: ReturnType<typeof backup>): void {
    assert.equal(r.signal, null, 'it ended by itself (no hang)');
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.err, /^Error: Failed to create backup: no space left on the device\.$/m);
    assert.doesNotMatch(r.err + r.out, /"level"/, 'one plain line, no log JSON');
  }

  it('SQLite: the zip does not fit in backups/ → exit 1, nothing left; with room again it works', async (t) => {
    if (skipUnlessMount(t)) return;
    const dataDir = await dataDirWith('sqlite', 1);
    const backups = join(dataDir, 'backups');
    assert.ok(mountTmpfs(backups, '1m'));
    try {
      assertFullDiskRefusal(backup(['create', 'full.zip', `--dir=${dataDir}`]));
      assert.deepEqual(readdirSync(backups), [], 'no partial zip, not even a temporary one');
      assert.equal(backup(['list', `--dir=${dataDir}`]).out, 'No backups.\n');
    } finally {
      unmount(backups);
    }
    const ok = backup(['create', 'roomy.zip', `--dir=${dataDir}`]);
    assert.equal(ok.code, 0, ok.err);
    assert.ok(existsSync(join(backups, 'roomy.zip')));
  });

  // A small dump is written whole before the full disk is noticed (the case that hung); a large one fails mid-way.
  for (const [format, rows] of [
    ['pg_dump', 0],
    ['pg_dump', 250],
    ['json', 250],
  ] as const) {
    it(`PostgreSQL (${format}, ${rows} rows): the dump does not fit in .plinth_temp/ → exit 1, nothing left`, async (t) => {
      if (skipUnlessMount(t)) return;
      const db = await createTempDatabase();
      try {
        const dataDir = await dataDirWith(`pg-${format}-${rows}`, rows, db.url);
        const env = format === 'json' ? { PLINTH_BACKUP_PG_FORMAT: 'json' } : {};
        const temp = join(dataDir, '.plinth_temp');
        assert.ok(mountTmpfs(temp, rows > 0 ? '4k' : '16k'));
        try {
          assertFullDiskRefusal(backup(['create', 'full.zip', `--dir=${dataDir}`, `--db=${db.url}`], env));
          assert.deepEqual(readdirSync(temp), [], 'the staging folder is cleaned up');
          assert.deepEqual(existsSync(join(dataDir, 'backups')) ? readdirSync(join(dataDir, 'backups')) : [], []);
        } finally {
          unmount(temp);
        }
        const ok = backup(['create', 'roomy.zip', `--dir=${dataDir}`, `--db=${db.url}`], env);
        assert.equal(ok.code, 0, ok.err);
        assert.match(backup(['list', `--dir=${dataDir}`, `--db=${db.url}`]).out, /^roomy\.zip /);
      } finally {
        await db.drop();
      }
    });
  }
});
