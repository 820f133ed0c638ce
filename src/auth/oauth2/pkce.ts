/**
 * PKCE (RFC 7636, S256 only) and the OIDC nonce. The nonce is derived from the code verifier, so it binds
 * the ID token to the same client that holds the verifier without any server-side state: the verifier is
 * only ever sent to the token endpoint, the nonce only to the authorization endpoint.
 */
import { createHash } from 'node:crypto';
import { randomString } from '../../util/random.js';

const VERIFIER_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~';

/** A new code verifier (43 characters of the RFC's unreserved set, about 258 bits). */
export function newCodeVerifier(): string {
  return randomString(43, VERIFIER_ALPHABET);
}

/** The S256 challenge of a verifier. */
export function s256Challenge(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

/** The OIDC nonce that goes with a verifier. */
export function nonceFor(verifier: string): string {
  return createHash('sha256').update(`plinth-oidc-nonce:${verifier}`).digest('base64url');
}

/** Whether a client-supplied verifier has the RFC's shape (43–128 unreserved characters). */
export function isCodeVerifier(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9\-._~]{43,128}$/.test(value);
}
