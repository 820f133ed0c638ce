/**
 * The emailed-link flows. Requests answer 204 whether or not the email is known (the work runs in the
 * background); confirms answer 204, or 400 with PocketBase's validation codes on `token`.
 *
 *   POST /api/collections/{c}/request-verification    {email}
 *   POST /api/collections/{c}/confirm-verification    {token}                (204 again for a verified record)
 *   POST /api/collections/{c}/request-password-reset  {email}
 *   POST /api/collections/{c}/confirm-password-reset  {token, password, passwordConfirm}
 *   POST /api/collections/{c}/request-email-change    {newEmail}        (auth required)
 *   POST /api/collections/{c}/confirm-email-change    {token, password}
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { App } from '../../app.js';
import { isEmailFormat } from '../../auth/lookup.js';
import type { AuthCollection } from '../../collections/model.js';
import { AppError, fieldError } from '../../errors/index.js';
import { authCollection, readStrings, requireSameCollectionAuth } from './record-auth-helpers.js';

function requireEmail(email: string, field: string): void {
  if (!isEmailFormat(email)) {
    throw AppError.validation('An error occurred while validating the submitted data.', { [field]: fieldError('validation_is_email', 'Must be a valid email address') });
  }
}

function notForSuperusers(c: AuthCollection, message: string): void {
  if (c.name === '_superusers') throw AppError.badRequest(message);
}

/** Registers the six request/confirm endpoints. */
export function registerRecordAuthEmailRoutes(server: FastifyInstance, app: App): void {
  const flows = app.auth.emailFlows;
  const start = async (req: FastifyRequest, tag: string) => {
    const c = authCollection(app, req);
    await server.rateLimiter.checkTag(req, c.name, tag);
    return c;
  };

  server.post('/api/collections/:collection/request-verification', async (req, reply) => {
    const c = await start(req, 'requestVerification');
    notForSuperusers(c, 'All superusers are verified by default.');
    const { email } = readStrings(req, { email: { max: 255 } });
    requireEmail(email, 'email');
    flows.requestVerification(c, email);
    return reply.code(204).send();
  });

  server.post('/api/collections/:collection/confirm-verification', async (req, reply) => {
    const c = await start(req, 'confirmVerification');
    notForSuperusers(c, 'All superusers are verified by default.');
    const { token } = readStrings(req, { token: { max: 4096 } });
    await flows.confirmVerification(c, token);
    return reply.code(204).send();
  });

  server.post('/api/collections/:collection/request-password-reset', async (req, reply) => {
    const c = await start(req, 'requestPasswordReset');
    if (!c.passwordAuth.enabled) throw AppError.badRequest('The collection is not configured to allow password authentication.');
    const { email } = readStrings(req, { email: { max: 255 } });
    requireEmail(email, 'email');
    flows.requestPasswordReset(c, email);
    return reply.code(204).send();
  });

  server.post('/api/collections/:collection/confirm-password-reset', async (req, reply) => {
    const c = await start(req, 'confirmPasswordReset');
    const input = readStrings(req, { token: { max: 4096 }, password: { max: 4096 }, passwordConfirm: { max: 4096 } });
    await flows.confirmPasswordReset(c, input.token, input.password, input.passwordConfirm);
    return reply.code(204).send();
  });

  server.post('/api/collections/:collection/request-email-change', async (req, reply) => {
    requireSameCollectionAuth(app, req); // PocketBase's middleware runs before the collection lookup
    const c = await start(req, 'requestEmailChange');
    notForSuperusers(c, 'All superusers can change their emails directly.');
    if (!req.auth) throw AppError.unauthorized('The request requires valid auth record.');
    const { newEmail } = readStrings(req, { newEmail: { max: 255 } });
    requireEmail(newEmail, 'newEmail');
    // PocketBase's checks: not the current address, and not another record's (that one is a 400, as in PocketBase).
    await flows.checkNewEmail(c, req.auth.record, newEmail);
    flows.requestEmailChange(c, req.auth.record, newEmail);
    return reply.code(204).send();
  });

  server.post('/api/collections/:collection/confirm-email-change', async (req, reply) => {
    const c = await start(req, 'confirmEmailChange');
    notForSuperusers(c, 'All superusers can change their emails directly.');
    const input = readStrings(req, { token: { max: 4096 }, password: { max: 4096 } });
    await flows.confirmEmailChange(c, input.token, input.password);
    return reply.code(204).send();
  });
}
