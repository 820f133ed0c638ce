/**
 * Secrets at rest (settings secrets, OAuth2 client and token secrets, webhook signing secrets; docs/security.md):
 * AES-256-GCM with a random 96-bit nonce per value, sealed as `enc:v1:<keyId>:<base64 nonce|tag|ciphertext>`.
 * The key id names the key that sealed the value, so a value sealed under a key that is not configured
 * fails with an error naming that key, and rotation knows which values still need re-sealing.
 *
 * The keyring, first entry = the key new values are sealed with, the others open older values:
 * 1. `PLINTH_ENCRYPTION_KEY` (or the variable `--encryptionEnv` names): one key, or several separated by
 *    commas, newest first, each `id:key` or just `key` (its id is then a fingerprint). A key is any string of
 *    at least 16 characters; the AES key is its SHA-256 under a fixed label.
 * 2. Without it, a stored key: SQLite, a random 32-byte key in `<dataDir>/.encryption-key` (mode 0600),
 *    created on first use (a copy of `data.db` alone reveals no secret); PostgreSQL, a random key in the
 *    `_plinthKeys` table, created by the first node, so every node of a cluster shares it (protects dumps of
 *    single tables and logs, not someone who holds the whole database).
 *    With the variable set, an existing stored key still opens old values (never seals), so moving to the
 *    variable needs no manual step: the start re-seals everything under the variable's first key.
 *
 * Values sealed before key ids existed (`pse1:<base64>`) are still opened, by trying every key.
 * This file (with cli/ and util/logger.ts) may read the environment (ARCHITECTURE.md).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from '../db/dialect.js';
import { sql } from '../db/sql.js';

const PREFIX = 'enc:v1:';
const LEGACY_PREFIX = 'pse1:';
const KEY_FILE = '.encryption-key';
const ID_RE = /^[A-Za-z0-9_.-]{1,40}$/;
export const DEFAULT_KEY_ENV = 'PLINTH_ENCRYPTION_KEY';

/** A value that does not open: its key is not configured, or the key with its id is not the one that sealed it. */
export class SecretKeyError extends Error {
  override name = 'SecretKeyError';
  constructor(
    message: string,
    /** The key id the value names ('' for a pre-key-id value). */
    readonly keyId: string,
  ) {
    super(message);
  }
}

interface Key {
  id: string;
  key: Buffer;
  /** Where it came from, for messages: the variable's name, the key file or `_plinthKeys`. */
  from: string;
}

/** Where the keyring came from: the environment variable's value, and its name for messages. */
export interface KeySource {
  /** The variable's value (undefined or '' = not set). Default: `process.env[name]`. */
  value?: string | undefined;
  /** The variable's name, for messages (default PLINTH_ENCRYPTION_KEY). */
  name?: string;
}

function deriveKey(passphrase: string): Buffer {
  return createHash('sha256').update('plinth-secret-box\0').update(passphrase).digest();
}

function fingerprint(key: Buffer): string {
  return createHash('sha256').update('plinth-key-id\0').update(key).digest('hex').slice(0, 8);
}

/** Parses a keyring value (`id:key,id:key` or `key`, newest first); throws a one-line Error naming `name`. */
export function parseKeyring(value: string, name = DEFAULT_KEY_ENV): Key[] {
  const keys: Key[] = [];
  for (const raw of value.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const m = /^([^:]{1,40}):(.*)$/.exec(entry);
    const explicit = m && ID_RE.test(m[1] as string) && (m[2] as string).length >= 16;
    const secret = explicit ? (m[2] as string) : entry;
    if (secret.length < 16)
      throw new Error(`${name}: every key must be at least 16 characters long (a key is "id:key" or "key", several separated by commas).`);
    const key = deriveKey(secret);
    const id = explicit ? (m[1] as string) : fingerprint(key);
    if (keys.some((k) => k.id === id)) throw new Error(`${name}: the key id "${id}" appears twice.`);
    keys.push({ id, key, from: name });
  }
  if (keys.length === 0) throw new Error(`${name} is set but holds no key.`);
  return keys;
}

export class SecretBox {
  private constructor(
    /** Newest first: `keys[0]` seals; all open. */
    private readonly keys: Key[],
    /** Where the sealing key came from: 'env' (the variable), 'file' (SQLite key file) or 'database' (`_plinthKeys`). */
    readonly source: 'env' | 'file' | 'database',
    /** The variable's name (PLINTH_ENCRYPTION_KEY unless `--encryptionEnv` named another). */
    readonly envName: string,
    /** Keys tried for pre-key-id (`pse1:`) values only: the whole variable's value as one passphrase, as before. */
    private readonly legacyOnly: Buffer[] = [],
    /** The stored key's location when it is in the ring (the key file's path, or `_plinthKeys`). */
    readonly storedKeyAt: string | null = null,
    /** Raw AES keys as PocketBase's `--encryptionEnv` takes them (the variable's value or an entry, 16/24/32 bytes). */
    private readonly pocketBaseKeys: Buffer[] = [],
  ) {}

  /** A box from raw 32-byte keys (tests, tools), newest first; ids default to fingerprints. */
  static fromKey(key: Buffer, ...older: Buffer[]): SecretBox {
    for (const k of [key, ...older]) if (k.length !== 32) throw new Error('SecretBox: the key must be 32 bytes.');
    return new SecretBox(
      [key, ...older].map((k) => ({ id: fingerprint(k), key: k, from: 'a raw key' })),
      'env',
      DEFAULT_KEY_ENV,
    );
  }

  /** A box from a keyring value (`id:key,id:key`), as the environment variable would hold it. */
  static fromKeyring(value: string, name = DEFAULT_KEY_ENV): SecretBox {
    return new SecretBox(parseKeyring(value, name), 'env', name);
  }

  /**
   * The app's box: the variable's keys (plus a stored key, if one exists, to open old values), else the
   * data-dir key file (SQLite) or the shared database row (PostgreSQL), created on first use.
   */
  static async load(db: Database, dataDir: string, source: KeySource = {}): Promise<SecretBox> {
    const name = source.name ?? DEFAULT_KEY_ENV;
    const value = 'value' in source ? source.value : process.env[name];
    const file = join(dataDir, KEY_FILE);
    if (value !== undefined && value !== '') {
      const keys = parseKeyring(value, name);
      const stored = await readStoredKey(db, file);
      const legacy = [deriveKey(value.trim())];
      if (stored && !keys.some((k) => k.key.equals(stored.key))) keys.push(stored);
      return new SecretBox(keys, 'env', name, legacy, stored ? stored.from : null, pocketBaseKeyCandidates(value));
    }
    if (db.dialect.name === 'sqlite') {
      if (!existsSync(file)) {
        try {
          writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
      }
      const stored = await readStoredKey(db, file);
      if (!stored) throw new Error(`${file} does not hold a 32-byte base64 key.`);
      return new SecretBox([stored], 'file', name, [], file);
    }
    // Nodes starting together: CREATE TABLE IF NOT EXISTS is not safe against a concurrent CREATE, so take a lock.
    await db.transaction(async (tx) => {
      await tx.run(sql`SELECT pg_advisory_xact_lock(7201148904)`);
      await tx.run(sql`CREATE TABLE IF NOT EXISTS "_plinthKeys" (name TEXT PRIMARY KEY NOT NULL, "key" TEXT NOT NULL)`);
      await tx.run(sql`INSERT INTO "_plinthKeys" (name, "key") VALUES ('secret-box', ${randomBytes(32).toString('base64')}) ON CONFLICT DO NOTHING`);
    });
    const stored = await readStoredKey(db, file);
    if (!stored) throw new Error('The secret-box key in _plinthKeys is damaged.');
    return new SecretBox([stored], 'database', name, [], '_plinthKeys');
  }

  /** The id of the key new values are sealed with. */
  get primaryId(): string {
    return (this.keys[0] as Key).id;
  }

  /** The stored key's id when it is in the ring (it is not named in the variable). */
  get storedKeyId(): string | null {
    return this.keys.find((k) => k.from.startsWith('the key file') || k.from === 'the _plinthKeys table')?.id ?? null;
  }

  /** Every key id in the ring, newest first. */
  get keyIds(): string[] {
    return this.keys.map((k) => k.id);
  }

  /** One line for start-up notes: where the sealing key lives and what that means. */
  describe(): string {
    if (this.source === 'env') return `Secrets at rest are encrypted with key "${this.primaryId}" from ${this.envName}.`;
    const where = this.source === 'file' ? `the key file ${this.storedKeyAt}` : 'the database table _plinthKeys';
    return (
      `Secrets at rest (SMTP, S3, OAuth2, token and webhook secrets) are encrypted with a key kept in ${where}: they are only as safe as ` +
      `${this.source === 'file' ? 'that file' : 'the database'}. Set ${this.envName} to keep the key elsewhere (docs/security.md).`
    );
  }

  seal(plain: string): string {
    const { id, key } = this.keys[0] as Key;
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${PREFIX}${id}:${Buffer.concat([nonce, cipher.getAuthTag(), body]).toString('base64')}`;
  }

  /** Opens a sealed value; `where` names it in the error (e.g. `settings smtp.password`). */
  open(sealed: string, where = 'a stored secret'): string {
    if (sealed.startsWith(LEGACY_PREFIX)) {
      const raw = Buffer.from(sealed.slice(LEGACY_PREFIX.length), 'base64');
      for (const key of [...this.keys.map((k) => k.key), ...this.legacyOnly]) {
        const plain = decrypt(key, raw);
        if (plain !== null) return plain;
      }
      throw new SecretKeyError(`Cannot decrypt ${where}: no configured key opens it (${this.keysLine()}). ${this.fixLine()}`, '');
    }
    const id = SecretBox.keyIdOf(sealed);
    if (id === null) throw new Error(`Cannot decrypt ${where}: it is not a sealed secret.`);
    const key = this.keys.find((k) => k.id === id);
    if (!key) {
      throw new SecretKeyError(
        `Cannot decrypt ${where}: it was encrypted with key "${id}", which is not configured (${this.keysLine()}). ${this.fixLine()}`,
        id,
      );
    }
    const plain = decrypt(key.key, Buffer.from(sealed.slice(PREFIX.length + id.length + 1), 'base64'));
    if (plain === null) {
      throw new SecretKeyError(
        `Cannot decrypt ${where}: the key "${id}" from ${key.from} is not the key that encrypted it (or the value is damaged). ${this.fixLine()}`,
        id,
      );
    }
    return plain;
  }

  /** Whether `sealed` needs re-sealing to be under the current key (legacy format, or an older key). */
  isStale(sealed: string): boolean {
    return SecretBox.keyIdOf(sealed) !== this.primaryId;
  }

  private keysLine(): string {
    const from = [...new Set(this.keys.map((k) => k.from))].join(' and ');
    return `keys configured: ${this.keyIds.map((id) => `"${id}"`).join(', ')} from ${from}${this.source === 'env' ? '' : `; ${this.envName} is not set`}`;
  }

  private fixLine(): string {
    return `Set ${this.envName} to hold that key (newest first, e.g. ${this.envName}=new:KEY,old:KEY) and start again; see docs/security.md.`;
  }

  /**
   * Opens a settings row PocketBase encrypted whole (`--encryptionEnv`: base64 of nonce | ciphertext | tag,
   * AES-GCM keyed with the variable's raw bytes). Null when `text` is not such a row; a SecretKeyError when it
   * looks like one but no configured key opens it.
   */
  openPocketBaseSettings(text: string): string | null {
    const trimmed = text.trim();
    if (!/^[A-Za-z0-9+/]{40,}={0,2}$/.test(trimmed)) return null;
    const raw = Buffer.from(trimmed, 'base64');
    if (raw.length < 29) return null;
    for (const key of this.pocketBaseKeys) {
      try {
        const decipher = createDecipheriv(`aes-${key.length * 8}-gcm` as 'aes-256-gcm', key, raw.subarray(0, 12));
        decipher.setAuthTag(raw.subarray(raw.length - 16));
        return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString('utf8');
      } catch {
        // not this key
      }
    }
    throw new SecretKeyError(
      `Cannot decrypt the settings: PocketBase encrypted them (--encryptionEnv), and ${this.source === 'env' ? `no key in ${this.envName} opens them` : `${this.envName} is not set`}. ` +
        `Start with --encryptionEnv=VAR naming the variable that holds PocketBase's key (or ${this.envName}=that key); see docs/security.md.`,
      '',
    );
  }

  /** The key id a sealed value names; `''` for a pre-key-id (`pse1:`) value; null when not sealed. */
  static keyIdOf(value: string): string | null {
    if (value.startsWith(LEGACY_PREFIX)) return '';
    if (!value.startsWith(PREFIX)) return null;
    const end = value.indexOf(':', PREFIX.length);
    return end > PREFIX.length ? value.slice(PREFIX.length, end) : null;
  }

  static isSealed(value: string): boolean {
    return SecretBox.keyIdOf(value) !== null;
  }
}

/** PocketBase's key is the variable's raw bytes (AES-128/192/256): the whole value, or any entry of a keyring. */
function pocketBaseKeyCandidates(value: string): Buffer[] {
  const entries = [value.trim(), ...value.split(',').map((e) => e.trim()), ...value.split(',').map((e) => e.trim().replace(/^[^:]{1,40}:/, ''))];
  const out: Buffer[] = [];
  for (const e of entries) {
    const key = Buffer.from(e, 'utf8');
    if ([16, 24, 32].includes(key.length) && !out.some((k) => k.equals(key))) out.push(key);
  }
  return out;
}

function decrypt(key: Buffer, raw: Buffer): string | null {
  if (raw.length < 28) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}

/** The stored key (key file on SQLite, `_plinthKeys` row on PostgreSQL) if there is one; never creates it. */
async function readStoredKey(db: Database, file: string): Promise<Key | null> {
  let text: string | undefined;
  let from: string;
  if (db.dialect.name === 'sqlite') {
    from = `the key file ${file}`;
    if (!existsSync(file)) return null;
    text = readFileSync(file, 'utf8').trim();
  } else {
    from = 'the _plinthKeys table';
    if (!(await db.tableNames()).includes('_plinthKeys')) return null;
    text = (await db.get<{ key: string }>(sql`SELECT "key" FROM "_plinthKeys" WHERE name = 'secret-box'`))?.key;
    if (text === undefined) return null;
  }
  const key = Buffer.from(text, 'base64');
  if (key.length !== 32) throw new Error(`${from} does not hold a 32-byte base64 key.`);
  return { id: fingerprint(key), key, from };
}

/**
 * Applies `fn` to every string at `paths` in `obj` (in place). A path is a list of keys; `*` walks every
 * element of an array. Used with the declarative secret lists of settings and collections.
 */
export function mapSecretPaths(obj: unknown, paths: ReadonlyArray<readonly string[]>, fn: (value: string, path: string) => string): void {
  const walk = (node: unknown, path: readonly string[], at: string): void => {
    if (node === null || typeof node !== 'object') return;
    const [head, ...rest] = path as [string, ...string[]];
    if (head === '*') {
      if (Array.isArray(node)) node.forEach((item, i) => walk(item, rest, `${at}.${i}`));
      return;
    }
    if (Array.isArray(node) || !Object.hasOwn(node, head)) return;
    const here = at === '' ? head : `${at}.${head}`;
    const rec = node as Record<string, unknown>;
    if (rest.length > 0) return walk(rec[head], rest, here);
    const value = rec[head];
    if (typeof value === 'string' && value !== '') rec[head] = fn(value, here);
  };
  for (const p of paths) walk(obj, p, '');
}

/** Deletes every key at `paths` in `obj` (in place), whatever its value: what API answers leave out. */
export function deleteSecretPaths(obj: unknown, paths: ReadonlyArray<readonly string[]>): void {
  const walk = (node: unknown, path: readonly string[]): void => {
    if (node === null || typeof node !== 'object') return;
    const [head, ...rest] = path as [string, ...string[]];
    if (head === '*') {
      if (Array.isArray(node)) for (const item of node) walk(item, rest);
      return;
    }
    if (Array.isArray(node) || !Object.hasOwn(node, head)) return;
    if (rest.length > 0) walk((node as Record<string, unknown>)[head], rest);
    else delete (node as Record<string, unknown>)[head];
  };
  for (const p of paths) walk(obj, p);
}
