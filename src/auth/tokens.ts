/**
 * PocketBase-compatible tokens: HS256 JWTs whose signing key is the record's `tokenKey` plus the
 * collection's per-token-type secret, so rotating either invalidates every token signed with it.
 * Claims for auth tokens: {id, type: "auth", collectionId, refreshable, exp}.
 */

/** Loaded on first use, keeping an idle server's memory down. */
let josePromise: Promise<typeof import('jose')> | null = null;
function loadJose() {
  josePromise ??= import('jose');
  return josePromise;
}
import type { AuthCollection } from '../collections/model.js';

export type TokenType = 'auth' | 'file' | 'verification' | 'passwordReset' | 'emailChange';

const CONFIG_KEY: Record<TokenType, keyof Pick<AuthCollection, 'authToken' | 'fileToken' | 'verificationToken' | 'passwordResetToken' | 'emailChangeToken'>> = {
  auth: 'authToken',
  file: 'fileToken',
  verification: 'verificationToken',
  passwordReset: 'passwordResetToken',
  emailChange: 'emailChangeToken',
};

const encoder = new TextEncoder();

function signingKey(collection: AuthCollection, tokenKey: string, type: TokenType): Uint8Array {
  const secret = collection[CONFIG_KEY[type]]?.secret ?? '';
  return encoder.encode(`${tokenKey}${secret}`);
}

export interface IssueOptions {
  type: TokenType;
  /** Seconds; defaults to the collection's configured duration for the type. */
  duration?: number;
  refreshable?: boolean;
  extra?: Record<string, unknown>;
}

export async function issueToken(collection: AuthCollection, record: { id: string; tokenKey: string }, opts: IssueOptions): Promise<string> {
  const duration = opts.duration && opts.duration > 0 ? opts.duration : collection[CONFIG_KEY[opts.type]]?.duration ?? 3600;
  const claims: Record<string, unknown> = { id: record.id, type: opts.type, collectionId: collection.id, ...opts.extra };
  if (opts.type === 'auth') claims.refreshable = opts.refreshable ?? true;
  const { SignJWT } = await loadJose();
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setExpirationTime(Math.floor(Date.now() / 1000) + duration)
    .sign(signingKey(collection, record.tokenKey, opts.type));
}

/** The unverified claims, or null if the token is not a well-formed JWT (used to find the record and key). */
export function peekClaims(token: string): { id: string; type: string; collectionId: string } | null {
  if (typeof token !== 'string' || token.length > 4096) return null;
  try {
    const parts = token.split('.');
    if (parts.length !== 3) return null;
    const c = JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (typeof c !== 'object' || c === null) return null;
    if (typeof c.id !== 'string' || typeof c.type !== 'string' || typeof c.collectionId !== 'string') return null;
    return { id: c.id, type: c.type, collectionId: c.collectionId };
  } catch {
    return null;
  }
}

/** Verifies signature (HS256 only), expiry and type. Returns the claims or null. */
export async function verifyToken(
  token: string,
  collection: AuthCollection,
  record: { tokenKey: string },
  type: TokenType,
): Promise<Record<string, unknown> | null> {
  const { jwtVerify } = await loadJose();
  try {
    const { payload } = await jwtVerify(token, signingKey(collection, record.tokenKey, type), { algorithms: ['HS256'] });
    if (payload.type !== type || payload.collectionId !== collection.id) return null;
    if (typeof payload.exp !== 'number') return null;
    return payload as Record<string, unknown>;
  } catch {
    return null;
  }
}
