/**
 * OpenID Connect ID tokens: verified against the provider's JWKS with asymmetric algorithms only (no
 * `none`, no HMAC: the RS/HS confusion), and the issuer, audience (our client id), expiry and nonce
 * checked. Header members such as `jku`/`x5u` are never followed: keys come from the configured URL only.
 */
import { ProviderError } from './provider-http.js';

let josePromise: Promise<typeof import('jose')> | null = null;
function loadJose() {
  josePromise ??= import('jose');
  return josePromise;
}

type KeySet = ReturnType<typeof import('jose').createRemoteJWKSet>;
/** One remote key set per JWKS URL, so keys are cached between logins. */
const keySets = new Map<string, KeySet>();

const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/** What an ID token must satisfy. */
export interface IdTokenCheck {
  jwksURL: string;
  issuers: string[];
  clientId: string;
  /** Required when set: the token's `nonce` claim must equal it. */
  nonce?: string;
}

/** The verified claims of an ID token; throws ProviderError for anything invalid. */
export async function verifyIdToken(idToken: unknown, check: IdTokenCheck): Promise<Record<string, unknown>> {
  if (typeof idToken !== 'string' || idToken === '' || idToken.length > 16_384) throw new ProviderError('id_token: missing');
  if (!check.jwksURL) throw new ProviderError('id_token: no JWKS URL configured');
  if (check.issuers.length === 0) throw new ProviderError('id_token: no issuer configured');
  const { createRemoteJWKSet, jwtVerify } = await loadJose();
  let keys = keySets.get(check.jwksURL);
  if (!keys) {
    keys = createRemoteJWKSet(new URL(check.jwksURL), { timeoutDuration: 10_000, cooldownDuration: 30_000 });
    if (keySets.size > 100) keySets.clear();
    keySets.set(check.jwksURL, keys);
  }
  try {
    const { payload } = await jwtVerify(idToken, keys, {
      algorithms: ALGORITHMS,
      issuer: check.issuers,
      audience: check.clientId,
      requiredClaims: ['sub', 'exp'],
    });
    if (check.nonce !== undefined && payload.nonce !== check.nonce) throw new ProviderError('id_token: nonce mismatch');
    return payload as Record<string, unknown>;
  } catch (err) {
    if (err instanceof ProviderError) throw err;
    throw new ProviderError(`id_token: ${(err as Error).message}`);
  }
}
