import assert from 'node:assert/strict';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { openDatabase } from '../db/index.js';
import { mapSecretPaths, parseKeyring, SecretBox, SecretKeyError } from './secret-box.js';

const NONE = { value: undefined };

/** A value as the SecretBox sealed it before key ids existed. */
function legacySeal(key: Buffer, plain: string): string {
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
  return `pse1:${Buffer.concat([nonce, c.getAuthTag(), body]).toString('base64')}`;
}

describe('SecretBox', () => {
  it('seals as enc:v1:<keyId>:<base64> with a fresh nonce, opens, and detects tampering or a wrong key', () => {
    const box = SecretBox.fromKeyring('k1:a long enough passphrase');
    const a = box.seal('whsec_abc');
    const b = box.seal('whsec_abc');
    assert.match(a, /^enc:v1:k1:[A-Za-z0-9+/]+=*$/);
    assert.notEqual(a, b);
    assert.ok(!a.includes('whsec_abc'));
    assert.equal(box.open(a), 'whsec_abc');
    assert.equal(SecretBox.keyIdOf(a), 'k1');
    assert.throws(
      () => SecretBox.fromKeyring('k1:another passphrase!!').open(a, 'the setting smtp.password'),
      (err: unknown) => {
        assert.ok(err instanceof SecretKeyError);
        assert.equal(err.keyId, 'k1');
        assert.match(err.message, /the setting smtp\.password.*"k1".*PLINTH_ENCRYPTION_KEY/);
        return true;
      },
    );
    assert.throws(() => SecretBox.fromKeyring('k2:a long enough passphrase', 'MY_KEYS').open(a), /encrypted with key "k1", which is not configured.*MY_KEYS/);
    assert.throws(() => box.open('plain'), /not a sealed secret/);
  });

  it('round-trips any text, and refuses any change to the sealed bytes (property)', () => {
    const box = SecretBox.fromKey(randomBytes(32));
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (plain) => {
        const sealed = box.seal(plain);
        assert.ok(SecretBox.isSealed(sealed));
        assert.equal(box.open(sealed), plain);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 100 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (plain, at, flip) => {
        const sealed = box.seal(plain);
        const head = sealed.slice(0, sealed.lastIndexOf(':') + 1);
        const raw = Buffer.from(sealed.slice(head.length), 'base64');
        const i = at % raw.length;
        raw[i] = (raw[i] as number) ^ flip;
        assert.throws(() => box.open(head + raw.toString('base64')), SecretKeyError);
        // Truncated (or emptied) payloads are refused too, never opened to something else.
        assert.throws(() => box.open(head + raw.subarray(0, i).toString('base64')), SecretKeyError);
      }),
      { numRuns: 300 },
    );
  });

  it('a keyring opens values of every key it holds and seals with the first; ids from "id:" or a fingerprint', () => {
    const oldBox = SecretBox.fromKeyring('old:the old passphrase 123');
    const sealedOld = oldBox.seal('s3cret');
    const ring = SecretBox.fromKeyring('new:the new passphrase 456, old:the old passphrase 123');
    assert.deepEqual(ring.keyIds, ['new', 'old']);
    assert.equal(ring.open(sealedOld), 's3cret');
    assert.equal(ring.isStale(sealedOld), true);
    const sealedNew = ring.seal('s3cret');
    assert.equal(SecretBox.keyIdOf(sealedNew), 'new');
    assert.equal(ring.isStale(sealedNew), false);
    assert.equal(ring.isStale('plain'), true);
    const anonymous = parseKeyring('just one long passphrase');
    assert.match(anonymous[0]!.id, /^[0-9a-f]{8}$/);
    assert.equal(parseKeyring('just one long passphrase')[0]!.id, anonymous[0]!.id, 'fingerprints are stable');
    assert.throws(() => parseKeyring('a:0123456789abcdef,a:fedcba9876543210'), /"a" appears twice/);
    assert.throws(() => parseKeyring('short', 'MY_KEYS'), /MY_KEYS: every key must be at least 16/);
    assert.throws(() => parseKeyring(' , '), /holds no key/);
  });

  it('still opens values sealed before key ids (pse1:)', () => {
    const key = randomBytes(32);
    const legacy = legacySeal(key, 'old secret');
    assert.equal(SecretBox.keyIdOf(legacy), '');
    assert.equal(SecretBox.fromKey(key).open(legacy), 'old secret');
    assert.throws(() => SecretBox.fromKey(randomBytes(32)).open(legacy), /no configured key opens it/);
  });

  it('keeps its key in the data dir on SQLite (0600, reused); with the variable set, that key still opens old values', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plinth-box-'));
    const db = await openDatabase({ dataDir: dir });
    try {
      const one = await SecretBox.load(db, dir, NONE);
      assert.equal(one.source, 'file');
      const file = join(dir, '.encryption-key');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const two = await SecretBox.load(db, dir, NONE);
      assert.equal(two.open(one.seal('x')), 'x');
      assert.equal(Buffer.from(readFileSync(file, 'utf8'), 'base64').length, 32);
      assert.match(one.describe(), /\.encryption-key: they are only as safe as that file\. Set PLINTH_ENCRYPTION_KEY/);
      const env = await SecretBox.load(db, dir, { value: 'main:a long enough passphrase' });
      assert.equal(env.source, 'env');
      assert.deepEqual(env.keyIds, ['main', one.primaryId]);
      assert.equal(env.storedKeyId, one.primaryId);
      assert.equal(env.open(one.seal('x')), 'x', 'the key file opens what it sealed');
      assert.equal(SecretBox.keyIdOf(env.seal('y')), 'main');
      rmSync(file);
      const envOnly = await SecretBox.load(db, dir, { value: 'main:a long enough passphrase' });
      assert.deepEqual(envOnly.keyIds, ['main']);
      assert.throws(() => envOnly.open(one.seal('x')), SecretKeyError);
      // A passphrase from before key ids that happens to look like "id:key" still opens its pse1: values.
      const passphrase = 'legacy:passphrase with a colon';
      const legacy = legacySeal(createHash('sha256').update('plinth-secret-box\0').update(passphrase).digest(), 'old');
      assert.equal((await SecretBox.load(db, dir, { value: passphrase })).open(legacy), 'old');
      await assert.rejects(SecretBox.load(db, dir, { value: 'short', name: 'MY_KEYS' }), /MY_KEYS: every key must be at least 16/);
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('mapSecretPaths visits the listed non-empty strings only, through lists with *', () => {
    const obj = { smtp: { password: 'p', host: 'h' }, oauth2: { providers: [{ clientSecret: 'a' }, { clientSecret: '' }, {}] }, s3: null };
    const seen: string[] = [];
    mapSecretPaths(
      obj,
      [
        ['smtp', 'password'],
        ['oauth2', 'providers', '*', 'clientSecret'],
        ['s3', 'secret'],
        ['missing', 'x'],
      ],
      (v, path) => {
        seen.push(path);
        return v.toUpperCase();
      },
    );
    assert.deepEqual(seen, ['smtp.password', 'oauth2.providers.0.clientSecret']);
    assert.equal(obj.smtp.password, 'P');
    assert.equal(obj.oauth2.providers[0]!.clientSecret, 'A');
    assert.equal(obj.smtp.host, 'h');
  });
});
