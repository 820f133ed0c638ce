/**
 * OAuth2 sign-in and the redirect endpoint of the SDK's all-in-one flow.
 *
 *   POST /api/collections/{c}/auth-with-oauth2  {provider, code, codeVerifier, redirectURL, createData?}
 *        → auth response with meta {id, name, username, email, avatarURL, accessToken, refreshToken,
 *          expiry, rawUser, isNew} | 401 {mfaId} | 400 (provider failure of any kind, refused link)
 *   GET|POST /api/oauth2-redirect  {state, code, error?}
 *        → pushes `@oauth2` {state, code, error?} to the realtime client whose id is `state`, then
 *          redirects (307 GET / 303 POST) to the admin UI's success or failure page.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../../app.js';
import { exchangeCode } from '../../auth/oauth2/client.js';
import { resolveOAuth2Record } from '../../auth/oauth2/link.js';
import { ProviderError } from '../../auth/oauth2/provider-http.js';
import { toProviderConfig } from '../../auth/oauth2/providers.js';
import { AppError, fieldError } from '../../errors/index.js';
import { bodyOf, query, requestInfo } from './helpers.js';
import type { RecordAuthWithOAuth2RequestEvent } from '../../hooks/index.js';
import { collectionTags } from './record-actions.js';
import { authCollection, authResponse, readStrings, runHooked } from './record-auth-helpers.js';

const SUCCESS_PATH = '../_/#/auth/oauth2-redirect-success';
const FAILURE_PATH = '../_/#/auth/oauth2-redirect-failure';

/** Registers auth-with-oauth2 and /api/oauth2-redirect. */
export function registerRecordAuthOAuth2Routes(server: FastifyInstance, app: App): void {
  server.post('/api/collections/:collection/auth-with-oauth2', async (req, reply) => {
    const collection = authCollection(app, req);
    await server.rateLimiter.checkTag(req, collection.name, 'authWithOAuth2');
    if (!collection.oauth2.enabled) throw AppError.forbidden('The collection is not configured to allow OAuth2 authentication.');
    const input = readStrings(req, {
      provider: { max: 100 },
      code: { max: 4096 },
      codeVerifier: { max: 128, optional: true },
      redirectURL: { max: 2048, optional: true },
      redirectUrl: { max: 2048, optional: true },
    });
    const redirectURL = input.redirectURL || input.redirectUrl; // `redirectUrl`: PocketBase < 0.23 clients
    const createData = bodyOf(req).data.createData ?? {};
    if (redirectURL === '' || typeof createData !== 'object' || createData === null || Array.isArray(createData)) {
      throw AppError.validation('An error occurred while validating the submitted data.', {
        ...(redirectURL === '' ? { redirectURL: fieldError('validation_required', 'Cannot be blank') } : {}),
        ...(typeof createData !== 'object' || createData === null || Array.isArray(createData)
          ? { createData: fieldError('validation_invalid_value', 'Must be an object') }
          : {}),
      });
    }
    const e: RecordAuthWithOAuth2RequestEvent = {
      tags: collectionTags(collection),
      collection,
      request: requestInfo(req),
      provider: input.provider,
      createData: createData as Record<string, unknown>,
    };
    return runHooked(app, reply, app.hooks.onRecordAuthWithOAuth2Request, e, async (ev) => {
      const raw = collection.oauth2.providers.find((p) => p.name === ev.provider);
      if (!raw) {
        throw AppError.validation('An error occurred while validating the submitted data.', {
          provider: fieldError('validation_invalid_provider', `Provider with name ${ev.provider} is missing or is not enabled`, { name: ev.provider }),
        });
      }
      let exchanged;
      try {
        exchanged = await exchangeCode(toProviderConfig(raw), { code: input.code, codeVerifier: input.codeVerifier, redirectURL });
      } catch (err) {
        if (!(err instanceof ProviderError)) throw err;
        app.logger.info({ provider: ev.provider, reason: err.message }, 'OAuth2 provider exchange failed');
        throw AppError.badRequest(err.stage === 'token' ? 'Failed to fetch OAuth2 token.' : 'Failed to fetch OAuth2 user.');
      }
      const { user, token } = exchanged;
      const signedIn = req.auth && req.auth.collection.id === collection.id ? req.auth.record : null;
      const { record, isNew } = await resolveOAuth2Record(app.auth.deps, collection, {
        provider: ev.provider,
        user,
        createData: ev.createData,
        signedIn,
        request: requestInfo(req, 'oauth2'),
      });
      const meta = {
        id: user.id,
        name: user.name,
        username: user.username,
        email: user.email,
        avatarURL: user.avatarURL,
        accessToken: token.accessToken,
        refreshToken: token.refreshToken,
        expiry: token.expiry,
        rawUser: user.rawUser,
        isNew,
      };
      ev.record = record;
      ev.isNewRecord = isNew;
      ev.oauth2User = { ...user };
      return authResponse(app, req, collection, record, { method: 'oauth2', meta });
    });
  });

  const redirect = async (req: FastifyRequest, reply: FastifyReply) => {
    const status = req.method === 'GET' ? 307 : 303;
    const src = req.method === 'GET' ? query(req) : bodyOf(req).data;
    const pick = (k: string) => (typeof src[k] === 'string' ? (src[k] as string).slice(0, 4096) : '');
    const state = pick('state');
    const code = pick('code');
    const error = pick('error');
    if (state === '' || state.length > 255) return reply.redirect(FAILURE_PATH, status);
    const message: Record<string, string> = { state, code };
    if (error) message.error = error;
    // Only a client that asked for the result (subscribed to @oauth2) receives it, as in PocketBase.
    const sent = app.realtime.hasSubscription(state, '@oauth2') && app.realtime.sendToClient(state, '@oauth2', message);
    if (!sent || error || code === '') return reply.redirect(FAILURE_PATH, status);
    return reply.redirect(SUCCESS_PATH, status);
  };
  server.get('/api/oauth2-redirect', redirect);
  server.post('/api/oauth2-redirect', redirect);
}
