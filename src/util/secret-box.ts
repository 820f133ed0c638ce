/**
 * Secrets at rest (webhook signing secrets now; settings secrets later, issue 16): AES-256-GCM with a
 * random 96-bit nonce per value, sealed as `pse1:<base64 nonce|tag|ciphertext>`.
 *
 * Where the key comes from, first match wins:
 * 1. `PLINTH_ENCRYPTION_KEY` (any string of at least 16 characters; the key is its SHA-256 under a fixed
 *    label). Set it to keep the key out of the data entirely, e.g. in a secrets manager.
 * 2. SQLite: a random 32-byte key in `<dataDir>/.encryption-key` (mode 0600), created on first use. A copy
 *    of `data.db` alone (a backup, a leaked file) does not reveal the secrets; copy both to move a server.
 * 3. PostgreSQL: a random key in the `_plinthKeys` table, created once by whichever node starts first, so
 *    every node of a cluster shares it. This protects against dumps of single tables and log leaks, not
 *    against someone who holds the whole database: set `PLINTH_ENCRYPTION_KEY` for that.
 *
 * A value sealed under another key (the env key changed) fails to open with a clear error, never garbage.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from '../db/dialect.js';
import { sql } from '../db/sql.js';

const PREFIX = 'pse1:';
const KEY_FILE = '.encryption-key';

export class SecretBox {
  private constructor(
    private readonly key: Buffer,
    /** Where the key came from: 'env', 'file' or 'database' (shown in logs and docs). */
    readonly source: 'env' | 'file' | 'database',
  ) {}

  /** A box from a raw 32-byte key (tests, tools). */
  static fromKey(key: Buffer): SecretBox {
    if (key.length !== 32) throw new Error('SecretBox: the key must be 32 bytes.');
    return new SecretBox(key, 'env');
  }

  /** The app's box: the env key, else the data-dir key file (SQLite) or the shared database row (PostgreSQL). */
  static async load(db: Database, dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<SecretBox> {
    const fromEnv = env.PLINTH_ENCRYPTION_KEY;
    if (fromEnv !== undefined && fromEnv !== '') {
      if (fromEnv.length < 16) throw new Error('PLINTH_ENCRYPTION_KEY must be at least 16 characters long.');
      return new SecretBox(createHash('sha256').update('plinth-secret-box\0').update(fromEnv).digest(), 'env');
    }
    if (db.dialect.name === 'sqlite') {
      const file = join(dataDir, KEY_FILE);
      if (!existsSync(file)) {
        try {
          writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
      }
      const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
      if (key.length !== 32) throw new Error(`${file} does not hold a 32-byte base64 key.`);
      return new SecretBox(key, 'file');
    }
    // Nodes starting together: CREATE TABLE IF NOT EXISTS is not safe against a concurrent CREATE, so take a lock.
    await db.transaction(async (tx) => {
      await tx.run(sql`SELECT pg_advisory_xact_lock(7201148904)`);
      await tx.run(sql`CREATE TABLE IF NOT EXISTS "_plinthKeys" (name TEXT PRIMARY KEY NOT NULL, "key" TEXT NOT NULL)`);
      await tx.run(sql`INSERT INTO "_plinthKeys" (name, "key") VALUES ('secret-box', ${randomBytes(32).toString('base64')}) ON CONFLICT DO NOTHING`);
    });
    const row = await db.get<{ key: string }>(sql`SELECT "key" FROM "_plinthKeys" WHERE name = 'secret-box'`);
    const key = Buffer.from(row?.key ?? '', 'base64');
    if (key.length !== 32) throw new Error('The secret-box key in _plinthKeys is damaged.');
    return new SecretBox(key, 'database');
  }

  seal(plain: string): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([nonce, cipher.getAuthTag(), body]).toString('base64');
  }

  open(sealed: string): string {
    if (!sealed.startsWith(PREFIX)) throw new Error('Not a sealed secret.');
    const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64');
    if (raw.length < 28) throw new Error('A sealed secret is damaged.');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    try {
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      throw new Error('A sealed secret does not open with this key (was PLINTH_ENCRYPTION_KEY changed?).');
    }
  }

  static isSealed(value: string): boolean {
    return value.startsWith(PREFIX);
  }
}
