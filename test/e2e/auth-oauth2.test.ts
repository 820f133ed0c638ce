/**
 * OAuth2/OIDC end to end against a real mock provider (oauth2-mock-server: RS256 ID tokens, PKCE S256,
 * nonce echo): auth-methods, the code flow through the SDK's authWithOAuth2Code, linking rules (never to
 * an unverified local account by email), providers answering garbage, and the /api/oauth2-redirect push
 * to a live realtime client (the SDK's all-in-one flow).
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { EventSource } from 'eventsource';
import { sql } from '../../src/db/sql.js';
import { enableOAuth2, startOidcProvider, startRawProvider, type OidcProvider } from '../helpers/auth-oauth-provider.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { login, postJson, signUp } from '../helpers/auth-http.js';

let s: TestServer;
let idp: OidcProvider;

const redirectURL = () => `${s.url}/api/oauth2-redirect`;

/** Runs the browser part and returns what the client then posts to auth-with-oauth2. */
async function codeFor(providerName = 'oidc'): Promise<{ code: string; codeVerifier: string }> {
  const methods = await s.client().collection('users').listAuthMethods();
  const p = methods.oauth2.providers.find((x) => x.name === providerName)!;
  const { code } = await idp.authorize(p.authURL, redirectURL());
  return { code, codeVerifier: p.codeVerifier };
}

async function signIn(createData?: Record<string, unknown>, token?: string) {
  const { code, codeVerifier } = await codeFor();
  return postJson(
    s,
    '/api/collections/users/auth-with-oauth2',
    { provider: 'oidc', code, codeVerifier, redirectURL: redirectURL(), ...(createData ? { createData } : {}) },
    token,
  );
}

async function linksOf(recordId: string) {
  return s.app.db.all<{ provider: string; providerId: string }>(sql`SELECT provider, "providerId" FROM "_externalAuths" WHERE "recordRef" = ${recordId}`);
}

describe('OAuth2 / OIDC', () => {
  before(async () => {
    idp = await startOidcProvider();
    s = await startServer();
    await enableOAuth2(s, 'users', [idp.config('oidc')]);
  });
  after(async () => {
    await s.close();
    await idp.close();
  });
  beforeEach(() => {
    idp.userinfoOverride = null;
    idp.tokenOverride = null;
    idp.idTokenClaims = null;
  });

  it('auth-methods lists the provider with state, PKCE S256 and an authURL ending in redirect_uri=', async () => {
    const methods = await s.client().collection('users').listAuthMethods();
    assert.equal(methods.oauth2.enabled, true);
    const [p] = methods.oauth2.providers;
    assert.ok(p);
    assert.equal(p.name, 'oidc');
    assert.equal(p.displayName, 'Mock OIDC');
    assert.equal(p.state.length, 30);
    assert.equal(p.codeChallengeMethod, 'S256');
    assert.equal(p.codeChallenge, createHash('sha256').update(p.codeVerifier).digest('base64url'));
    assert.ok(p.authURL.endsWith('&redirect_uri='));
    const url = new URL(p.authURL);
    assert.equal(url.searchParams.get('client_id'), 'plinth-client');
    assert.equal(url.searchParams.get('response_type'), 'code');
    assert.equal(url.searchParams.get('state'), p.state);
    assert.equal(url.searchParams.get('code_challenge'), p.codeChallenge);
    assert.equal(url.searchParams.get('scope'), 'openid email profile');
    assert.ok(url.searchParams.get('nonce'), 'OIDC providers get a nonce');
    const second = await s.client().collection('users').listAuthMethods();
    assert.notEqual(second.oauth2.providers[0]!.codeVerifier, p.codeVerifier, 'fresh PKCE per call');
  });

  it('the SDK’s all-in-one authWithOAuth2({provider}) works: realtime @oauth2 push, then the code exchange', async () => {
    // The `eventsource` package stands in for the browser's EventSource; urlCallback plays the popup.
    (globalThis as Record<string, unknown>).EventSource = EventSource;
    idp.user = { sub: 'sub-all-in-one', email: 'all-in-one@example.com', email_verified: true, name: 'All In One' };
    const pb = s.client();
    const auth = await pb.collection('users').authWithOAuth2({
      provider: 'oidc',
      urlCallback: async (url: string) => {
        assert.equal(new URL(url).searchParams.get('redirect_uri'), `${s.url}/api/oauth2-redirect`);
        const atProvider = await fetch(url, { redirect: 'manual' });
        const back = await fetch(atProvider.headers.get('location')!, { redirect: 'manual' });
        assert.equal(back.headers.get('location'), '../_/#/auth/oauth2-redirect-success');
      },
    });
    assert.equal(auth.record.email, 'all-in-one@example.com');
    assert.equal(auth.meta?.isNew, true);
    assert.ok(pb.authStore.isValid);
  });

  it('signs up a new user with the SDK (verified email from the provider) and signs in again', async () => {
    idp.user = { sub: 'sub-new', email: 'new-oauth@example.com', email_verified: true, name: 'New Person', picture: 'https://img.test/a.png' };
    const { code, codeVerifier } = await codeFor();
    const pb = s.client();
    const auth = await pb.collection('users').authWithOAuth2Code('oidc', code, codeVerifier, redirectURL(), { emailVisibility: true });
    assert.ok(pb.authStore.isValid);
    assert.equal(auth.record.email, 'new-oauth@example.com');
    assert.equal(auth.record.verified, true);
    assert.equal(auth.record.name, 'New Person');
    assert.equal(auth.record.emailVisibility, true, 'createData applies');
    assert.equal(auth.meta?.isNew, true);
    assert.equal(auth.meta?.id, 'sub-new');
    assert.equal(auth.meta?.email, 'new-oauth@example.com');
    assert.ok(auth.meta?.accessToken);
    assert.equal((auth.meta?.rawUser as Record<string, unknown>).sub, 'sub-new');
    assert.deepEqual(await linksOf(auth.record.id), [{ provider: 'oidc', providerId: 'sub-new' }]);

    const again = await signIn();
    assert.equal(again.status, 200);
    assert.equal((again.body.record as { id: string }).id, auth.record.id);
    assert.equal((again.body.meta as { isNew: boolean }).isNew, false);
  });

  it('never links to an unverified local account by email (pre-hijacking), even if the provider verified it', async () => {
    const id = await signUp(s, 'squatter-target@example.com', 'attacker-password');
    idp.user = { sub: 'sub-victim', email: 'squatter-target@example.com', email_verified: true };
    const res = await signIn();
    assert.equal(res.status, 400);
    assert.deepEqual(await linksOf(id), []);
    await login(s, 'squatter-target@example.com', 'attacker-password'); // untouched
  });

  it('links to a verified local account only when the provider vouches for the email', async () => {
    const id = await signUp(s, 'verified-local@example.com');
    await s.admin.collection('users').update(id, { verified: true });
    idp.user = { sub: 'sub-unverified-claim', email: 'verified-local@example.com', email_verified: false };
    assert.equal((await signIn()).status, 400, 'an unverified provider email does not link');
    idp.user = { sub: 'sub-verified-claim', email: 'VERIFIED-local@example.com', email_verified: true };
    const res = await signIn();
    assert.equal(res.status, 200);
    assert.equal((res.body.record as { id: string }).id, id);
    assert.equal((res.body.meta as { isNew: boolean }).isNew, false);
    assert.deepEqual(await linksOf(id), [{ provider: 'oidc', providerId: 'sub-verified-claim' }]);
  });

  it('a signed-in user links the provider explicitly, whatever its email', async () => {
    const id = await signUp(s, 'linker@example.com');
    const pb = await login(s, 'linker@example.com');
    idp.user = { sub: 'sub-linker', email: 'something-else@example.com', email_verified: false };
    const res = await signIn(undefined, pb.authStore.token);
    assert.equal(res.status, 200);
    assert.equal((res.body.record as { id: string }).id, id);
    assert.equal((res.body.record as { verified: boolean }).verified, false, 'an unverified provider email proves nothing');
    const list = await pb.collection('users').listExternalAuths(id);
    assert.equal(list.length, 1);
  });

  it('a new account from an unverified provider email is created unverified', async () => {
    idp.user = { sub: 'sub-unverified-new', email: 'fresh-unverified@example.com', email_verified: false };
    const res = await signIn();
    assert.equal(res.status, 200);
    assert.equal((res.body.record as { verified: boolean }).verified, false);
  });

  it('superusers cannot sign up with OAuth2', async () => {
    await enableOAuth2(s, '_superusers', [idp.config('oidc')]);
    try {
      idp.user = { sub: 'sub-wannabe-admin', email: 'wannabe@example.com', email_verified: true };
      const methods = await s.client().collection('_superusers').listAuthMethods();
      const p = methods.oauth2.providers[0]!;
      const { code } = await idp.authorize(p.authURL, redirectURL());
      const res = await postJson(s, '/api/collections/_superusers/auth-with-oauth2', {
        provider: 'oidc',
        code,
        codeVerifier: p.codeVerifier,
        redirectURL: redirectURL(),
      });
      assert.equal(res.status, 400);
      assert.equal((await s.admin.collection('_superusers').getList(1, 10, { filter: "email='wannabe@example.com'" })).totalItems, 0);
    } finally {
      await s.admin.collections.update('_superusers', { oauth2: { enabled: false } });
    }
  });

  describe('provider failures are login failures', () => {
    const expect400 = async (label: string) => {
      const before = (await s.admin.collection('users').getList(1, 1)).totalItems;
      const res = await signIn();
      assert.equal(res.status, 400, `${label}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.token, undefined);
      assert.equal((await s.admin.collection('users').getList(1, 1)).totalItems, before, `${label}: no user created`);
    };

    it('userinfo answering {}, {"sub": null}, an error object, a string, or a 500', async () => {
      idp.user = { sub: 'sub-garbage', email: 'garbage@example.com', email_verified: true };
      for (const [label, override] of [
        ['empty object', { statusCode: 200, body: {} }],
        ['null sub', { statusCode: 200, body: { sub: null, email: 'garbage@example.com' } }],
        ['error body with 200', { statusCode: 200, body: { error: 'invalid_token' } }],
        ['a JSON string', { statusCode: 200, body: 'garbage' }],
        ['an array', { statusCode: 200, body: [{ sub: 'sub-garbage' }] }],
        ['HTTP 500', { statusCode: 500, body: { sub: 'sub-garbage' } }],
        ['another subject than the ID token', { statusCode: 200, body: { sub: 'someone-else' } }],
      ] as const) {
        idp.userinfoOverride = override as { statusCode: number; body: unknown };
        await expect400(label);
      }
    });

    it('the token endpoint answering an error, no access token or a 500', async () => {
      for (const [label, override] of [
        ['error', { statusCode: 400, body: { error: 'invalid_grant' } }],
        ['no access_token', { statusCode: 200, body: { token_type: 'Bearer' } }],
        ['500', { statusCode: 500, body: {} }],
      ] as const) {
        idp.tokenOverride = override;
        await expect400(label);
      }
    });

    it('an ID token with a wrong nonce, audience or issuer', async () => {
      idp.user = { sub: 'sub-idtoken', email: 'idtoken@example.com', email_verified: true };
      for (const claims of [{ nonce: 'attacker-nonce' }, { aud: 'someone-else' }, { iss: 'https://evil.test' }, { exp: Math.floor(Date.now() / 1000) - 60 }]) {
        idp.idTokenClaims = claims;
        await expect400(JSON.stringify(claims));
      }
    });

    it('a wrong PKCE verifier, a missing one, an unknown provider, bad input types', async () => {
      const { code } = await codeFor();
      const wrong = await postJson(s, '/api/collections/users/auth-with-oauth2', {
        provider: 'oidc',
        code,
        codeVerifier: 'x'.repeat(43),
        redirectURL: redirectURL(),
      });
      assert.equal(wrong.status, 400);
      const { code: code2 } = await codeFor();
      assert.equal((await postJson(s, '/api/collections/users/auth-with-oauth2', { provider: 'oidc', code: code2, redirectURL: redirectURL() })).status, 400);
      assert.equal(
        (
          await postJson(s, '/api/collections/users/auth-with-oauth2', {
            provider: 'github',
            code: 'x',
            codeVerifier: 'x'.repeat(43),
            redirectURL: redirectURL(),
          })
        ).status,
        400,
      );
      for (const bad of [{}, [], true, null, 7]) {
        assert.equal((await postJson(s, '/api/collections/users/auth-with-oauth2', { provider: 'oidc', code: bad, redirectURL: redirectURL() })).status, 400);
        assert.equal((await postJson(s, '/api/collections/users/auth-with-oauth2', { provider: bad, code: 'x', redirectURL: redirectURL() })).status, 400);
      }
      assert.equal(
        (await postJson(s, '/api/collections/users/auth-with-oauth2', { provider: 'oidc', code: 'x', redirectURL: redirectURL(), createData: 'x' })).status,
        400,
      );
    });

    it('a raw provider answering HTML, a huge body or nothing', async () => {
      for (const [label, respond] of [
        ['html', () => ({ status: 200, type: 'text/html', body: '<html>oops</html>' })],
        ['huge', () => ({ status: 200, type: 'application/json', body: `{"access_token":"${'a'.repeat(2 * 1024 * 1024)}"}` })],
        ['empty', () => ({ status: 200, type: 'application/json', body: '' })],
      ] as const) {
        const raw = await startRawProvider(respond);
        try {
          await enableOAuth2(s, 'users', [idp.config('oidc'), { ...idp.config('oidc2'), tokenURL: `${raw.url}/token`, userInfoURL: `${raw.url}/userinfo` }]);
          const methods = await s.client().collection('users').listAuthMethods();
          const p = methods.oauth2.providers.find((x) => x.name === 'oidc2')!;
          const { code } = await idp.authorize(p.authURL, redirectURL());
          const res = await postJson(s, '/api/collections/users/auth-with-oauth2', {
            provider: 'oidc2',
            code,
            codeVerifier: p.codeVerifier,
            redirectURL: redirectURL(),
          });
          assert.equal(res.status, 400, label);
        } finally {
          await raw.close();
        }
      }
      await enableOAuth2(s, 'users', [idp.config('oidc')]);
    });
  });

  it('named providers: GitHub-shaped users take only a primary verified email from the emails API', async () => {
    let emails: unknown = [{ email: 'gh@example.com', primary: true, verified: true }];
    const http = await import('node:http');
    const server = http.createServer((req, res) => {
      req.resume();
      res.setHeader('content-type', 'application/json');
      if (req.url === '/token') return res.end(JSON.stringify({ access_token: 'gh-token', token_type: 'bearer' }));
      if (req.url === '/user')
        return res.end(JSON.stringify({ id: 4242, login: 'octo', name: 'Octo Cat', email: 'public@example.com', avatar_url: 'https://img.test/o.png' }));
      if (req.url === '/user/emails') return res.end(JSON.stringify(emails));
      res.statusCode = 404;
      res.end('{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      await enableOAuth2(s, 'users', [
        {
          name: 'github',
          clientId: 'gh-client',
          clientSecret: 'gh-secret',
          authURL: `${idp.issuer}/authorize`,
          tokenURL: `${base}/token`,
          userInfoURL: `${base}/user`,
        },
      ]);
      const methods = await s.client().collection('users').listAuthMethods();
      const p = methods.oauth2.providers[0]!;
      assert.equal(p.displayName, 'GitHub');
      assert.equal(new URL(p.authURL).searchParams.get('scope'), 'read:user user:email');
      const res = await postJson(s, '/api/collections/users/auth-with-oauth2', {
        provider: 'github',
        code: 'any',
        codeVerifier: p.codeVerifier,
        redirectURL: redirectURL(),
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const meta = res.body.meta as Record<string, unknown>;
      assert.equal(meta.id, '4242');
      assert.equal(meta.username, 'octo');
      assert.equal(meta.email, 'gh@example.com');
      assert.equal((res.body.record as { verified: boolean }).verified, true);
      emails = [{ email: 'unverified@example.com', primary: true, verified: false }];
      const methods2 = await s.client().collection('users').listAuthMethods();
      const res2 = await postJson(s, '/api/collections/users/auth-with-oauth2', {
        provider: 'github',
        code: 'any',
        codeVerifier: methods2.oauth2.providers[0]!.codeVerifier,
        redirectURL: redirectURL(),
      });
      assert.equal(res2.status, 200, 'the same GitHub id finds its link');
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
      await enableOAuth2(s, 'users', [idp.config('oidc')]);
    }
  });

  describe('/api/oauth2-redirect', () => {
    it('unknown state or missing code redirect to the failure page', async () => {
      const res = await s.fetch('/api/oauth2-redirect?state=nobody&code=abc', { redirect: 'manual' });
      assert.equal(res.status, 307);
      assert.equal(res.headers.get('location'), '../_/#/auth/oauth2-redirect-failure');
      assert.equal((await s.fetch('/api/oauth2-redirect', { redirect: 'manual' })).headers.get('location'), '../_/#/auth/oauth2-redirect-failure');
    });

    it('pushes {state, code} to the realtime client whose id is the state (GET 307, POST 303)', async () => {
      const controller = new AbortController();
      const stream = await s.fetch('/api/realtime', { signal: controller.signal });
      const reader = stream.body!.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      const nextEvent = async (): Promise<{ id: string; event: string; data: string }> => {
        for (;;) {
          const end = buffer.indexOf('\n\n');
          if (end >= 0) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const get = (k: string) =>
              frame
                .split('\n')
                .find((l) => l.startsWith(`${k}:`))
                ?.slice(k.length + 1) ?? '';
            return { id: get('id'), event: get('event'), data: get('data') };
          }
          const { value, done } = await reader.read();
          if (done) throw new Error('stream ended');
          buffer += decoder.decode(value, { stream: true });
        }
      };
      try {
        const connect = await nextEvent();
        assert.equal(connect.event, 'PB_CONNECT');
        const clientId = connect.id;
        const sub = await postJson(s, '/api/realtime', { clientId, subscriptions: ['@oauth2'] });
        assert.equal(sub.status, 204);
        const res = await s.fetch(`/api/oauth2-redirect?state=${clientId}&code=the-code`, { redirect: 'manual' });
        assert.equal(res.status, 307);
        assert.equal(res.headers.get('location'), '../_/#/auth/oauth2-redirect-success');
        const msg = await nextEvent();
        assert.equal(msg.event, '@oauth2');
        assert.deepEqual(JSON.parse(msg.data), { state: clientId, code: 'the-code' });

        const post = await s.fetch('/api/oauth2-redirect', {
          method: 'POST',
          redirect: 'manual',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ state: clientId, code: '', error: 'access_denied' }).toString(),
        });
        assert.equal(post.status, 303);
        assert.equal(post.headers.get('location'), '../_/#/auth/oauth2-redirect-failure');
        assert.deepEqual(JSON.parse((await nextEvent()).data), { state: clientId, code: '', error: 'access_denied' });
      } finally {
        controller.abort();
        await reader.cancel().catch(() => undefined);
      }
    });
  });

  it('403 when OAuth2 is disabled for the collection', async () => {
    await s.admin.collections.update('users', { oauth2: { enabled: false } });
    try {
      const res = await postJson(s, '/api/collections/users/auth-with-oauth2', {
        provider: 'oidc',
        code: 'x',
        codeVerifier: 'x'.repeat(43),
        redirectURL: redirectURL(),
      });
      assert.equal(res.status, 403);
    } finally {
      await enableOAuth2(s, 'users', [idp.config('oidc')]);
    }
  });
});
