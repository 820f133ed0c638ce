/**
 * Email OTP sign-in.
 *
 *   POST /api/collections/{c}/request-otp    {email}            → 200 {otpId} (for unknown emails too)
 *   POST /api/collections/{c}/auth-with-otp  {otpId, password}  → auth | 401 {mfaId} | 400 | 429
 */
import type { FastifyInstance } from 'fastify';
import type { App } from '../../app.js';
import { isEmailFormat } from '../../auth/lookup.js';
import { AppError, fieldError } from '../../errors/index.js';
import type { RecordAuthWithOTPRequestEvent, RecordRequestOTPRequestEvent } from '../../hooks/index.js';
import { requestInfo } from './helpers.js';
import { collectionTags } from './record-actions.js';
import { authCollection, authResponse, readStrings, runHooked } from './record-auth-helpers.js';

/** Registers request-otp and auth-with-otp. */
export function registerRecordAuthOtpRoutes(server: FastifyInstance, app: App): void {
  server.post('/api/collections/:collection/request-otp', async (req, reply) => {
    const collection = authCollection(app, req);
    await server.rateLimiter.checkTag(req, collection.name, 'requestOTP');
    if (!collection.otp.enabled) throw AppError.forbidden('The collection is not configured to allow OTP authentication.');
    const { email } = readStrings(req, { email: { max: 255 } });
    if (!isEmailFormat(email)) {
      throw AppError.validation('An error occurred while validating the submitted data.', {
        email: fieldError('validation_is_email', 'Must be a valid email address'),
      });
    }
    const e: RecordRequestOTPRequestEvent = { tags: collectionTags(collection), collection, request: requestInfo(req), email };
    return runHooked(app, reply, app.hooks.onRecordRequestOTPRequest, e, async (ev) => ({
      status: 200,
      body: { otpId: app.auth.otp.request(collection, String(ev.email)) },
    }));
  });

  server.post('/api/collections/:collection/auth-with-otp', async (req, reply) => {
    const collection = authCollection(app, req);
    await server.rateLimiter.checkTag(req, collection.name, 'authWithOTP');
    if (!collection.otp.enabled) throw AppError.forbidden('The collection is not configured to allow OTP authentication.');
    const { otpId, password } = readStrings(req, { otpId: { max: 255 }, password: { max: 71 } });
    const e: RecordAuthWithOTPRequestEvent = { tags: collectionTags(collection), collection, request: requestInfo(req), otpId };
    return runHooked(app, reply, app.hooks.onRecordAuthWithOTPRequest, e, async (ev) => {
      const record = await app.auth.otp.consume(collection, String(ev.otpId), password);
      ev.record = record;
      return authResponse(app, req, collection, record, { method: 'otp' });
    });
  });
}
