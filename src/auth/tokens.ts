/**
 * PocketBase-compatible tokens: HS256 JWTs whose signing key is the record's `tokenKey` plus the
 * collection's per-token-type secret, so rotating either invalidates every token signed with it.
 * Claims for auth tokens: {id, type: "auth", collectionId, refreshable, exp}.
 */
import type { AuthCollection } from '../collections/model.js';

/** Loaded on first use, keeping an idle server's memory down. */
let josePromise: Promise<typeof import('jose')> | null = null;
function loadJose() {
  josePromise ??= import('jose');
  return josePromise;
}

/** PocketBase's token types; each has its own secret and lifetime in the collection options. */
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

/** What to sign. */
export interface IssueOptions {
  type: TokenType;
  /** Seconds; defaults to the collection's configured duration for the type. */
  duration?: number;
  refreshable?: boolean;
  extra?: Record<string, unknown>;
}

/** Signs a token of `opts.type` for the record (HS256, key = tokenKey + the collection's secret for the type). */
export async function issueToken(collection: AuthCollection, record: { id: string; tokenKey: string }, opts: IssueOptions): Promise<string> {
  if (typeof record.tokenKey !== 'string' || record.tokenKey.length < 10) throw new Error('cannot sign a token for a record without a token key');
  const duration = opts.duration && opts.duration > 0 ? opts.duration : (collection[CONFIG_KEY[opts.type]]?.duration ?? 3600);
  // The identifying claims come last so `extra` can never overwrite them.
  const claims: Record<string, unknown> = { ...opts.extra, id: record.id, type: opts.type, collectionId: collection.id };
  if (opts.type === 'auth') claims.refreshable = opts.refreshable ?? true;
  const { SignJWT } = await loadJose();
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setExpirationTime(Math.floor(Date.now() / 1000) + duration)
    .sign(signingKey(collection, record.tokenKey, opts.type));
}

/** Every unverified claim of a JWT-shaped token, or null (only to read what verification then checks). */
export function unverifiedClaims(token: string): Record<string, unknown> | null {
  if (typeof token !== 'string' || token.length > 4096) return null;
  try {
    const parts = token.split('.');
    if (parts.length !== 3) return null;
    const c = JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8')) as unknown;
    return typeof c === 'object' && c !== null && !Array.isArray(c) ? (c as Record<string, unknown>) : null;
  } catch {
    return null;
  }
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
  // A record without a token key (the CLI's synthetic superuser) can neither sign nor verify tokens.
  if (typeof record.tokenKey !== 'string' || record.tokenKey.length < 10) return null;
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
