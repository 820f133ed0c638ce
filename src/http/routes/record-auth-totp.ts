/**
 * Authenticator-app (TOTP) second factor, beyond PocketBase. All but the last need the record's own auth
 * token; enabling proves the app holds the secret, disabling needs the password and a code.
 *
 *   GET  /api/collections/{c}/totp                      → {enabled, recoveryCodesLeft}
 *   POST /api/collections/{c}/totp/setup                → {secret, url}   (pending until enabled)
 *   POST /api/collections/{c}/totp/enable   {code}      → {recoveryCodes} (shown once)
 *   POST /api/collections/{c}/totp/recovery-codes {code}→ {recoveryCodes} (replaces the old ones)
 *   POST /api/collections/{c}/totp/disable  {password, code} → 204
 *   POST /api/collections/{c}/auth-with-totp {mfaId, code}   → auth response (second factor of a login)
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { App } from '../../app.js';
import { AttemptCounter } from '../../auth/attempts.js';
import { verifyPassword } from '../../auth/passwords.js';
import type { AuthCollection } from '../../collections/model.js';
import type { Executor } from '../../db/dialect.js';
import { AppError } from '../../errors/index.js';
import type { RecordData } from '../../hooks/index.js';
import { authCollection, readStrings, sendAuthResponse } from './record-auth-helpers.js';

const BAD_CODE = 'Invalid or expired code.';

/** Registers the TOTP management endpoints and auth-with-totp. */
export function registerRecordAuthTotpRoutes(server: FastifyInstance, app: App): void {
  const totp = app.auth.totp;
  // Guesses per MFA session and per record (TOTP codes are only 6 digits): counted before checking.
  const perSession = new AttemptCounter(5, 30 * 60_000);
  const perRecord = new AttemptCounter(10, 15 * 60_000);

  /** The collection and the caller's own record (401 guest, 403 another collection's record). */
  const self = (req: FastifyRequest): { c: AuthCollection; record: RecordData } => {
    const c = authCollection(app, req);
    if (!req.auth) throw AppError.unauthorized('The request requires valid record authorization token.');
    if (req.auth.collection.id !== c.id) throw AppError.forbidden('The authorized record is not allowed to perform this action.');
    return { c, record: req.auth.record };
  };
  const checked = async (c: AuthCollection, id: string, code: string, exec: Executor = app.db) => {
    if (!perRecord.hit(`${c.id}/${id}`)) throw new AppError('too_many_requests', 'Too many attempts, please try again later.');
    if (!(await totp.consume(c, id, code, exec))) throw AppError.badRequest(BAD_CODE);
  };

  server.get('/api/collections/:collection/totp', async (req) => {
    const { c, record } = self(req);
    return totp.status(c, record.id as string);
  });

  server.post('/api/collections/:collection/totp/setup', async (req) => {
    const { c, record } = self(req);
    const account = String(record.email || record.id);
    return totp.setup(c, record.id as string, app.settings.get().meta.appName, account);
  });

  server.post('/api/collections/:collection/totp/enable', async (req) => {
    const { c, record } = self(req);
    const { code } = readStrings(req, { code: { max: 10 } });
    if (!perRecord.hit(`${c.id}/${record.id as string}`)) throw new AppError('too_many_requests', 'Too many attempts, please try again later.');
    return { recoveryCodes: await totp.enable(c, record.id as string, code) };
  });

  server.post('/api/collections/:collection/totp/recovery-codes', async (req) => {
    const { c, record } = self(req);
    const { code } = readStrings(req, { code: { max: 40 } });
    await checked(c, record.id as string, code);
    return { recoveryCodes: await totp.regenerate(c, record.id as string) };
  });

  server.post('/api/collections/:collection/totp/disable', async (req, reply) => {
    const { c, record } = self(req);
    const { password, code } = readStrings(req, { password: { max: 4096 }, code: { max: 40 } });
    // Removing a factor needs the other factor too (threat model: MFA removable without a code).
    if (!(await verifyPassword(String(record.password ?? ''), password))) {
      throw AppError.badRequest('Invalid password or code.');
    }
    await checked(c, record.id as string, code);
    await totp.remove(c, record.id as string);
    return reply.code(204).send();
  });

  server.post('/api/collections/:collection/auth-with-totp', async (req, reply) => {
    const c = authCollection(app, req);
    await server.rateLimiter.checkTag(req, c.name, 'authWithTOTP');
    await server.rateLimiter.checkTag(req, c.name, 'auth');
    const { mfaId, code } = readStrings(req, { mfaId: { max: 255 }, code: { max: 40 } });
    const session = await app.auth.mfa.find(c, mfaId);
    if (!session) throw AppError.badRequest('Invalid or expired MFA session.');
    const record = await app.reader.findById(c, session.recordRef);
    if (!record) throw AppError.badRequest('Invalid or expired MFA session.');
    try {
      // One attempt per session at a time: the first valid code completes the session, every concurrent
      // attempt then finds it gone.
      await app.db.transaction(async (tx) => {
        if (!(await app.auth.mfa.lock(mfaId, tx))) throw AppError.badRequest('Invalid or expired MFA session.');
        await checked(c, record.id as string, code, tx);
        await app.auth.mfa.complete(c, record, mfaId, 'totp', undefined, tx);
      });
    } catch (err) {
      // Wrong codes count against the session; past 5 it is gone.
      if (err instanceof AppError && err.status === 400 && !perSession.hit(mfaId)) {
        await app.auth.mfa.delete(mfaId);
        throw new AppError('too_many_requests', 'Too many attempts, please sign in again.');
      }
      throw err;
    }
    perSession.clear(mfaId);
    return sendAuthResponse(app, req, reply, c, record, { method: 'totp', hookMethod: 'totp', mfaDone: true });
  });
}
