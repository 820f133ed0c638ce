/**
 * The OAuth2/OIDC providers Plinth knows: a generic OIDC one (`oidc`, `oidc2`, `oidc3`) and Google,
 * GitHub, GitLab, Discord, Microsoft and Apple, with PocketBase's names and default endpoints. Every
 * endpoint can be overridden in the collection's provider config (self-hosted GitLab, a tenant-specific
 * Microsoft URL, tests). Each provider maps its user payload to one shape, including whether the
 * provider vouches for the email: only such emails may ever link to an existing local account.
 */
import { verifyIdToken } from './oidc.js';
import { fetchJson, fetchObject, ProviderError, str } from './provider-http.js';

/** A provider entry of `collection.oauth2.providers`. */
export interface ProviderConfig {
  name: string;
  clientId: string;
  clientSecret: string;
  authURL: string;
  tokenURL: string;
  userInfoURL: string;
  displayName: string;
  pkce: boolean | null;
  extra: Record<string, unknown> | null;
}

/** The token endpoint's answer. */
export interface ProviderToken {
  accessToken: string;
  refreshToken: string;
  expiry: string;
  idToken: string;
}

/** The provider's user, normalised. `emailVerified` is true only when the provider says so. */
export interface ProviderUser {
  id: string;
  name: string;
  username: string;
  email: string;
  emailVerified: boolean;
  avatarURL: string;
  rawUser: Record<string, unknown>;
}

/** What a provider's user mapper gets. */
interface UserContext {
  config: ProviderConfig;
  urls: { authURL: string; tokenURL: string; userInfoURL: string };
  token: ProviderToken;
  /** The nonce sent with the authorization request (OIDC providers with PKCE). */
  nonce: string | undefined;
}

/** A provider's defaults and user mapping. */
export interface ProviderDefinition {
  displayName: string;
  authURL: string;
  tokenURL: string;
  userInfoURL: string;
  scopes: string[];
  pkce: boolean;
  /** OIDC providers get a nonce in the authorization URL and have their ID token checked. */
  oidc: boolean;
  authParams?: Record<string, string>;
  user(ctx: UserContext): Promise<ProviderUser>;
}

function bearer(token: ProviderToken, extra: Record<string, string> = {}): RequestInit & { label: string } {
  return { method: 'GET', headers: { Authorization: `Bearer ${token.accessToken}`, Accept: 'application/json', ...extra }, label: 'userinfo' };
}

function verifiedFlag(v: unknown): boolean {
  return v === true || v === 'true';
}

function extraString(config: ProviderConfig, key: string): string {
  const v = config.extra?.[key];
  return typeof v === 'string' ? v : '';
}

function extraIssuers(config: ProviderConfig, fallback: string[]): string[] {
  const v = config.extra?.issuers ?? config.extra?.issuer;
  if (typeof v === 'string' && v) return [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string' && x !== '');
  return fallback;
}

/** The standard OIDC claims → user. */
function fromOidcClaims(c: Record<string, unknown>): ProviderUser {
  return {
    id: str(c, 'sub'),
    name: str(c, 'name'),
    username: str(c, 'preferred_username'),
    email: str(c, 'email'),
    emailVerified: verifiedFlag(c.email_verified),
    avatarURL: str(c, 'picture'),
    rawUser: c,
  };
}

/** Generic OIDC: the userinfo endpoint, and the ID token whenever a JWKS URL is configured (required without userinfo). */
async function oidcUser(ctx: UserContext, jwksDefault = '', issuersDefault: string[] = []): Promise<ProviderUser> {
  const jwksURL = extraString(ctx.config, 'jwksURL') || jwksDefault;
  let idClaims: Record<string, unknown> | null = null;
  if (jwksURL && (ctx.token.idToken || !ctx.urls.userInfoURL)) {
    idClaims = await verifyIdToken(ctx.token.idToken, {
      jwksURL,
      issuers: extraIssuers(ctx.config, issuersDefault),
      clientId: ctx.config.clientId,
      ...(ctx.nonce !== undefined ? { nonce: ctx.nonce } : {}),
    });
  }
  if (!ctx.urls.userInfoURL) {
    if (!idClaims) throw new ProviderError('oidc: neither a userinfo URL nor a JWKS URL is configured');
    return fromOidcClaims(idClaims);
  }
  const info = await fetchObject(ctx.urls.userInfoURL, bearer(ctx.token));
  // OIDC Core §5.3.2: the userinfo `sub` must be the ID token's.
  if (idClaims && str(info, 'sub') !== str(idClaims, 'sub')) throw new ProviderError('oidc: userinfo sub differs from the id_token sub');
  return fromOidcClaims(info);
}

const oidc: ProviderDefinition = {
  displayName: 'OpenID Connect',
  authURL: '',
  tokenURL: '',
  userInfoURL: '',
  scopes: ['openid', 'email', 'profile'],
  pkce: true,
  oidc: true,
  user: (ctx) => oidcUser(ctx),
};

/** Every known provider by PocketBase's name. */
export const PROVIDERS: Readonly<Record<string, ProviderDefinition>> = {
  oidc,
  oidc2: oidc,
  oidc3: oidc,
  google: {
    displayName: 'Google',
    authURL: 'https://accounts.google.com/o/oauth2/v2/auth',
    tokenURL: 'https://oauth2.googleapis.com/token',
    userInfoURL: 'https://www.googleapis.com/oauth2/v3/userinfo',
    scopes: ['openid', 'https://www.googleapis.com/auth/userinfo.profile', 'https://www.googleapis.com/auth/userinfo.email'],
    pkce: true,
    oidc: true,
    user: (ctx) => oidcUser(ctx),
  },
  github: {
    displayName: 'GitHub',
    authURL: 'https://github.com/login/oauth/authorize',
    tokenURL: 'https://github.com/login/oauth/access_token',
    userInfoURL: 'https://api.github.com/user',
    scopes: ['read:user', 'user:email'],
    pkce: true,
    oidc: false,
    async user(ctx) {
      const raw = await fetchObject(ctx.urls.userInfoURL, bearer(ctx.token, { Accept: 'application/vnd.github+json' }));
      let email = '';
      let emailVerified = false;
      // The profile's public email says nothing about verification; the emails API does.
      const emails = await fetchEmails(`${ctx.urls.userInfoURL.replace(/\/+$/, '')}/emails`, ctx.token);
      const primary = emails.find((e) => e.primary && e.verified);
      if (primary) {
        email = primary.email;
        emailVerified = true;
      } else {
        email = str(raw, 'email');
      }
      return { id: str(raw, 'id'), name: str(raw, 'name'), username: str(raw, 'login'), email, emailVerified, avatarURL: str(raw, 'avatar_url'), rawUser: raw };
    },
  },
  gitlab: {
    displayName: 'GitLab',
    authURL: 'https://gitlab.com/oauth/authorize',
    tokenURL: 'https://gitlab.com/oauth/token',
    userInfoURL: 'https://gitlab.com/api/v4/user',
    scopes: ['read_user'],
    pkce: true,
    oidc: false,
    async user(ctx) {
      const raw = await fetchObject(ctx.urls.userInfoURL, bearer(ctx.token));
      return {
        id: str(raw, 'id'),
        name: str(raw, 'name'),
        username: str(raw, 'username'),
        email: str(raw, 'email'),
        // GitLab only makes an address primary once it is confirmed; `confirmed_at` states it.
        emailVerified: str(raw, 'confirmed_at') !== '',
        avatarURL: str(raw, 'avatar_url'),
        rawUser: raw,
      };
    },
  },
  discord: {
    displayName: 'Discord',
    authURL: 'https://discord.com/api/oauth2/authorize',
    tokenURL: 'https://discord.com/api/oauth2/token',
    userInfoURL: 'https://discord.com/api/users/@me',
    scopes: ['identify', 'email'],
    pkce: true,
    oidc: false,
    async user(ctx) {
      const raw = await fetchObject(ctx.urls.userInfoURL, bearer(ctx.token));
      const id = str(raw, 'id');
      const avatar = str(raw, 'avatar');
      return {
        id,
        name: str(raw, 'global_name') || str(raw, 'username'),
        username: str(raw, 'username'),
        email: str(raw, 'email'),
        emailVerified: verifiedFlag(raw.verified),
        avatarURL: id && /^[a-zA-Z0-9_]+$/.test(avatar) ? `https://cdn.discordapp.com/avatars/${id}/${avatar}.png` : '',
        rawUser: raw,
      };
    },
  },
  microsoft: {
    displayName: 'Microsoft',
    authURL: 'https://login.microsoftonline.com/common/oauth2/v2.0/authorize',
    tokenURL: 'https://login.microsoftonline.com/common/oauth2/v2.0/token',
    userInfoURL: 'https://graph.microsoft.com/v1.0/me',
    scopes: ['User.Read'],
    pkce: true,
    oidc: false,
    async user(ctx) {
      const raw = await fetchObject(ctx.urls.userInfoURL, bearer(ctx.token));
      return {
        id: str(raw, 'id'),
        name: str(raw, 'displayName'),
        username: '',
        email: str(raw, 'mail'),
        // Entra ID lets tenant admins set `mail` to any address ("nOAuth"): never trust it for linking.
        emailVerified: false,
        avatarURL: '',
        rawUser: raw,
      };
    },
  },
  apple: {
    displayName: 'Apple',
    authURL: 'https://appleid.apple.com/auth/authorize',
    tokenURL: 'https://appleid.apple.com/auth/token',
    userInfoURL: '',
    scopes: ['name', 'email'],
    pkce: true,
    oidc: true,
    // Apple posts the answer back when name/email scopes are asked for.
    authParams: { response_mode: 'form_post' },
    user: (ctx) => oidcUser(ctx, 'https://appleid.apple.com/auth/keys', ['https://appleid.apple.com']),
  },
};

interface GithubEmail {
  email: string;
  primary: boolean;
  verified: boolean;
}

async function fetchEmails(url: string, token: ProviderToken): Promise<GithubEmail[]> {
  try {
    const value = await fetchJson(url, bearer(token, { Accept: 'application/vnd.github+json' }));
    if (!Array.isArray(value)) return [];
    return value
      .filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null)
      .map((e) => ({ email: str(e, 'email'), primary: e.primary === true, verified: e.verified === true }))
      .filter((e) => e.email !== '');
  } catch {
    return [];
  }
}

/** The definition of a provider name, or undefined for names Plinth does not know. */
export function providerDefinition(name: string): ProviderDefinition | undefined {
  return Object.hasOwn(PROVIDERS, name) ? PROVIDERS[name] : undefined;
}

/** A config entry's effective endpoints (overrides win over the defaults). */
export function providerURLs(config: ProviderConfig, def: ProviderDefinition): { authURL: string; tokenURL: string; userInfoURL: string } {
  return {
    authURL: config.authURL || def.authURL,
    tokenURL: config.tokenURL || def.tokenURL,
    userInfoURL: config.userInfoURL || def.userInfoURL,
  };
}

/** Whether PKCE is used: the config's explicit choice, else the provider's default. */
export function usesPkce(config: ProviderConfig, def: ProviderDefinition): boolean {
  return config.pkce ?? def.pkce;
}

/** Reads a stored provider entry into a typed config (missing members become empty). */
export function toProviderConfig(raw: Record<string, unknown>): ProviderConfig {
  const s = (k: string) => (typeof raw[k] === 'string' ? (raw[k] as string) : '');
  const extra = raw.extra;
  return {
    name: s('name'),
    clientId: s('clientId'),
    clientSecret: s('clientSecret'),
    authURL: s('authURL'),
    tokenURL: s('tokenURL'),
    userInfoURL: s('userInfoURL'),
    displayName: s('displayName'),
    pkce: typeof raw.pkce === 'boolean' ? raw.pkce : null,
    extra: typeof extra === 'object' && extra !== null && !Array.isArray(extra) ? (extra as Record<string, unknown>) : null,
  };
}

/** The built-in providers as `GET /api/collections/meta/oauth2-providers` lists them (PocketBase's shape). */
export function builtinProviders(): Array<{ name: string; displayName: string; authURL: string; tokenURL: string; userInfoURL: string; pkce: boolean }> {
  return Object.entries(PROVIDERS).map(([name, d]) => ({
    name,
    displayName: d.displayName,
    authURL: d.authURL,
    tokenURL: d.tokenURL,
    userInfoURL: d.userInfoURL,
    pkce: d.pkce,
  }));
}
