import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStorage } from './local-storage.js';
import { collect } from './storage.js';

const dir = mkdtempSync(join(tmpdir(), 'plinth-storage-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('LocalStorage', () => {
  const storage = new LocalStorage(join(dir, 'root'));

  it('round-trips objects, ranges and prefix deletes', async () => {
    await storage.put('c/r/a.txt', Buffer.from('0123456789'), 'text/plain');
    assert.deepEqual(await storage.stat('c/r/a.txt').then((i) => i?.size), 10);
    assert.equal((await collect(await storage.read('c/r/a.txt', { start: 2, end: 4 }), 100)).toString(), '234');
    await storage.deletePrefix('c/r');
    assert.equal(await storage.stat('c/r/a.txt'), null);
    await storage.delete('c/r/missing.txt'); // not an error
  });

  it('refuses keys that could escape the root', async () => {
    for (const key of ['../x', 'c/../../x', '/etc/passwd', 'c//x', 'c/.hidden', 'c/a\u0000b', '']) {
      await assert.rejects(storage.put(key, Buffer.from('x'), 'text/plain'), /unsafe storage key/, key);
      await assert.rejects(storage.stat(key), /unsafe storage key/, key);
    }
  });

  it('treats folders and symlinks as missing', async () => {
    mkdirSync(join(dir, 'root', 'c', 'r', 'folder.png'), { recursive: true });
    writeFileSync(join(dir, 'secret.txt'), 'secret');
    symlinkSync(join(dir, 'secret.txt'), join(dir, 'root', 'c', 'r', 'link.txt'));
    assert.equal(await storage.stat('c/r/folder.png'), null);
    assert.equal(await storage.stat('c/r/link.txt'), null);
    await assert.rejects(storage.read('c/r/link.txt'));
  });
});
