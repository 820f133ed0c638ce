/**
 * The two halves of the authorization-code flow the server takes part in: building the provider entries
 * of `auth-methods` (authorization URL with state, PKCE S256 challenge and, for OIDC, a nonce), and
 * exchanging a code for the provider's user.
 */
import { randomString } from '../../util/random.js';
import { isCodeVerifier, newCodeVerifier, nonceFor, s256Challenge } from './pkce.js';
import { fetchObject, ProviderError, str } from './provider-http.js';
import { providerDefinition, providerURLs, usesPkce, type ProviderConfig, type ProviderToken, type ProviderUser } from './providers.js';

/** One provider as `auth-methods` lists it (PocketBase's providerInfo, `authUrl` being the legacy alias). */
export interface ProviderInfo {
  name: string;
  displayName: string;
  state: string;
  authURL: string;
  authUrl: string;
  codeVerifier: string;
  codeChallenge: string;
  codeChallengeMethod: string;
  /** PocketBase ≥ 0.37 inlines each provider's logo as an SVG string; Plinth ships a neutral badge with the initial. */
  logo: string;
}

/** A small neutral SVG badge with the provider's initial (Plinth ships no brand artwork). */
function providerLogo(displayName: string): string {
  const initial = (displayName.trim()[0] ?? '?').toUpperCase().replace(/[^A-Z0-9]/, '?');
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="24" height="24"><rect width="24" height="24" rx="5" fill="#555"/><text x="12" y="16.5" font-family="sans-serif" font-size="13" font-weight="bold" text-anchor="middle" fill="#fff">${initial}</text></svg>`;
}

/** The auth-methods entry of a configured provider, or null when Plinth cannot use it. */
export function providerInfo(config: ProviderConfig): ProviderInfo | null {
  const def = providerDefinition(config.name);
  if (!def || !config.clientId) return null;
  const urls = providerURLs(config, def);
  let url: URL;
  try {
    url = new URL(urls.authURL);
  } catch {
    return null;
  }
  const state = randomString(30);
  const params: Record<string, string> = { client_id: config.clientId, response_type: 'code', scope: def.scopes.join(' '), state, ...def.authParams };
  let codeVerifier = '';
  let codeChallenge = '';
  let codeChallengeMethod = '';
  if (usesPkce(config, def)) {
    codeVerifier = newCodeVerifier();
    codeChallenge = s256Challenge(codeVerifier);
    codeChallengeMethod = 'S256';
    params.code_challenge = codeChallenge;
    params.code_challenge_method = codeChallengeMethod;
    if (def.oidc) params.nonce = nonceFor(codeVerifier);
  }
  for (const key of Object.keys(params).sort()) url.searchParams.set(key, params[key] as string);
  // An empty redirect_uri last, so the client appends its own redirect URL (PocketBase's contract).
  const authURL = `${url.toString()}&redirect_uri=`;
  const displayName = config.displayName || def.displayName;
  return {
    name: config.name,
    displayName,
    state,
    authURL,
    authUrl: authURL,
    codeVerifier,
    codeChallenge,
    codeChallengeMethod,
    logo: providerLogo(displayName),
  };
}

/** The code exchange's input as the client sent it. */
export interface CodeExchange {
  code: string;
  codeVerifier: string;
  redirectURL: string;
}

/** Exchanges the code (with the PKCE verifier) and fetches the provider's user; ProviderError on any failure. */
export async function exchangeCode(config: ProviderConfig, input: CodeExchange): Promise<{ token: ProviderToken; user: ProviderUser }> {
  const def = providerDefinition(config.name);
  if (!def) throw new ProviderError(`unknown provider ${config.name}`);
  const urls = providerURLs(config, def);
  const pkce = usesPkce(config, def);
  if (pkce && !isCodeVerifier(input.codeVerifier)) throw new ProviderError('a PKCE code verifier is required', 'token');
  const form = new URLSearchParams({
    grant_type: 'authorization_code',
    code: input.code,
    redirect_uri: input.redirectURL,
    client_id: config.clientId,
    client_secret: config.clientSecret,
  });
  if (pkce) form.set('code_verifier', input.codeVerifier);
  let body: Record<string, unknown>;
  try {
    body = await fetchObject(urls.tokenURL, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: form.toString(),
      label: 'token',
    });
  } catch (err) {
    throw new ProviderError((err as Error).message, 'token');
  }
  const accessToken = str(body, 'access_token');
  if (accessToken === '') throw new ProviderError('token: no access_token', 'token');
  const expiresIn = typeof body.expires_in === 'number' && Number.isFinite(body.expires_in) ? body.expires_in : Number(str(body, 'expires_in')) || 0;
  const token: ProviderToken = {
    accessToken,
    refreshToken: str(body, 'refresh_token'),
    expiry: expiresIn > 0 ? new Date(Date.now() + expiresIn * 1000).toISOString() : '',
    idToken: str(body, 'id_token'),
  };
  const user = await def.user({ config, urls, token, nonce: pkce && def.oidc ? nonceFor(input.codeVerifier) : undefined });
  // An answer without a stable subject must never become "some user" (the Supabase "U0" bug).
  if (typeof user.id !== 'string' || user.id.trim() === '' || user.id.length > 255) throw new ProviderError('the provider user has no id');
  if (user.email !== '' && !/^[^\s@]+@[^\s@]+$/.test(user.email)) {
    user.email = '';
    user.emailVerified = false;
  }
  return { token, user };
}
