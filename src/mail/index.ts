/** Outgoing mail: the SMTP client and the logic-less templates of the auth flows. */
export { Mailer, MailError, MailNotConfiguredError, smtpConnection, type MailMessage } from './mailer.js';
export { renderTemplate, escapeHtml, htmlToText, type RenderedMail, type TemplateVars } from './templates.js';
export { renderRecordMail, RECORD_MAIL_KINDS, type RecordMailKind } from './record-mails.js';
