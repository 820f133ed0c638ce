/** `url`: a single URL string, zero value `''`, optional allowed/blocked hosts. */
import { fieldError } from '../../errors/index.js';
import type { UrlField } from '../model.js';
import { domainAllowed, domainFieldType } from './domains.js';

const MAX_URL_LENGTH = 2083;
const SCHEMES = new Set(['http:', 'https:', 'ftp:', 'ws:', 'wss:', 'tcp:', 'udp:']);
const HOST_LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/i;
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

function validHostname(hostname: string): boolean {
  if (hostname.startsWith('[') && hostname.endsWith(']')) return true; // IPv6, already checked by URL
  if (IPV4.test(hostname)) return hostname.split('.').every((p) => Number(p) <= 255);
  if (hostname.length === 0 || hostname.length > 253) return false;
  return hostname.split('.').every((label) => HOST_LABEL.test(label));
}

/** The parsed URL when `value` is a valid URL (a scheme-less value is read as http://, like govalidator), else null. */
export function parseUrl(value: string): URL | null {
  if (value.length > MAX_URL_LENGTH || /[\s\u0000-\u001f\u007f]/.test(value)) return null;
  const candidate = value.includes('://') ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return null;
  }
  if (!SCHEMES.has(url.protocol) || !validHostname(url.hostname)) return null;
  return url;
}

/** The `url` field type. */
export const urlFieldType = domainFieldType<UrlField>('url', (value, field) => {
  const url = parseUrl(value);
  if (!url) return fieldError('validation_invalid_url', 'Must be a valid url.');
  // PocketBase compares the URL's host (including a port, if any).
  if (!domainAllowed(field, url.host)) return fieldError('validation_url_domain_not_allowed', 'Url domain is not allowed.');
  return null;
});
