/**
 * PocketBase's backups API on both dialects: shapes (through the `pocketbase` SDK), superuser-only access,
 * file-token downloads, name rules, uploads, keys that try to leave the backups folder, a backup that
 * cannot be written (full disk: no file left looking done), restores of corrupt / foreign / data-less /
 * hostile zips refused with the data untouched, `canBackup`, settings validation and the automatic job.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import BetterSqlite3 from 'better-sqlite3';
import yazl from 'yazl';
import type { ClientResponseError } from 'pocketbase';
import { listZip } from '../../src/backups/zip.js';
import { AUTO_BACKUP_JOB, AUTO_BACKUP_PREFIX } from '../../src/backups/index.js';
import { startServer, TEST_DIALECT, type TestServer } from '../helpers/server.js';

function zipBuffer(entries: Array<{ name: string; data: Buffer }>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const e of entries) zip.addBuffer(e.data, e.name);
  zip.end();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
}

/** A zip whose single entry is named `name` exactly (bypassing yazl's own name checks by patching). */
async function zipWithRawName(name: string, data: Buffer): Promise<Buffer> {
  const placeholder = 'x'.repeat(name.length);
  const buf = await zipBuffer([{ name: placeholder, data }]);
  const from = Buffer.from(placeholder);
  const to = Buffer.from(name);
  for (let i = buf.indexOf(from); i !== -1; i = buf.indexOf(from, i + 1)) to.copy(buf, i);
  return buf;
}

function sqliteFile(dir: string, setup: (db: BetterSqlite3.Database) => void): Buffer {
  const path = join(dir, `db_${Math.random().toString(36).slice(2)}.db`);
  const db = new BetterSqlite3(path);
  setup(db);
  db.close();
  return readFileSync(path);
}

describe(`backups API (${TEST_DIALECT})`, () => {
  let s: TestServer;
  let userToken = '';
  const scratch = () => {
    const d = join(s.dir, 'scratch');
    mkdirSync(d, { recursive: true });
    return d;
  };
  const backupsDir = () => join(s.app.config.dataDir, 'backups');

  before(async () => {
    s = await startServer();
    await s.admin.collections.create({ name: 'notes', type: 'base', listRule: '', viewRule: '', fields: [{ name: 'title', type: 'text' }] });
    await s.admin.collection('notes').create({ title: 'kept' });
    await s.admin.collection('users').create({ email: 'u@example.com', password: 'password123', passwordConfirm: 'password123' });
    const user = s.client();
    await user.collection('users').authWithPassword('u@example.com', 'password123');
    userToken = user.authStore.token;
  });
  after(async () => {
    await s.close();
  });

  it('creates, lists, downloads and deletes with PocketBase shapes', async () => {
    assert.deepEqual(await s.admin.backups.getFullList(), []);
    assert.equal(await s.admin.backups.create(''), true);
    const list = await s.admin.backups.getFullList();
    assert.equal(list.length, 1);
    const [item] = list;
    assert.deepEqual(Object.keys(item as object).sort(), ['key', 'modified', 'size']);
    assert.match(item!.key, /^pb_backup_plinth_\d{14}\.zip$/);
    assert.match(item!.modified, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(item!.size > 100);

    await s.admin.backups.create('named_backup-1.zip');
    assert.deepEqual((await s.admin.backups.getFullList()).map((b) => b.key).sort(), [item!.key, 'named_backup-1.zip'].sort());

    const token = await s.admin.files.getToken();
    const res = await fetch(s.admin.backups.getDownloadURL(token, 'named_backup-1.zip'));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/zip');
    assert.match(res.headers.get('content-disposition') ?? '', /attachment; filename="named_backup-1.zip"/);
    const body = Buffer.from(await res.arrayBuffer());
    const path = join(scratch(), 'dl.zip');
    writeFileSync(path, body);
    const names = await listZip(path);
    assert.ok(names.includes(TEST_DIALECT === 'sqlite' ? 'data.db' : 'postgres_dump.sql'), names.join());
    assert.ok(!names.some((n) => n.startsWith('backups/') || n.endsWith('-wal') || n.endsWith('-shm') || n.startsWith('.plinth_temp')), names.join());

    assert.equal(await s.admin.backups.delete('named_backup-1.zip'), true);
    assert.deepEqual(
      (await s.admin.backups.getFullList()).map((b) => b.key),
      [item!.key],
    );
    await assert.rejects(s.admin.backups.delete('named_backup-1.zip'), (e: ClientResponseError) => e.status === 400);
    await s.admin.backups.delete(item!.key);
  });

  it('is for superusers only: guests 401, other records 403; downloads need a superuser file token', async () => {
    await s.admin.backups.create('auth_check.zip');
    const guest = s.client();
    for (const call of [
      () => guest.backups.getFullList(),
      () => guest.backups.create(''),
      () => guest.backups.delete('auth_check.zip'),
      () => guest.backups.restore('auth_check.zip'),
    ]) {
      await assert.rejects(call(), (e: ClientResponseError) => e.status === 401);
    }
    const headers = { Authorization: userToken };
    for (const [method, path] of [
      ['GET', '/api/backups'],
      ['POST', '/api/backups'],
      ['DELETE', '/api/backups/auth_check.zip'],
      ['POST', '/api/backups/auth_check.zip/restore'],
      ['POST', '/api/backups/upload'],
    ] as const) {
      const r = await s.fetch(path, { method, headers });
      assert.equal(r.status, 403, `${method} ${path}`);
    }
    // No token, a garbage token, a regular user's file token: 403.
    assert.equal((await s.fetch('/api/backups/auth_check.zip')).status, 403);
    assert.equal((await s.fetch('/api/backups/auth_check.zip?token=abc')).status, 403);
    const userFileToken = ((await (await s.fetch('/api/files/token', { method: 'POST', headers })).json()) as { token: string }).token;
    assert.equal((await s.fetch(`/api/backups/auth_check.zip?token=${userFileToken}`)).status, 403);
    // A superuser's auth token is not a file token either.
    assert.equal((await s.fetch(`/api/backups/auth_check.zip?token=${s.admin.authStore.token}`)).status, 403);
    assert.deepEqual(
      (await s.admin.backups.getFullList()).map((b) => b.key),
      ['auth_check.zip'],
    );
    await s.admin.backups.delete('auth_check.zip');
  });

  it('checks names as PocketBase: lowercase [a-z0-9_-] + .zip, unique', async () => {
    for (const bad of ['Upper.zip', 'no-extension', 'sp ace.zip', '../x.zip', 'a/b.zip', `${'a'.repeat(150)}.zip`, '.zip']) {
      await assert.rejects(s.admin.backups.create(bad), (e: ClientResponseError) => {
        assert.equal(e.status, 400, bad);
        assert.ok((e.response.data as Record<string, unknown>).name, bad);
        return true;
      });
    }
    await s.admin.backups.create('dup.zip');
    await assert.rejects(s.admin.backups.create('dup.zip'), (e: ClientResponseError) => {
      assert.equal(e.status, 400);
      assert.equal((e.response.data as { name: { code: string } }).name.code, 'validation_backup_name_exists');
      return true;
    });
    await s.admin.backups.delete('dup.zip');
  });

  it('refuses keys that try to leave the backups folder', async () => {
    const token = await s.admin.files.getToken();
    const auth = { Authorization: s.admin.authStore.token };
    writeFileSync(join(s.dir, 'outside.zip'), 'secret');
    for (const key of ['..%2Fdata.db', '..%2F..%2Foutside.zip', '%2e%2e%2Fdata.db', '..%5Cdata.db', '.tmp_x.zip', '%2Fetc%2Fpasswd', 'data.db']) {
      const dl = await s.fetch(`/api/backups/${key}?token=${token}`);
      assert.ok(dl.status === 400 || dl.status === 404, `download ${key}: ${dl.status}`);
      const del = await s.fetch(`/api/backups/${key}`, { method: 'DELETE', headers: auth });
      assert.ok(del.status === 400 || del.status === 404, `delete ${key}: ${del.status}`);
      const rs = await s.fetch(`/api/backups/${key}/restore`, { method: 'POST', headers: auth });
      assert.ok(rs.status === 400 || rs.status === 404, `restore ${key}: ${rs.status}`);
    }
    assert.ok(existsSync(join(s.dir, 'outside.zip')));
    if (TEST_DIALECT === 'sqlite') assert.ok(existsSync(join(s.app.config.dataDir, 'data.db')));
    assert.equal((await s.admin.collection('notes').getFullList()).length, 1);
  });

  it('uploads zips only, keeping the file name; refuses non-zips, bad names and duplicates', async () => {
    const good = await zipBuffer([{ name: 'hello.txt', data: Buffer.from('hi') }]);
    await s.admin.backups.upload({ file: new File([good], 'uploaded_one.zip', { type: 'application/zip' }) });
    assert.ok((await s.admin.backups.getFullList()).some((b) => b.key === 'uploaded_one.zip' && b.size === good.length));
    const cases: Array<[Buffer, string, string]> = [
      [Buffer.from('not a zip at all'), 'text.zip', 'file'],
      [good, 'sp ace.zip', 'file'],
      [good, 'evil.exe', 'file'],
      [good, 'uploaded_one.zip', 'file'],
      [Buffer.concat([good.subarray(0, 30)]), 'truncated.zip', 'file'],
    ];
    for (const [data, name] of cases) {
      await assert.rejects(s.admin.backups.upload({ file: new File([data], name) }), (e: ClientResponseError) => {
        assert.equal(e.status, 400, name);
        assert.ok((e.response.data as Record<string, unknown>).file, name);
        return true;
      });
    }
    // Missing file part.
    const fd = new FormData();
    fd.append('other', 'x');
    const r = await s.fetch('/api/backups/upload', { method: 'POST', body: fd, headers: { Authorization: s.admin.authStore.token } });
    assert.equal(r.status, 400);
    assert.deepEqual(readdirSync(backupsDir()).sort(), ['uploaded_one.zip']);
    await s.admin.backups.delete('uploaded_one.zip');
  });

  it('refuses corrupt, foreign, data-less and hostile zips before replacing anything', async () => {
    const dir = scratch();
    const upload = async (name: string, data: Buffer) => {
      await s.admin.backups.upload({ file: new File([data], name) });
    };
    const foreign = sqliteFile(dir, (db) => db.exec('CREATE TABLE things (id TEXT)'));
    const plinthish = sqliteFile(dir, (db) => db.exec('CREATE TABLE _collections (id TEXT)'));
    const notSqlite = Buffer.from('SQLite format 3\0'.padEnd(4096, 'z'));
    const damaged = Buffer.from(plinthish);
    damaged.fill(0x55, 100, 3000); // page 1 b-tree header and cells overwritten
    await upload('no_data.zip', await zipBuffer([{ name: 'storage/readme.txt', data: Buffer.from('x') }]));
    await upload('foreign.zip', await zipBuffer([{ name: 'data.db', data: foreign }]));
    await upload('garbage_db.zip', await zipBuffer([{ name: 'data.db', data: notSqlite }]));
    await upload('damaged_db.zip', await zipBuffer([{ name: 'data.db', data: damaged }]));
    // Hostile entry names are refused at upload already; placed in the folder by hand, restore refuses them too.
    const traversal = await zipWithRawName('../../../evil.txt', Buffer.from('pwned'));
    const absolute = await zipWithRawName('/tmp/plinth-evil.txt', Buffer.from('pwned'));
    await assert.rejects(upload('traversal.zip', traversal), (e: ClientResponseError) => e.status === 400);
    writeFileSync(join(backupsDir(), 'traversal.zip'), traversal);
    writeFileSync(join(backupsDir(), 'absolute.zip'), absolute);
    // Bytes of a valid archive with the central directory mangled after upload (uploads check the zip).
    await upload('corrupt.zip', await zipBuffer([{ name: 'data.db', data: plinthish }]));
    const corruptPath = join(backupsDir(), 'corrupt.zip');
    const bytes = readFileSync(corruptPath);
    bytes.fill(0xff, bytes.length - 60, bytes.length - 10);
    writeFileSync(corruptPath, bytes);

    const before = await s.admin.collection('notes').getFullList();
    for (const key of ['no_data.zip', 'foreign.zip', 'garbage_db.zip', 'damaged_db.zip', 'traversal.zip', 'absolute.zip', 'corrupt.zip']) {
      await assert.rejects(s.admin.backups.restore(key), (e: ClientResponseError) => {
        assert.equal(e.status, 400, key);
        if (TEST_DIALECT === 'sqlite') assert.match(e.message, /Invalid backup/, `${key}: ${e.message}`);
        else assert.match(e.message, /PostgreSQL/, `${key}: ${e.message}`);
        return true;
      });
    }
    assert.deepEqual(await s.admin.collection('notes').getFullList(), before);
    assert.ok(!existsSync(join(s.dir, 'evil.txt')) && !existsSync('/tmp/plinth-evil.txt'));
    // No staging folder left behind, and a backup can start again.
    const temp = join(s.app.config.dataDir, '.plinth_temp');
    assert.deepEqual(existsSync(temp) ? readdirSync(temp) : [], []);
    assert.equal(s.app.backups.canBackup(), true);
    for (const key of ['no_data.zip', 'foreign.zip', 'garbage_db.zip', 'damaged_db.zip', 'traversal.zip', 'absolute.zip', 'corrupt.zip'])
      await s.admin.backups.delete(key);
  });

  it('a valid backup on a server that cannot restart itself (or on PostgreSQL) is a clear 400, data untouched', async () => {
    await s.admin.backups.create('valid.zip');
    await assert.rejects(s.admin.backups.restore('valid.zip'), (e: ClientResponseError) => {
      assert.equal(e.status, 400);
      assert.match(e.message, TEST_DIALECT === 'sqlite' ? /cannot restart itself/ : /PostgreSQL/);
      return true;
    });
    assert.equal((await s.admin.collection('notes').getFullList()).length, 1);
    await s.admin.backups.delete('valid.zip');
  });

  it('a backup that cannot be written (disk full) is a clear 400 and leaves no done-looking file', async () => {
    const original = s.app.backups.openOutput;
    s.app.backups.openOutput = () => {
      let written = 0;
      return new Writable({
        write(chunk: Buffer, _enc, cb) {
          written += chunk.length;
          if (written > 1000) cb(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
          else cb();
        },
      });
    };
    try {
      await assert.rejects(s.admin.backups.create('full_disk.zip'), (e: ClientResponseError) => {
        assert.equal(e.status, 400);
        assert.match(e.message, /no space left/);
        return true;
      });
    } finally {
      s.app.backups.openOutput = original;
    }
    assert.deepEqual(await s.admin.backups.getFullList(), []);
    assert.deepEqual(existsSync(backupsDir()) ? readdirSync(backupsDir()) : [], []);
    assert.equal(s.app.backups.canBackup(), true);

    // A backups "folder" that cannot be created (a file in its way): the same clear 400.
    const { rmSync } = await import('node:fs');
    rmSync(backupsDir(), { recursive: true, force: true });
    writeFileSync(backupsDir(), 'in the way');
    try {
      await assert.rejects(s.admin.backups.create('blocked.zip'), (e: ClientResponseError) => e.status === 400 && /Failed to create backup/.test(e.message));
    } finally {
      rmSync(backupsDir(), { force: true });
    }
    assert.equal(s.app.backups.canBackup(), true);
  });

  it('answers one backup at a time; /api/health canBackup is false while one runs', async () => {
    const health = async () =>
      ((await (await s.fetch('/api/health', { headers: { Authorization: s.admin.authStore.token } })).json()) as { data: { canBackup: boolean } }).data
        .canBackup;
    assert.equal(await health(), true);
    const original = s.app.backups.openOutput;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    s.app.backups.openOutput = (path) => {
      const real = original(path);
      return new Writable({
        write(chunk: Buffer, enc, cb) {
          gate.then(() => real.write(chunk, enc, cb), cb);
        },
        final(cb) {
          real.end(cb);
        },
      });
    };
    try {
      const running = s.admin.backups.create('slow.zip');
      for (let i = 0; i < 100 && s.app.backups.canBackup(); i++) await sleep(10);
      assert.equal(await health(), false);
      await assert.rejects(s.admin.backups.create('other.zip'), (e: ClientResponseError) => e.status === 400 && /another backup\/restore/.test(e.message));
      await assert.rejects(s.admin.backups.restore('slow.zip'), (e: ClientResponseError) => e.status === 400);
      release();
      await running;
    } finally {
      s.app.backups.openOutput = original;
    }
    assert.equal(await health(), true);
    assert.deepEqual(
      (await s.admin.backups.getFullList()).map((b) => b.key),
      ['slow.zip'],
    );
    await s.admin.backups.delete('slow.zip');
  });

  it('runs onBackupCreate / onBackupRestore hooks; a throwing or stopping handler cancels with a 400', async () => {
    const seen: string[] = [];
    const a = s.app.hooks.onBackupCreate.bind(async (e, next) => {
      seen.push(`create:${e.name}`);
      if (e.name === 'refused.zip') throw new Error('not today');
      if (e.name === 'stopped.zip') return;
      await next();
    });
    const b = s.app.hooks.onBackupRestore.bind(async (e) => {
      seen.push(`restore:${e.name}`);
      throw new (await import('../../src/errors/index.js')).AppError('bad_request', 'Restores are disabled here.');
    });
    try {
      await s.admin.backups.create('hooked.zip');
      await assert.rejects(s.admin.backups.create('refused.zip'), (e: ClientResponseError) => e.status === 400 && /not today/.test(e.message));
      await assert.rejects(s.admin.backups.create('stopped.zip'), (e: ClientResponseError) => e.status === 400 && /cancelled/.test(e.message));
      if (TEST_DIALECT === 'sqlite') {
        await assert.rejects(s.admin.backups.restore('hooked.zip'), (e: ClientResponseError) => e.status === 400 && /Restores are disabled/.test(e.message));
      }
      assert.deepEqual(
        (await s.admin.backups.getFullList()).map((x) => x.key),
        ['hooked.zip'],
      );
      assert.deepEqual(seen, ['create:hooked.zip', 'create:refused.zip', 'create:stopped.zip', ...(TEST_DIALECT === 'sqlite' ? ['restore:hooked.zip'] : [])]);
      assert.equal(s.app.backups.canBackup(), true);
    } finally {
      s.app.hooks.onBackupCreate.unbind(a);
      s.app.hooks.onBackupRestore.unbind(b);
    }
    await s.admin.backups.delete('hooked.zip');
  });

  it('validates settings.backups and schedules the automatic backup, keeping cronMaxKeep of them', async () => {
    await assert.rejects(s.admin.settings.update({ backups: { cron: 'every day' } }), (e: ClientResponseError) => {
      assert.equal(e.status, 400);
      assert.equal((e.response.data as { backups: { cron: { code: string } } }).backups.cron.code, 'validation_invalid_cron');
      return true;
    });
    await assert.rejects(s.admin.settings.update({ backups: { cron: '0 3 * * *', cronMaxKeep: 0 } }), (e: ClientResponseError) => e.status === 400);
    await s.admin.settings.update({ backups: { cron: '0 3 * * *', cronMaxKeep: 2 } });
    assert.equal((await s.admin.crons.getFullList()).find((j) => j.id === AUTO_BACKUP_JOB)?.expression, '0 3 * * *');
    await s.admin.backups.create('manual_one.zip');
    for (let i = 0; i < 3; i++) {
      await s.app.backups.runAutoBackup();
      await sleep(1100); // names carry the second
    }
    const keys = (await s.admin.backups.getFullList()).map((b) => b.key);
    assert.equal(keys.filter((k) => k.startsWith(AUTO_BACKUP_PREFIX)).length, 2, keys.join());
    assert.ok(keys.includes('manual_one.zip'));
    await s.admin.settings.update({ backups: { cron: '' } });
    assert.equal(
      (await s.admin.crons.getFullList()).find((j) => j.id === AUTO_BACKUP_JOB),
      undefined,
    );
    for (const k of keys) await s.admin.backups.delete(k);
  });
});
