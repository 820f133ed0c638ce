/**
 * Email one-time passwords (`request-otp` / `auth-with-otp`), stored in `_otps` with the code hashed.
 *
 * - Requesting answers at once with a fresh otpId whether or not the email is known; the lookup, the
 *   row and the mail happen in the background with that id, so status, body and time are the same for
 *   known and unknown emails. At most 10 unexpired OTPs per record: past that nothing new is sent.
 * - Using one counts the attempt *before* checking the code (5 per OTP, 5 per record per 180 s), so
 *   parallel guesses cannot outrun the counter, and consumes the row with a conditional DELETE: of many
 *   concurrent correct submissions exactly one succeeds.
 */
import type { AuthCollection } from '../collections/model.js';
import { newRecordId } from '../collections/ids.js';
import { ident, sql } from '../db/sql.js';
import { AppError } from '../errors/index.js';
import type { RecordData } from '../hooks/index.js';
import { MailNotConfiguredError, renderRecordMail } from '../mail/index.js';
import { systemRequest } from '../records/system-request.js';
import { formatDateTime, parseDateTime } from '../util/datetime.js';
import { randomString } from '../util/random.js';
import { AttemptCounter } from './attempts.js';
import type { AuthDeps } from './deps.js';
import { findAuthRecordByEmail } from './lookup.js';
import { verifyPassword } from './passwords.js';

const OTPS = '_otps';
/** PocketBase's cap: once this many unexpired OTPs exist for a record, no new one is created. */
const MAX_ACTIVE_OTPS = 10;
const INVALID = 'Invalid or expired OTP';

/** Requesting and consuming email OTPs. */
export class OtpService {
  /** Attempts per OTP id: 5, then it only answers 429 (the window outlasts the longest OTP lifetime, 1 day). */
  private perOtp = new AttemptCounter(5, 86_400_000);
  /** Attempts per record (PocketBase: 5 per 180 s), whatever the OTP. */
  private perRecord = new AttemptCounter(5, 180_000);

  constructor(private readonly deps: AuthDeps) {}

  /** Returns the otpId to answer with now; creates and mails the code in the background. */
  request(collection: AuthCollection, email: string): string {
    const otpId = newRecordId();
    this.deps.background.run('OTP request', () => this.createAndSend(collection, email, otpId));
    return otpId;
  }

  private async createAndSend(collection: AuthCollection, email: string, otpId: string): Promise<void> {
    const { db, writer, collections, settings, mailer } = this.deps;
    // An OTP nobody can receive is only an attack surface: none is created while SMTP is off.
    if (!mailer.enabled) throw new MailNotConfiguredError('SMTP is not enabled in the settings.');
    const record = await findAuthRecordByEmail(db, collection, email);
    if (!record) return;
    const since = formatDateTime(new Date(Date.now() - collection.otp.duration * 1000));
    const active = await db.get<{ n: number }>(
      sql`SELECT COUNT(*) AS n FROM ${ident(OTPS)} WHERE ${ident('collectionRef')} = ${collection.id} AND ${ident('recordRef')} = ${record.id as string} AND ${ident('created')} > ${since}`,
    );
    if ((active?.n ?? 0) >= MAX_ACTIVE_OTPS) {
      this.deps.logger.warn({ recordId: record.id }, 'too many active OTPs; not sending another');
      return;
    }
    const code = randomString(Math.max(4, collection.otp.length), '0123456789');
    const otps = collections.require(OTPS);
    await writer.create(
      otps,
      { data: { id: otpId, collectionRef: collection.id, recordRef: record.id, password: code, sentTo: String(record.email ?? '') } },
      systemRequest(collections),
    );
    const mail = renderRecordMail('otp', collection, record, settings(), { OTP: code, OTP_ID: otpId });
    try {
      await mailer.send({ to: String(record.email), ...mail });
    } catch (err) {
      // An OTP nobody received is only an attack surface: drop it.
      await db.run(sql`DELETE FROM ${ident(OTPS)} WHERE ${ident('id')} = ${otpId}`);
      throw err;
    }
  }

  /**
   * Checks and consumes an OTP of `collection`; returns its record (marked verified when the code went to
   * the record's current email). 400 for anything invalid, 429 once the attempts are used up.
   */
  async consume(collection: AuthCollection, otpId: string, code: string): Promise<RecordData> {
    const { db, reader } = this.deps;
    const row = await db.get<Record<string, unknown>>(sql`SELECT * FROM ${ident(OTPS)} WHERE ${ident('id')} = ${otpId}`);
    if (!row || row.collectionRef !== collection.id) throw AppError.badRequest(INVALID);
    const created = parseDateTime(String(row.created ?? ''));
    if (!created || created.getTime() + collection.otp.duration * 1000 < Date.now()) throw AppError.badRequest(INVALID);
    const record = await reader.findById(collection, String(row.recordRef));
    if (!record) throw AppError.badRequest(INVALID);

    // Counted before the (slow) check, so parallel guesses cannot outrun the limit. Not deleting the OTP
    // here: a request over the limit must not destroy a code a concurrent request is still checking.
    const okRecord = this.perRecord.hit(`${collection.id}/${record.id as string}`);
    const okOtp = this.perOtp.hit(otpId);
    if (!okRecord || !okOtp) throw new AppError('too_many_requests', 'Too many attempts, please try again later with a new OTP.');

    if (!(await verifyPassword(String(row.password ?? ''), code))) throw AppError.badRequest(INVALID);
    // Single use: of concurrent correct submissions only the one whose DELETE removed the row goes on.
    const consumed = await db.transaction((tx) => tx.run(sql`DELETE FROM ${ident(OTPS)} WHERE ${ident('id')} = ${otpId}`));
    if (consumed.changes !== 1) throw AppError.badRequest(INVALID);
    this.perOtp.clear(otpId);

    const sentTo = String(row.sentTo ?? '');
    if (record.verified !== true && sentTo !== '' && sentTo === record.email) {
      // Receiving the code at that address proves it, as a verification link would.
      return this.deps.writer.update(collection, record.id as string, { data: { verified: true } }, systemRequest(this.deps.collections));
    }
    return record;
  }
}
