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
import type { RecordConfirmRequestEvent, RecordEmailRequestEvent, RecordRequestEmailChangeRequestEvent } from '../../hooks/index.js';
import { requestInfo } from './helpers.js';
import { collectionTags, type ActionResult } from './record-actions.js';
import { authCollection, readStrings, requireSameCollectionAuth, runHooked } from './record-auth-helpers.js';

const NO_CONTENT: ActionResult = { status: 204, body: null };

function emailEvent(c: AuthCollection, req: FastifyRequest, email: string): RecordEmailRequestEvent {
  return { tags: collectionTags(c), collection: c, request: requestInfo(req), email };
}

function confirmEvent(c: AuthCollection, req: FastifyRequest, token: string): RecordConfirmRequestEvent {
  return { tags: collectionTags(c), collection: c, request: requestInfo(req), token };
}

function requireEmail(email: string, field: string): void {
  if (!isEmailFormat(email)) {
    throw AppError.validation('An error occurred while validating the submitted data.', {
      [field]: fieldError('validation_is_email', 'Must be a valid email address'),
    });
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
    return runHooked(app, reply, app.hooks.onRecordRequestVerificationRequest, emailEvent(c, req, email), async (ev) => {
      flows.requestVerification(c, String(ev.email));
      return NO_CONTENT;
    });
  });

  server.post('/api/collections/:collection/confirm-verification', async (req, reply) => {
    const c = await start(req, 'confirmVerification');
    notForSuperusers(c, 'All superusers are verified by default.');
    const { token } = readStrings(req, { token: { max: 4096 } });
    return runHooked(app, reply, app.hooks.onRecordConfirmVerificationRequest, confirmEvent(c, req, token), async (ev) => {
      ev.record = await flows.confirmVerification(c, String(ev.token));
      return NO_CONTENT;
    });
  });

  server.post('/api/collections/:collection/request-password-reset', async (req, reply) => {
    const c = await start(req, 'requestPasswordReset');
    if (!c.passwordAuth.enabled) throw AppError.badRequest('The collection is not configured to allow password authentication.');
    const { email } = readStrings(req, { email: { max: 255 } });
    requireEmail(email, 'email');
    return runHooked(app, reply, app.hooks.onRecordRequestPasswordResetRequest, emailEvent(c, req, email), async (ev) => {
      flows.requestPasswordReset(c, String(ev.email));
      return NO_CONTENT;
    });
  });

  server.post('/api/collections/:collection/confirm-password-reset', async (req, reply) => {
    const c = await start(req, 'confirmPasswordReset');
    const input = readStrings(req, { token: { max: 4096 }, password: { max: 4096 }, passwordConfirm: { max: 4096 } });
    // The token and the passwords are checked together, as PocketBase reports them (auth/email-flows.ts).
    return runHooked(app, reply, app.hooks.onRecordConfirmPasswordResetRequest, confirmEvent(c, req, input.token), async (ev) => {
      ev.record = await flows.confirmPasswordReset(c, String(ev.token), input.password, input.passwordConfirm);
      return NO_CONTENT;
    });
  });

  server.post('/api/collections/:collection/request-email-change', async (req, reply) => {
    requireSameCollectionAuth(app, req); // PocketBase's middleware runs before the collection lookup
    const c = await start(req, 'requestEmailChange');
    notForSuperusers(c, 'All superusers can change their emails directly.');
    if (!req.auth) throw AppError.unauthorized('The request requires valid auth record.');
    const { newEmail } = readStrings(req, { newEmail: { max: 255 } });
    requireEmail(newEmail, 'newEmail');
    const e: RecordRequestEmailChangeRequestEvent = { tags: collectionTags(c), collection: c, request: requestInfo(req), record: req.auth.record, newEmail };
    return runHooked(app, reply, app.hooks.onRecordRequestEmailChangeRequest, e, async (ev) => {
      const next = String(ev.newEmail);
      requireEmail(next, 'newEmail');
      // PocketBase's checks: not the current address, and not another record's (that one is a 400, as in PocketBase).
      await flows.checkNewEmail(c, ev.record, next);
      flows.requestEmailChange(c, ev.record, next);
      return NO_CONTENT;
    });
  });

  server.post('/api/collections/:collection/confirm-email-change', async (req, reply) => {
    const c = await start(req, 'confirmEmailChange');
    notForSuperusers(c, 'All superusers can change their emails directly.');
    const input = readStrings(req, { token: { max: 4096 }, password: { max: 4096 } });
    return runHooked(app, reply, app.hooks.onRecordConfirmEmailChangeRequest, confirmEvent(c, req, input.token), async (ev) => {
      ev.record = await flows.confirmEmailChange(c, String(ev.token), input.password);
      return NO_CONTENT;
    });
  });
}
