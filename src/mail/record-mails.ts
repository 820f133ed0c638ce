/**
 * The five mails an auth record can receive (verification, password reset, email change, OTP, login
 * alert), rendered from the collection's editable templates with the app's name and URL.
 */
import type { AuthCollection, EmailTemplate } from '../collections/model.js';
import type { Settings } from '../settings/index.js';
import { renderTemplate, type RenderedMail, type TemplateVars } from './templates.js';

/** The template names `POST /api/settings/test/email` accepts, as PocketBase spells them. */
export const RECORD_MAIL_KINDS = ['verification', 'password-reset', 'email-change', 'otp', 'login-alert'] as const;
/** One of the record mail names. */
export type RecordMailKind = (typeof RECORD_MAIL_KINDS)[number];

function templateOf(kind: RecordMailKind, c: AuthCollection): EmailTemplate {
  switch (kind) {
    case 'verification':
      return c.verificationTemplate;
    case 'password-reset':
      return c.resetPasswordTemplate;
    case 'email-change':
      return c.confirmEmailChangeTemplate;
    case 'otp':
      return c.otp.emailTemplate;
    case 'login-alert':
      return c.authAlert.emailTemplate;
  }
}

/** The record values `{RECORD:field}` may show: never passwords, the token key or hidden fields. */
function mailableFields(c: AuthCollection, record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of c.fields) {
    if (f.type === 'password' || f.hidden || f.name === 'tokenKey') continue;
    out[f.name] = record[f.name];
  }
  return out;
}

/** Renders one of the record mails; `extra` carries the flow's values (TOKEN, OTP, OTP_ID, ALERT_INFO). */
export function renderRecordMail(
  kind: RecordMailKind,
  collection: AuthCollection,
  record: Record<string, unknown>,
  settings: Settings,
  extra: Omit<TemplateVars, 'record' | 'APP_NAME' | 'APP_URL'> = {},
): RenderedMail {
  const vars: TemplateVars = {
    ...extra,
    APP_NAME: settings.meta.appName,
    APP_URL: settings.meta.appURL.replace(/\/+$/, ''),
    record: mailableFields(collection, record),
  };
  return renderTemplate(templateOf(kind, collection), vars);
}
