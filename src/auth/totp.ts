/**
 * Authenticator-app (TOTP) second factor, beyond PocketBase. One row per auth record in the internal
 * `_totp` table (not a collection: the shared secret must never be reachable through the records API).
 *
 * Lifecycle: `setup` stores a pending secret → `enable` proves the app has it (one valid code) and hands
 * out recovery codes once → logins then need a code after the first factor → `disable` needs the
 * password plus a code. Every code is single use: a TOTP step is consumed with
 * `UPDATE … WHERE lastStep < step` and a recovery code with a compare-and-swap on the stored list.
 * The shared secret is stored sealed with the app's SecretBox (docs/security.md; re-sealed by secrets/ on
 * rotation); a plain one, stored by an older Plinth, still works and is sealed at the next start.
 */
import type { AuthCollection } from '../collections/model.js';
import type { Database, Executor } from '../db/dialect.js';
import { sql } from '../db/sql.js';
import { AppError } from '../errors/index.js';
import { nowDateTime } from '../util/datetime.js';
import { SecretBox } from '../util/secret-box.js';
import { hashRecoveryCode, looksLikeRecoveryCode, newRecoveryCodes } from './recovery-codes.js';
import { matchTotp, newTotpSecret, otpauthURL } from './totp-code.js';

interface TotpRow {
  collectionRef: string;
  recordRef: string;
  secret: string;
  enabled: number;
  lastStep: number;
  recoveryCodes: string;
}

/** What a user may learn about their own enrolment. */
export interface TotpStatus {
  enabled: boolean;
  recoveryCodesLeft: number;
}

/** Creates the `_totp` table when missing. */
export async function ensureTotpTable(db: Executor): Promise<void> {
  await db.run(sql`CREATE TABLE IF NOT EXISTS _totp (
    "collectionRef" TEXT NOT NULL, "recordRef" TEXT NOT NULL, secret TEXT NOT NULL, enabled INTEGER DEFAULT 0 NOT NULL,
    "lastStep" INTEGER DEFAULT 0 NOT NULL, "recoveryCodes" TEXT DEFAULT '[]' NOT NULL,
    created TEXT DEFAULT '' NOT NULL, updated TEXT DEFAULT '' NOT NULL, PRIMARY KEY ("collectionRef", "recordRef"))`);
}

function parseCodes(json: string): string[] {
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/** TOTP enrolment and verification for auth records. */
export class TotpStore {
  constructor(
    private readonly db: Database,
    /** Seals the shared secrets at rest; null (tests, tools) stores them as they are. */
    private readonly box: () => SecretBox | null = () => null,
  ) {}

  /** The row's shared secret in base32 (opened when sealed). */
  private secretOf(row: TotpRow): string {
    if (!SecretBox.isSealed(row.secret)) return row.secret;
    const box = this.box();
    if (!box) throw new Error('An authenticator secret is sealed, but no secret box is configured.');
    return box.open(row.secret, 'an authenticator-app secret');
  }

  private row(c: AuthCollection, recordId: string, exec: Executor = this.db): Promise<TotpRow | undefined> {
    return exec.get<TotpRow>(sql`SELECT * FROM _totp WHERE "collectionRef" = ${c.id} AND "recordRef" = ${recordId}`);
  }

  /** Enrolment state. */
  async status(c: AuthCollection, recordId: string): Promise<TotpStatus> {
    const row = await this.row(c, recordId);
    return { enabled: row?.enabled === 1, recoveryCodesLeft: row?.enabled === 1 ? parseCodes(row.recoveryCodes).length : 0 };
  }

  /** Whether the record has a confirmed authenticator (so logins need it as second factor). */
  async isEnabled(c: AuthCollection, recordId: string): Promise<boolean> {
    const row = await this.db.get<{ enabled: number }>(sql`SELECT enabled FROM _totp WHERE "collectionRef" = ${c.id} AND "recordRef" = ${recordId}`);
    return row?.enabled === 1;
  }

  /** Starts (or restarts) an enrolment: a new pending secret and its otpauth URL. 400 once enabled. */
  async setup(c: AuthCollection, recordId: string, issuer: string, account: string): Promise<{ secret: string; url: string }> {
    const secret = newTotpSecret();
    const stored = this.box()?.seal(secret) ?? secret;
    const now = nowDateTime();
    const res = await this.db.run(
      sql`INSERT INTO _totp ("collectionRef", "recordRef", secret, enabled, "lastStep", "recoveryCodes", created, updated)
          VALUES (${c.id}, ${recordId}, ${stored}, 0, 0, '[]', ${now}, ${now})
          ON CONFLICT ("collectionRef", "recordRef") DO UPDATE SET secret = excluded.secret, updated = excluded.updated WHERE _totp.enabled = 0`,
    );
    if (res.changes !== 1) throw AppError.badRequest('An authenticator app is already enabled; disable it first.');
    return { secret, url: otpauthURL(secret, issuer, account) };
  }

  /** Confirms a pending enrolment with a current code; returns the recovery codes (the only time they are shown). */
  async enable(c: AuthCollection, recordId: string, code: string): Promise<string[]> {
    const row = await this.row(c, recordId);
    if (!row || row.enabled === 1) throw AppError.badRequest('There is no pending authenticator setup.');
    const step = matchTotp(this.secretOf(row), code);
    if (step === null) throw AppError.badRequest('Invalid or expired code.');
    const codes = newRecoveryCodes();
    const res = await this.db.run(
      sql`UPDATE _totp SET enabled = 1, "lastStep" = ${step}, "recoveryCodes" = ${JSON.stringify(codes.map(hashRecoveryCode))}, updated = ${nowDateTime()}
          WHERE "collectionRef" = ${c.id} AND "recordRef" = ${recordId} AND enabled = 0 AND secret = ${row.secret}`,
    );
    if (res.changes !== 1) throw AppError.badRequest('There is no pending authenticator setup.');
    return codes;
  }

  /**
   * Checks and consumes a second-factor code: a 6-digit TOTP code (its step becomes used) or a recovery
   * code (removed from the list). False for anything else, a replayed step or a used recovery code.
   */
  async consume(c: AuthCollection, recordId: string, code: string, exec: Executor = this.db): Promise<boolean> {
    const row = await this.row(c, recordId, exec);
    if (!row || row.enabled !== 1) return false;
    const step = matchTotp(this.secretOf(row), code);
    if (step !== null) {
      const res = await exec.run(
        sql`UPDATE _totp SET "lastStep" = ${step} WHERE "collectionRef" = ${c.id} AND "recordRef" = ${recordId} AND enabled = 1 AND "lastStep" < ${step}`,
      );
      return res.changes === 1;
    }
    if (!looksLikeRecoveryCode(code)) return false;
    const hash = hashRecoveryCode(code);
    const codes = parseCodes(row.recoveryCodes);
    if (!codes.includes(hash)) return false;
    const rest = JSON.stringify(codes.filter((h) => h !== hash));
    // Compare-and-swap on the whole list: a concurrent use of any code makes this one retry-free fail.
    const res = await exec.run(
      sql`UPDATE _totp SET "recoveryCodes" = ${rest}, updated = ${nowDateTime()}
          WHERE "collectionRef" = ${c.id} AND "recordRef" = ${recordId} AND enabled = 1 AND "recoveryCodes" = ${row.recoveryCodes}`,
    );
    return res.changes === 1;
  }

  /** Replaces the recovery codes (after a valid code was consumed by the caller). */
  async regenerate(c: AuthCollection, recordId: string): Promise<string[]> {
    const codes = newRecoveryCodes();
    const res = await this.db.run(
      sql`UPDATE _totp SET "recoveryCodes" = ${JSON.stringify(codes.map(hashRecoveryCode))}, updated = ${nowDateTime()}
          WHERE "collectionRef" = ${c.id} AND "recordRef" = ${recordId} AND enabled = 1`,
    );
    if (res.changes !== 1) throw AppError.badRequest('No authenticator app is enabled.');
    return codes;
  }

  /** Removes the enrolment (pending or confirmed). */
  async remove(c: AuthCollection | string, recordId: string, exec: Executor = this.db): Promise<void> {
    const id = typeof c === 'string' ? c : c.id;
    await exec.run(sql`DELETE FROM _totp WHERE "collectionRef" = ${id} AND "recordRef" = ${recordId}`);
  }
}
