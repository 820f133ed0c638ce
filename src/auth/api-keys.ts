/**
 * API keys for server-to-server use, beyond PocketBase. A superuser creates a key with scopes
 * (`<collection>:<action>`, `*` allowed on either side, actions list/view/create/update/delete); the
 * key is shown once and only its SHA-256 is stored (the key carries 238 random bits, so a fast hash is
 * enough and keeps every request cheap). Keys are sent as `Authorization: plk_…`, act with superuser
 * powers inside their scopes only (rules bypassed, like a service role), and can expire or be revoked.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Database, Executor } from '../db/dialect.js';
import { sql } from '../db/sql.js';
import { AppError, fieldError, type FieldErrors } from '../errors/index.js';
import type { CollectionStore } from '../collections/store.js';
import { newRecordId } from '../collections/ids.js';
import { formatDateTime, nowDateTime, parseDateTime } from '../util/datetime.js';
import { randomString } from '../util/random.js';

/** Every key starts with this, so the auth layer can tell a key from a JWT without a lookup. */
export const API_KEY_PREFIX = 'plk_';
/** The record actions a scope can grant. */
export const API_KEY_ACTIONS = ['list', 'view', 'create', 'update', 'delete'] as const;
/** One of the record actions a scope can grant. */
export type ApiKeyAction = (typeof API_KEY_ACTIONS)[number];

const KEY_RE = /^plk_([a-z0-9]{15})_([A-Za-z0-9]{40})$/;
/** lastUsed is written at most this often per key (a busy key must not turn reads into writes). */
const LAST_USED_EVERY_MS = 60_000;

/** A key as listed (never with its secret). */
export interface ApiKeyInfo {
  id: string;
  name: string;
  scopes: string[];
  created: string;
  expires: string;
  lastUsed: string;
}

interface ApiKeyRow extends ApiKeyInfo {
  hash: string;
}

/** A verified key, ready to answer scope questions. */
export class VerifiedApiKey {
  constructor(readonly info: ApiKeyInfo) {}

  /**
   * Whether the key may perform `action` on the collection known by these names (name first, then id).
   * A `*` collection never covers system collections (`_superusers`, `_otps`, …): a key that may write
   * `_superusers` could mint superusers, so that must be granted by name.
   */
  allows(collectionNames: readonly string[], action: ApiKeyAction): boolean {
    const system = collectionNames[0]?.startsWith('_') ?? true;
    return this.info.scopes.some((s) => {
      const [c, a] = s.split(':') as [string, string];
      return ((c === '*' && !system) || collectionNames.includes(c)) && (a === '*' || a === action);
    });
  }
}

/** Creates the `_apiKeys` table when missing. */
export async function ensureApiKeyTable(db: Executor): Promise<void> {
  await db.run(sql`CREATE TABLE IF NOT EXISTS "_apiKeys" (
    id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL, hash TEXT NOT NULL, scopes TEXT DEFAULT '[]' NOT NULL,
    created TEXT DEFAULT '' NOT NULL, expires TEXT DEFAULT '' NOT NULL, "lastUsed" TEXT DEFAULT '' NOT NULL)`);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function toInfo(row: ApiKeyRow): ApiKeyInfo {
  let scopes: string[] = [];
  try {
    const v = JSON.parse(row.scopes as unknown as string) as unknown;
    if (Array.isArray(v)) scopes = v.filter((s): s is string => typeof s === 'string');
  } catch {
    // unreadable scopes grant nothing
  }
  return { id: row.id, name: row.name, scopes, created: row.created, expires: row.expires, lastUsed: row.lastUsed };
}

/** Creating, verifying, listing and revoking API keys. */
export class ApiKeyStore {
  private lastUsedWritten = new Map<string, number>();

  constructor(
    private readonly db: Database,
    private readonly collections: CollectionStore,
  ) {}

  /** Validates the input and creates a key; the returned `key` is the only copy of the secret. */
  async create(input: Record<string, unknown>): Promise<ApiKeyInfo & { key: string }> {
    const errors: FieldErrors = {};
    const name = input.name;
    if (typeof name !== 'string' || name.trim() === '' || name.length > 255)
      errors.name = fieldError('validation_required', 'A name of 1 to 255 characters is required');
    const scopes = this.checkScopes(input.scopes, errors);
    const duration = input.duration ?? 0;
    if (typeof duration !== 'number' || !Number.isInteger(duration) || duration < 0 || duration > 10 * 365 * 86_400) {
      errors.duration = fieldError('validation_invalid_value', 'Must be a whole number of seconds (0 = never expires)');
    }
    if (Object.keys(errors).length) throw AppError.validation('Failed to create the API key.', errors);
    const id = newRecordId();
    const key = `${API_KEY_PREFIX}${id}_${randomString(40)}`;
    const created = nowDateTime();
    const expires = (duration as number) > 0 ? formatDateTime(new Date(Date.now() + (duration as number) * 1000)) : '';
    await this.db.run(
      sql`INSERT INTO "_apiKeys" (id, name, hash, scopes, created, expires, "lastUsed")
          VALUES (${id}, ${(name as string).trim()}, ${sha256(key)}, ${JSON.stringify(scopes)}, ${created}, ${expires}, '')`,
    );
    return { id, name: (name as string).trim(), scopes, created, expires, lastUsed: '', key };
  }

  private checkScopes(value: unknown, errors: FieldErrors): string[] {
    if (!Array.isArray(value) || value.length === 0 || value.length > 100) {
      errors.scopes = fieldError('validation_required', 'A list of 1 to 100 scopes like "posts:list" or "*:view" is required');
      return [];
    }
    const out: string[] = [];
    for (const s of value) {
      const m = typeof s === 'string' ? /^([A-Za-z0-9_]{1,255}|\*):([a-z]+|\*)$/.exec(s) : null;
      const collection = m?.[1];
      const action = m?.[2];
      const knownAction = action === '*' || API_KEY_ACTIONS.includes(action as ApiKeyAction);
      const knownCollection = collection === '*' || (collection !== undefined && this.collections.find(collection) !== undefined);
      if (!m || !knownAction || !knownCollection) {
        errors.scopes = fieldError(
          'validation_invalid_value',
          `Invalid scope ${JSON.stringify(String(s).slice(0, 300))}: use "<collection or *>:<list|view|create|update|delete|*>" with an existing collection`,
        );
        return [];
      }
      out.push(s as string);
    }
    return [...new Set(out)];
  }

  /** The key's record if `key` is a current, unrevoked, unexpired key; null otherwise. */
  async verify(key: string): Promise<VerifiedApiKey | null> {
    const m = KEY_RE.exec(key);
    if (!m) return null;
    const row = await this.db.get<ApiKeyRow>(sql`SELECT * FROM "_apiKeys" WHERE id = ${m[1] as string}`);
    if (!row) return null;
    const a = Buffer.from(sha256(key), 'hex');
    const b = Buffer.from(row.hash, 'hex');
    if (a.length !== b.length || !timingSafeEqual(a, b)) return null;
    if (row.expires) {
      const exp = parseDateTime(row.expires);
      if (!exp || exp.getTime() <= Date.now()) return null;
    }
    this.touch(row.id);
    return new VerifiedApiKey(toInfo(row));
  }

  private touch(id: string): void {
    const now = Date.now();
    if ((this.lastUsedWritten.get(id) ?? 0) + LAST_USED_EVERY_MS > now) return;
    this.lastUsedWritten.set(id, now);
    if (this.lastUsedWritten.size > 10_000) this.lastUsedWritten.clear();
    this.db.run(sql`UPDATE "_apiKeys" SET "lastUsed" = ${nowDateTime()} WHERE id = ${id}`).catch(() => undefined);
  }

  /** Every key, newest first, without secrets or hashes. */
  async list(): Promise<ApiKeyInfo[]> {
    const rows = await this.db.all<ApiKeyRow>(sql`SELECT * FROM "_apiKeys" ORDER BY created DESC, id`);
    return rows.map(toInfo);
  }

  /** Revokes (deletes) a key; 404 when there is no such key. */
  async revoke(id: string): Promise<void> {
    const res = await this.db.run(sql`DELETE FROM "_apiKeys" WHERE id = ${id}`);
    if (res.changes !== 1) throw AppError.notFound();
    this.lastUsedWritten.delete(id);
  }
}
