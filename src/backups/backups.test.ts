/** Backup keys, hostile archive entries, and the data-dir swap with its revert. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import yazl from 'yazl';
import { isValidBackupKey } from './store.js';
import { BadArchiveError, extractZip } from './zip.js';
import { swapDataDir } from './data-dir.js';

async function makeZip(path: string, entries: Array<{ name: string; data: string; mode?: number }>): Promise<void> {
  const zip = new yazl.ZipFile();
  for (const e of entries) zip.addBuffer(Buffer.from(e.data), e.name, e.mode ? { mode: e.mode } : {});
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(path));
}

describe('backup keys', () => {
  it('allow plain .zip names only', () => {
    for (const ok of ['a.zip', 'pb_backup_x_20260101000000.zip', '@auto_pb_backup_app_20260101000000.zip', 'Upload-1.2.zip'])
      assert.ok(isValidBackupKey(ok), ok);
    for (const bad of [
      '',
      '.zip',
      '.tmp_x.zip',
      '../a.zip',
      'a/b.zip',
      'a\\b.zip',
      'a..zip',
      'a.ZIP',
      'a.zip ',
      'a b.zip',
      `${'a'.repeat(147)}.zip`,
      'a.zip\0',
      'data.db',
    ]) {
      assert.ok(!isValidBackupKey(bad), JSON.stringify(bad));
    }
  });
});

describe('extractZip', () => {
  it('extracts plain files and folders', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plinth-zip-'));
    await makeZip(join(dir, 'ok.zip'), [
      { name: 'data.db', data: 'x' },
      { name: 'storage/c/r/f.txt', data: 'hello' },
    ]);
    const names = await extractZip(join(dir, 'ok.zip'), join(dir, 'out'));
    assert.deepEqual(names.sort(), ['data.db', 'storage/c/r/f.txt']);
    assert.equal(readFileSync(join(dir, 'out', 'storage', 'c', 'r', 'f.txt'), 'utf8'), 'hello');
  });

  it('refuses symlink entries and archives over the limits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plinth-zip-'));
    await makeZip(join(dir, 'link.zip'), [{ name: 'data.db', data: '/etc/passwd', mode: 0o120777 }]);
    await assert.rejects(
      extractZip(join(dir, 'link.zip'), join(dir, 'out1')),
      (e: Error) => e instanceof BadArchiveError && /not a regular file/.test(e.message),
    );
    await makeZip(
      join(dir, 'many.zip'),
      Array.from({ length: 5 }, (_, i) => ({ name: `f${i}`, data: 'x'.repeat(100) })),
    );
    await assert.rejects(extractZip(join(dir, 'many.zip'), join(dir, 'out2'), { maxEntries: 3 }), /more than 3 entries/);
    await assert.rejects(extractZip(join(dir, 'many.zip'), join(dir, 'out3'), { maxBytes: 250 }), /more than 250 bytes/);
  });
});

describe('swapDataDir', () => {
  it('moves the staged contents in, keeps backups/ and the temp dir, and reverts on request', async () => {
    const root = mkdtempSync(join(tmpdir(), 'plinth-swap-'));
    const data = join(root, 'data');
    const temp = join(data, '.plinth_temp');
    const staged = join(temp, 'restore_x');
    mkdirSync(join(data, 'backups'), { recursive: true });
    mkdirSync(join(data, 'storage'), { recursive: true });
    mkdirSync(join(staged, 'storage'), { recursive: true });
    writeFileSync(join(data, 'data.db'), 'old');
    writeFileSync(join(data, 'storage', 'old.txt'), 'old file');
    writeFileSync(join(data, 'backups', 'b.zip'), 'zip');
    writeFileSync(join(staged, 'data.db'), 'new');
    writeFileSync(join(staged, 'storage', 'new.txt'), 'new file');
    const { revert, discard } = await swapDataDir(data, staged, temp);
    assert.equal(readFileSync(join(data, 'data.db'), 'utf8'), 'new');
    assert.deepEqual(readdirSync(join(data, 'storage')), ['new.txt']);
    assert.equal(readFileSync(join(data, 'backups', 'b.zip'), 'utf8'), 'zip');
    await revert();
    assert.equal(readFileSync(join(data, 'data.db'), 'utf8'), 'old');
    assert.deepEqual(readdirSync(join(data, 'storage')), ['old.txt']);
    await discard();
    assert.deepEqual(readdirSync(data).sort(), ['.plinth_temp', 'backups', 'data.db', 'storage']);
    assert.deepEqual(readdirSync(temp), []);
  });
});
