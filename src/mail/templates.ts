/**
 * Logic-less email templates: `{PLACEHOLDER}` tokens replaced in one pass by HTML-escaped values. There is
 * no expression language, no loops, no includes, and a value is never re-scanned, so an admin-edited
 * template (or a user's name that contains `{TOKEN}` or `<script>`) can neither run code nor leak another
 * placeholder's value (threat model §1f: Strapi's lodash-template RCE).
 */
import type { EmailTemplate } from '../collections/model.js';

/** The placeholders PocketBase documents; `{RECORD:field}` resolves to one of the record's fields. */
export type TemplateVars = Partial<Record<'APP_NAME' | 'APP_URL' | 'TOKEN' | 'OTP' | 'OTP_ID' | 'ALERT_INFO', string>> & {
  /** Values for `{RECORD:<field>}` (already filtered to what may appear in a mail). */
  record?: Record<string, unknown>;
};

/** A rendered mail: subject, HTML body and its plain-text alternative. */
export interface RenderedMail {
  subject: string;
  html: string;
  text: string;
}

const PLACEHOLDER_RE = /\{(APP_NAME|APP_URL|TOKEN|OTP|OTP_ID|ALERT_INFO|RECORD:[A-Za-z0-9_]{1,255})\}/g;

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] as string);
}

function valueOf(name: string, vars: TemplateVars): string {
  if (name.startsWith('RECORD:')) {
    const v = vars.record?.[name.slice(7)];
    if (v === undefined || v === null) return '';
    return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
  }
  return vars[name as keyof Omit<TemplateVars, 'record'>] ?? '';
}

/** Replaces every known placeholder once; unknown `{…}` text is left as written. */
function fill(text: string, vars: TemplateVars, escape: (s: string) => string): string {
  return text.replace(PLACEHOLDER_RE, (_m, name: string) => escape(valueOf(name, vars)));
}

/** A plain-text alternative of the HTML body: tags dropped, links kept as their URLs, entities decoded. */
export function htmlToText(html: string): string {
  return html
    .replace(/<a\b[^>]*\bhref="([^"]*)"[^>]*>([\s\S]*?)<\/a>/gi, (_m, href: string, label: string) => `${label.replace(/<[^>]*>/g, '').trim()}: ${href}`)
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/(p|div|h\d|li)>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&(amp|lt|gt|quot|#39);/g, (_m, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e] as string)
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** Renders a template: the subject gets plain values (no newlines: header injection), the body escaped ones. */
export function renderTemplate(template: EmailTemplate, vars: TemplateVars): RenderedMail {
  const subject = fill(template.subject, vars, (s) => s)
    .replace(/[\r\n]+/g, ' ')
    .slice(0, 998);
  const html = fill(template.body, vars, escapeHtml);
  return { subject, html, text: htmlToText(html) };
}
