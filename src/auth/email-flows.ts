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
import { AppError, fieldError, type FieldErrors } from '../errors/index.js';
import type { RecordData } from '../hooks/index.js';
import { MailNotConfiguredError, renderRecordMail, type RecordMailKind } from '../mail/index.js';
import { systemRequest } from '../records/system-request.js';
import { randomString } from '../util/random.js';
import { AttemptCounter } from './attempts.js';
import type { AuthDeps } from './deps.js';
import { findAuthRecordByEmail } from './lookup.js';
import { verifyPassword } from './passwords.js';
import { recordFromToken, type TokenRecord } from './token-records.js';
import { issueToken, unverifiedClaims, type IssueOptions, type TokenType } from './tokens.js';

const FORM_MESSAGE = 'An error occurred while validating the submitted data.';

/** A refused token in PocketBase's shape: the error sits on the `token` field, with PocketBase's code. */
function tokenError(code: `validation_${string}`, message: string, more: FieldErrors = {}): AppError {
  return AppError.validation(FORM_MESSAGE, { token: fieldError(code, message), ...more });
}

/**
 * PocketBase's token checks shared by the confirm forms: a valid, unexpired token of `type`
 * (`validation_invalid_token`) issued for this collection (`validation_token_collection_mismatch`).
 */
async function checkToken(
  deps: AuthDeps,
  token: string,
  type: TokenType,
  collection: AuthCollection,
): Promise<{ found?: TokenRecord; error?: [`validation_${string}`, string] }> {
  const found = await recordFromToken(token, type, deps.collections, deps.reader);
  if (!found) return { error: ['validation_invalid_token', 'Invalid or expired token.'] };
  if (found.collection.id !== collection.id) return { error: ['validation_token_collection_mismatch', 'The provided token is for different auth collection.'] };
  return { found };
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
  private async mailToken(
    kind: RecordMailKind,
    collection: AuthCollection,
    record: RecordData,
    to: string,
    token: IssueOptions,
    resendSuffix = '',
  ): Promise<void> {
    if (!this.deps.mailer.enabled) throw new MailNotConfiguredError('SMTP is not enabled in the settings.');
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

  /**
   * Marks the token's record verified, PocketBase's way: the token must carry an `email` claim
   * (`validation_invalid_token_claims`), be valid for this collection and match the record's current email
   * (`validation_token_email_mismatch`). An already verified record answers success without a write.
   */
  /** Verifies the token's record (once, under concurrency) and returns it as stored before the flip. */
  async confirmVerification(collection: AuthCollection, token: string): Promise<RecordData> {
    const { db, collections, writer } = this.deps;
    const email = unverifiedClaims(token)?.email;
    if (typeof email !== 'string' || email === '') throw tokenError('validation_invalid_token_claims', 'Missing email token claim.');
    const { found, error } = await checkToken(this.deps, token, 'verification', collection);
    if (!found) throw tokenError(...error!);
    if (found.record.email !== email) throw tokenError('validation_token_email_mismatch', "The record email doesn't match with the requested token claims.");
    if (found.record.verified === true) return found.record;
    const id = found.record.id as string;
    await db.transaction(async (tx) => {
      // The flip happens once: a concurrent confirmation finds the record verified and changes nothing.
      const pending = await tx.get(
        sql`SELECT 1 AS ok FROM ${ident(collection.name)} WHERE ${ident('id')} = ${id} AND ${ident('email')} = ${email} AND ${ident('verified')} = ${false}${db.dialect.forUpdate}`,
      );
      if (!pending) return;
      const data: Record<string, unknown> = { verified: true };
      if (!collection.passwordAuth.enabled) {
        // PocketBase's guard: a password set before the address was proven (pre-hijacking) stops working.
        const password = randomString(40);
        Object.assign(data, { password, passwordConfirm: password });
      }
      await writer.update(collection, id, { data }, systemRequest(collections), tx);
    });
    return found.record;
  }

  /** Schedules a password reset mail for the record with this email (nothing for unknown emails). */
  requestPasswordReset(collection: AuthCollection, email: string): void {
    this.deps.background.run('password reset request', async () => {
      const record = await findAuthRecordByEmail(this.deps.db, collection, email);
      if (!record) return;
      await this.mailToken('password-reset', collection, record, String(record.email), { type: 'passwordReset', extra: { email: record.email } });
    });
  }

  /**
   * Sets the new password (rotating the tokenKey: the reset token and all sessions die). PocketBase's form
   * checks: the token (`validation_invalid_token`, `validation_token_collection_mismatch`) and
   * `passwordConfirm` (`validation_values_mismatch`), reported together.
   */
  async confirmPasswordReset(collection: AuthCollection, token: string, password: string, passwordConfirm: string): Promise<RecordData> {
    const { db, collections, writer } = this.deps;
    const { found, error } = await checkToken(this.deps, token, 'passwordReset', collection);
    const errors: FieldErrors = {};
    if (error) errors.token = fieldError(...error);
    if (password !== passwordConfirm) errors.passwordConfirm = fieldError('validation_values_mismatch', "Values don't match.");
    if (!found || Object.keys(errors).length) throw AppError.validation(FORM_MESSAGE, errors);
    const id = found.record.id as string;
    return db.transaction(async (tx) => {
      if (!(await lockIfTokenKeyUnchanged(tx, db.dialect, collection, found.record))) throw tokenError('validation_invalid_token', 'Invalid or expired token.');
      const data: Record<string, unknown> = { password, passwordConfirm };
      // The mail reached the address, which proves it (if the email is still the one the token was sent to).
      if (found.record.verified !== true && found.claims.email === found.record.email) data.verified = true;
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

  /**
   * Applies an email change, after PocketBase's checks: a `newEmail` claim (`validation_invalid_token_payload`),
   * a valid token of this collection, a new address nobody uses (`validation_invalid_token_email`) and the
   * account password (`validation_invalid_password`), token and password errors reported together.
   */
  async confirmEmailChange(collection: AuthCollection, token: string, password: string): Promise<RecordData> {
    const { db, collections, writer } = this.deps;
    const claimed = unverifiedClaims(token)?.newEmail;
    const newEmail = typeof claimed === 'string' ? claimed : '';
    let found: TokenRecord | undefined;
    let error: [`validation_${string}`, string] | undefined;
    if (newEmail === '') error = ['validation_invalid_token_payload', 'Invalid token payload - newEmail must be set.'];
    else ({ found, error } = await checkToken(this.deps, token, 'emailChange', collection));
    if (found && (found.claims.email !== found.record.email || found.claims.newEmail !== newEmail)) {
      found = undefined;
      error = ['validation_invalid_token', 'Invalid or expired token.'];
    }
    if (found && (await findAuthRecordByEmail(db, collection, newEmail))) {
      found = undefined;
      error = ['validation_invalid_token_email', 'The new email address is invalid.'];
    }
    const errors: FieldErrors = {};
    if (error) errors.token = fieldError(...error);
    if (!found || !(await verifyPassword(String(found.record.password ?? ''), password))) {
      errors.password = fieldError('validation_invalid_password', 'Missing or invalid auth record password.');
    }
    if (!found || Object.keys(errors).length) throw AppError.validation(FORM_MESSAGE, errors);
    const id = found.record.id as string;
    const record = found.record;
    return db.transaction(async (tx) => {
      if (!(await lockIfTokenKeyUnchanged(tx, db.dialect, collection, record))) throw tokenError('validation_invalid_token', 'Invalid or expired token.');
      const taken = await findAuthRecordByEmail(tx, collection, newEmail);
      if (taken && taken.id !== id) throw tokenError('validation_invalid_token_email', 'The new email address is invalid.');
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
    throw AppError.validation(FORM_MESSAGE, err.data);
  }
  throw err;
}
