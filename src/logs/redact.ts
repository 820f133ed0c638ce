/**
 * What a request log may keep of a URL: the path, and query values except secrets. Any query key that
 * looks like a credential (token, password, secret, key, code, otp, …) has its value replaced by `***`.
 * Headers and bodies are never logged at all.
 */

import { redactQuery } from '../util/mask-url.js';

const SECRET_KEY_RE = /token|pass|secret|key|code|otp|auth|signature|sig$|credential|session/i;
const MAX_URL_LENGTH = 2000;

export function isSecretQueryKey(key: string): boolean {
  return SECRET_KEY_RE.test(key);
}

/** `/path?a=1&token=abc` → `/path?a=1&token=***` (bounded length). */
export function redactUrl(rawUrl: string): string {
  const q = rawUrl.indexOf('?');
  if (q < 0) return rawUrl.slice(0, MAX_URL_LENGTH);
  return `${rawUrl.slice(0, q)}?${redactQuery(rawUrl.slice(q + 1), isSecretQueryKey)}`.slice(0, MAX_URL_LENGTH);
}
