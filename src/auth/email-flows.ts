/**
 * The three emailed-link flows: verification, password reset and email change. Their tokens are
 * PocketBase's stateless JWTs (HS256, record tokenKey + per-type collection secret, `email` claim), made
 * single use by checking the state they were issued for inside the write transaction that changes it:
 *
 * - verification: the record must still be unverified with the token's email → the first use flips
 *   `verified`, every later (or concurrent) use finds nothing to flip;
 * - password reset and email change: the record's tokenKey must still be the one that signed the token →
 *   the first use changes the password/email, which rotates the tokenKey, killing the token (and every
 *   auth token) at once.
 *
 * Requests never reveal whether an email is known: the route answers 204 at once and the lookup and mail
 * run in the background. Each record gets at most one mail of a kind per 2 minutes (mail bombing).
 */
import type { AuthCollection } from '../collections/model.js';
import type { Dialect, Executor } from '../db/dialect.js';
import { ident, sql } from '../db/sql.js';
import { AppError, fieldError } from '../errors/index.js';
import type { RecordData } from '../hooks/index.js';
import { renderRecordMail, type RecordMailKind } from '../mail/index.js';
import { systemRequest } from '../records/system-request.js';
import { randomString } from '../util/random.js';
import { AttemptCounter } from './attempts.js';
import type { AuthDeps } from './deps.js';
import { findAuthRecordByEmail } from './lookup.js';
import { verifyPassword } from './passwords.js';
import { recordFromToken } from './token-records.js';
import { issueToken, unverifiedClaims, type IssueOptions } from './tokens.js';

/** Why a confirm failed, in PocketBase's words per flow. */
const INVALID = {
  verification: 'Invalid or expired verification token.',
  passwordReset: 'Invalid or expired password reset token.',
  emailChange: 'Invalid or expired token.',
} as const;

/** A refused email change token, in PocketBase's shape (the error sits on the `token` field). */
function invalidEmailChangeToken(): AppError {
  return AppError.validation(INVALID.emailChange, { token: fieldError('validation_invalid_token', 'Invalid or expired token.') });
}

/** Request and confirm handlers of the emailed-link flows. */
export class EmailFlows {
  /** One mail per kind, record and 2 minutes. */
  private resend = new AttemptCounter(1, 120_000);

  constructor(private readonly deps: AuthDeps) {}

  /**
   * Mails `to` a `kind` link carrying a fresh `token` for `record`, unless this record got one of the same
   * type (and `resendSuffix`) lately.
   */
  private async mailToken(kind: RecordMailKind, collection: AuthCollection, record: RecordData, to: string, token: IssueOptions, resendSuffix = ''): Promise<void> {
    if (!this.resend.hit(`${token.type}/${collection.id}/${record.id as string}${resendSuffix}`)) return;
    const signed = await issueToken(collection, record as { id: string; tokenKey: string }, token);
    const mail = renderRecordMail(kind, collection, record, this.deps.settings(), { TOKEN: signed });
    await this.deps.mailer.send({ to, ...mail });
  }

  /** Schedules a verification mail for an unverified record with this email (nothing otherwise). */
  requestVerification(collection: AuthCollection, email: string): void {
    this.deps.background.run('verification request', async () => {
      const record = await findAuthRecordByEmail(this.deps.db, collection, email);
      if (!record || record.verified === true) return;
      await this.mailToken('verification', collection, record, String(record.email), { type: 'verification', extra: { email: record.email } });
    });
  }

  /** Marks the token's record verified; 400 for an invalid, expired or already used token. */
  async confirmVerification(collection: AuthCollection, token: string): Promise<RecordData> {
    const { db, collections, reader, writer } = this.deps;
    const found = await recordFromToken(token, 'verification', collections, reader, collection);
    if (!found || found.claims.email !== found.record.email) throw AppError.badRequest(INVALID.verification);
    const id = found.record.id as string;
    return db.transaction(async (tx) => {
      const pending = await tx.get(
        sql`SELECT 1 AS ok FROM ${ident(collection.name)} WHERE ${ident('id')} = ${id} AND ${ident('email')} = ${String(found.claims.email)} AND ${ident('verified')} = ${false}${db.dialect.forUpdate}`,
      );
      if (!pending) throw AppError.badRequest(INVALID.verification);
      const data: Record<string, unknown> = { verified: true };
      if (!collection.passwordAuth.enabled) {
        // PocketBase's guard: a password set before the address was proven (pre-hijacking) stops working.
        const password = randomString(40);
        Object.assign(data, { password, passwordConfirm: password });
      }
      return writer.update(collection, id, { data }, systemRequest(collections), tx);
    });
  }

  /** Schedules a password reset mail for the record with this email (nothing for unknown emails). */
  requestPasswordReset(collection: AuthCollection, email: string): void {
    this.deps.background.run('password reset request', async () => {
      const record = await findAuthRecordByEmail(this.deps.db, collection, email);
      if (!record) return;
      await this.mailToken('password-reset', collection, record, String(record.email), { type: 'passwordReset', extra: { email: record.email } });
    });
  }

  /** Sets the new password (rotating the tokenKey: the reset token and all sessions die); 400 when invalid or used. */
  async confirmPasswordReset(collection: AuthCollection, token: string, password: string, passwordConfirm: string): Promise<RecordData> {
    const { db, collections, reader, writer } = this.deps;
    const found = await recordFromToken(token, 'passwordReset', collections, reader, collection);
    if (!found || found.claims.email !== found.record.email) throw AppError.badRequest(INVALID.passwordReset);
    const id = found.record.id as string;
    return db.transaction(async (tx) => {
      if (!(await lockIfTokenKeyUnchanged(tx, db.dialect, collection, found.record))) throw AppError.badRequest(INVALID.passwordReset);
      const data: Record<string, unknown> = { password, passwordConfirm };
      // The mail reached the address, which proves it.
      if (found.record.verified !== true) data.verified = true;
      return writer.update(collection, id, { data }, systemRequest(collections), tx).catch(rethrowAsFormError);
    });
  }

  /**
   * PocketBase's checks of a requested new address: not the current one (`validation_not_in_invalid`),
   * and not used by another record of the collection (`validation_invalid_new_email`).
   */
  async checkNewEmail(collection: AuthCollection, record: RecordData, newEmail: string): Promise<void> {
    const refuse = (code: `validation_${string}`, message: string) =>
      AppError.validation('An error occurred while validating the submitted data.', { newEmail: fieldError(code, message) });
    if (newEmail === String(record.email ?? '')) throw refuse('validation_not_in_invalid', 'Must not be in list.');
    const other = await findAuthRecordByEmail(this.deps.db, collection, newEmail);
    if (other && other.id !== record.id) throw refuse('validation_invalid_new_email', 'Invalid new email address.');
  }

  /** Schedules the confirmation mail to the new address, unless another record already uses it. */
  requestEmailChange(collection: AuthCollection, record: RecordData, newEmail: string): void {
    this.deps.background.run('email change request', async () => {
      if (await findAuthRecordByEmail(this.deps.db, collection, newEmail)) return;
      const token: IssueOptions = { type: 'emailChange', extra: { email: record.email, newEmail } };
      await this.mailToken('email-change', collection, record, newEmail, token, `/${newEmail.toLowerCase()}`);
    });
  }

  /** Applies an email change after checking the token and the account password; 400 otherwise. */
  async confirmEmailChange(collection: AuthCollection, token: string, password: string): Promise<RecordData> {
    const { db, collections, reader, writer } = this.deps;
    const claimed = unverifiedClaims(token)?.newEmail;
    const newEmail = typeof claimed === 'string' ? claimed : '';
    const found = await recordFromToken(token, 'emailChange', collections, reader, collection);
    if (!found || newEmail === '' || found.claims.email !== found.record.email || found.claims.newEmail !== newEmail) {
      throw invalidEmailChangeToken();
    }
    if (!(await verifyPassword(String(found.record.password ?? ''), password))) {
      throw AppError.validation('An error occurred while validating the submitted data.', {
        password: fieldError('validation_invalid_password', 'Missing or invalid auth record password.'),
      });
    }
    const id = found.record.id as string;
    return db.transaction(async (tx) => {
      if (!(await lockIfTokenKeyUnchanged(tx, db.dialect, collection, found.record))) throw invalidEmailChangeToken();
      const taken = await findAuthRecordByEmail(tx, collection, newEmail);
      if (taken && taken.id !== id) {
        throw AppError.validation(INVALID.emailChange, { token: fieldError('validation_existing_token_email', 'The new email address is already registered.') });
      }
      return writer.update(collection, id, { data: { email: newEmail, verified: true } }, systemRequest(collections), tx).catch(rethrowAsFormError);
    });
  }
}

/**
 * Locks the record's row for the transaction if its tokenKey is still the one read with the token (that
 * signed it); false once a first use rotated it.
 */
async function lockIfTokenKeyUnchanged(tx: Executor, dialect: Dialect, collection: AuthCollection, record: RecordData): Promise<boolean> {
  const row = await tx.get(
    sql`SELECT 1 AS ok FROM ${ident(collection.name)} WHERE ${ident('id')} = ${record.id as string} AND ${ident('tokenKey')} = ${String(record.tokenKey)}${dialect.forUpdate}`,
  );
  return row !== undefined;
}

/** The record writer's "Failed to update record." becomes the form message PocketBase uses for these endpoints. */
function rethrowAsFormError(err: unknown): never {
  if (err instanceof AppError && err.code === 'validation_failed') {
    throw AppError.validation('An error occurred while validating the submitted data.', err.data);
  }
  throw err;
}
