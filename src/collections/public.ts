/** A collection as clients (and migration files) see it: token secrets and OAuth2 client secrets removed. */
import type { Collection } from './model.js';

const TOKEN_KEYS = ['authToken', 'passwordResetToken', 'emailChangeToken', 'verificationToken', 'fileToken'] as const;

export function publicCollection(c: Collection): Record<string, unknown> {
  const out = structuredClone(c) as unknown as Record<string, unknown>;
  for (const key of TOKEN_KEYS) {
    const cfg = out[key] as Record<string, unknown> | undefined;
    if (cfg) delete cfg.secret;
  }
  const oauth2 = out.oauth2 as { providers?: Array<Record<string, unknown>> } | undefined;
  for (const p of oauth2?.providers ?? []) delete p.clientSecret;
  return out;
}
