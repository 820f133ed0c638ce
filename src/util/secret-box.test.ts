import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openDatabase } from '../db/index.js';
import { SecretBox } from './secret-box.js';

describe('SecretBox', () => {
  it('seals with a fresh nonce, opens, and detects tampering or a wrong key', () => {
    const box = SecretBox.fromKey(Buffer.alloc(32, 7));
    const a = box.seal('whsec_abc');
    const b = box.seal('whsec_abc');
    assert.notEqual(a, b);
    assert.ok(!a.includes('whsec_abc'));
    assert.equal(box.open(a), 'whsec_abc');
    const raw = Buffer.from(a.slice(5), 'base64');
    raw[raw.length - 1] = (raw[raw.length - 1] ?? 0) ^ 1;
    assert.throws(() => box.open(`pse1:${raw.toString('base64')}`), /does not open/);
    assert.throws(() => SecretBox.fromKey(Buffer.alloc(32, 8)).open(a), /does not open/);
    assert.throws(() => box.open('plain'), /Not a sealed/);
  });

  it('keeps its key in the data dir on SQLite (0600, reused), or takes PLINTH_ENCRYPTION_KEY', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plinth-box-'));
    const db = await openDatabase({ dataDir: dir });
    try {
      const one = await SecretBox.load(db, dir, {});
      assert.equal(one.source, 'file');
      const file = join(dir, '.encryption-key');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const two = await SecretBox.load(db, dir, {});
      assert.equal(two.open(one.seal('x')), 'x');
      assert.equal(Buffer.from(readFileSync(file, 'utf8'), 'base64').length, 32);
      const env = await SecretBox.load(db, dir, { PLINTH_ENCRYPTION_KEY: 'a long enough passphrase' });
      assert.equal(env.source, 'env');
      assert.throws(() => env.open(one.seal('x')));
      const env2 = await SecretBox.load(db, dir, { PLINTH_ENCRYPTION_KEY: 'a long enough passphrase' });
      assert.equal(env2.open(env.seal('y')), 'y');
      await assert.rejects(SecretBox.load(db, dir, { PLINTH_ENCRYPTION_KEY: 'short' }), /16 characters/);
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
