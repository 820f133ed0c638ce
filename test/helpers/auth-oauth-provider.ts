/**
 * A real OAuth2/OIDC provider for the tests (npm `oauth2-mock-server`) on 127.0.0.1:<ephemeral port>,
 * with RS256 keys, PKCE checking and nonce echo, plus knobs to make it answer garbage. Also a tiny raw
 * HTTP "provider" that answers whatever a test tells it to (non-JSON, huge bodies, …).
 */
import http from 'node:http';
import { OAuth2Server } from 'oauth2-mock-server';
import type { TestServer } from './server.js';

/** The identity the mock provider reports next, and how it misbehaves. */
export interface MockIdentity {
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  preferred_username?: string;
  picture?: string;
}

/** The running provider. */
export interface OidcProvider {
  issuer: string;
  /** Who signs in next (userinfo and ID token). */
  user: MockIdentity;
  /** Replaces the userinfo answer (status and body) while set. */
  userinfoOverride: { statusCode: number; body: unknown } | null;
  /** Replaces the token endpoint answer while set. */
  tokenOverride: { statusCode: number; body: unknown } | null;
  /** Extra/overridden ID token claims while set (e.g. a wrong nonce or audience). */
  idTokenClaims: Record<string, unknown> | null;
  /** The provider entry for a collection's `oauth2.providers`. */
  config(name?: string): Record<string, unknown>;
  /** Runs the authorization request the browser would make; returns the code the redirect carries. */
  authorize(authURL: string, redirectURL: string): Promise<{ code: string; state: string }>;
  close(): Promise<void>;
}

/** Starts oauth2-mock-server with the knobs above. */
export async function startOidcProvider(): Promise<OidcProvider> {
  const server = new OAuth2Server();
  await server.issuer.keys.generate('RS256');
  await server.start(0, '127.0.0.1');
  const port = (server.address() as { port: number }).port;
  const issuer = `http://127.0.0.1:${port}`;
  server.issuer.url = issuer;
  const p: OidcProvider = {
    issuer,
    user: { sub: 'johndoe' },
    userinfoOverride: null,
    tokenOverride: null,
    idTokenClaims: null,
    config: (name = 'oidc') => ({
      name,
      clientId: 'plinth-client',
      clientSecret: 'plinth-secret',
      authURL: `${issuer}/authorize`,
      tokenURL: `${issuer}/token`,
      userInfoURL: `${issuer}/userinfo`,
      displayName: 'Mock OIDC',
      pkce: true,
      extra: { jwksURL: `${issuer}/jwks`, issuers: [issuer] },
    }),
    async authorize(authURL, redirectURL) {
      const res = await fetch(authURL + redirectURL, { redirect: 'manual' });
      const location = new URL(res.headers.get('location') ?? '');
      return { code: location.searchParams.get('code') ?? '', state: location.searchParams.get('state') ?? '' };
    },
    close: () => server.stop(),
  };
  server.service.on('beforeUserinfo', (response: { statusCode: number; body: unknown }) => {
    if (p.userinfoOverride) {
      response.statusCode = p.userinfoOverride.statusCode;
      response.body = p.userinfoOverride.body;
      return;
    }
    response.body = { ...p.user };
  });
  server.service.on('beforeTokenSigning', (token: { payload: Record<string, unknown> }) => {
    if (token.payload.aud === 'plinth-client' || token.payload.nonce !== undefined) {
      Object.assign(token.payload, { sub: p.user.sub, email: p.user.email, email_verified: p.user.email_verified }, p.idTokenClaims ?? {});
    }
  });
  server.service.on('beforeResponse', (response: { statusCode: number; body: unknown }) => {
    if (p.tokenOverride) {
      response.statusCode = p.tokenOverride.statusCode;
      response.body = p.tokenOverride.body;
    }
  });
  return p;
}

/** A bare HTTP server answering every request with `respond()` (for garbage a real provider never sends). */
export async function startRawProvider(
  respond: () => { status: number; type: string; body: string | Buffer },
): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    const r = respond();
    res.writeHead(r.status, { 'content-type': r.type });
    res.end(r.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Enables OAuth2 on a collection with the given provider entries. */
export async function enableOAuth2(s: TestServer, collection: string, providers: Array<Record<string, unknown>>): Promise<void> {
  await s.admin.collections.update(collection, { oauth2: { enabled: true, providers } });
}
