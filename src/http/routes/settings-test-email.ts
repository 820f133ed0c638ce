/**
 * POST /api/settings/test/email {email, template, collection?} (superusers): sends one of the record mails
 * with sample values through the configured SMTP server. 204, or 400 with the SMTP error.
 * `template` is one of verification, password-reset, email-change, otp, login-alert (PocketBase's names);
 * `collection` picks the auth collection whose template is used (default `_superusers`).
 */
import type { FastifyInstance } from 'fastify';
import type { App } from '../../app.js';
import { isEmailFormat } from '../../auth/lookup.js';
import { getFieldType } from '../../collections/fields/index.js';
import { AppError, fieldError, type FieldErrors } from '../../errors/index.js';
import { RECORD_MAIL_KINDS, renderRecordMail, type RecordMailKind } from '../../mail/index.js';
import { bodyOf, requireSuperuser } from './helpers.js';

/** Registers the test-email endpoint. */
export function registerTestEmailRoute(server: FastifyInstance, app: App): void {
  server.post('/api/settings/test/email', async (req, reply) => {
    requireSuperuser(req);
    const data = bodyOf(req).data;
    const errors: FieldErrors = {};
    if (!isEmailFormat(data.email)) errors.email = fieldError('validation_is_email', 'Must be a valid email address');
    if (typeof data.template !== 'string' || !(RECORD_MAIL_KINDS as readonly string[]).includes(data.template)) {
      errors.template = fieldError('validation_in_invalid', 'Must be a valid value');
    }
    const name = data.collection === undefined || data.collection === '' ? '_superusers' : data.collection;
    const collection = typeof name === 'string' ? app.collections.find(name) : undefined;
    if (!collection || collection.type !== 'auth') errors.collection = fieldError('validation_invalid_value', 'Must be an auth collection');
    if (Object.keys(errors).length || !collection || collection.type !== 'auth') {
      throw AppError.validation('An error occurred while validating the submitted data.', errors);
    }
    // A sample record: every field at its zero value, with the test address.
    const record: Record<string, unknown> = {};
    for (const f of collection.fields) record[f.name] = getFieldType(f.type).zeroValue(f as never);
    Object.assign(record, { id: 'RECORD_ID', email: data.email });
    const mail = renderRecordMail(data.template as RecordMailKind, collection, record, app.settings.get(), {
      TOKEN: 'TEST_TOKEN',
      OTP: '123456',
      OTP_ID: 'OTP_ID',
      ALERT_INFO: 'Test login alert (127.0.0.1)',
    });
    try {
      await app.mailer.send({ to: data.email as string, ...mail });
    } catch (err) {
      throw AppError.badRequest(`Failed to send the test email. Raw error: ${(err as Error).message.slice(0, 500)}`);
    }
    return reply.code(204).send();
  });
}
