/**
 * The core auth endpoints of an auth collection: auth-methods, password login, token refresh,
 * impersonation and "log out everywhere"; registers the other auth route groups too (OTP, emailed
 * links, OAuth2, TOTP, API keys) so the server has one registration line for all of them.
 *
 *   GET  /api/collections/{c}/auth-methods          → {password, oauth2, mfa, otp, + legacy keys}
 *   POST /api/collections/{c}/auth-with-password    {identity, password, identityField?} → auth | 401 {mfaId}
 *   POST /api/collections/{c}/auth-refresh          (token) → auth (same token if not refreshable)
 *   POST /api/collections/{c}/impersonate/{id}      {duration?} (superusers) → auth, non-refreshable token
 *   POST /api/collections/{c}/logout-all            {id?} → 204, every token of the record stops working
 */
import type { FastifyInstance } from 'fastify';
import type { App } from '../../app.js';
import { dummyPasswordHash, hashPassword, needsRehash, verifyPassword } from '../../auth/passwords.js';
import { issueToken, unverifiedClaims } from '../../auth/tokens.js';
import { providerInfo, type ProviderInfo } from '../../auth/oauth2/client.js';
import { toProviderConfig } from '../../auth/oauth2/providers.js';
import { ident, sql } from '../../db/sql.js';
import { AppError, fieldError } from '../../errors/index.js';
import type { RecordAuthRefreshRequestEvent, RecordAuthWithPasswordRequestEvent, RecordData } from '../../hooks/index.js';
import { rowToRecord } from '../../records/record-io.js';
import { isSuperuser } from '../../rules/request-info.js';
import { tokenFromHeader } from '../request-info.js';
import { registerApiKeyRoutes } from './api-keys.js';
import { bodyOf, param, requestInfo, requireSuperuser } from './helpers.js';
import { collectionTags } from './record-actions.js';
import { registerRecordAuthEmailRoutes } from './record-auth-emails.js';
import { authCollection, authResponse, readStrings, requireSameCollectionAuth, runHooked, sendAuthResponse } from './record-auth-helpers.js';
import { registerRecordAuthOAuth2Routes } from './record-auth-oauth2.js';
import { registerRecordAuthOtpRoutes } from './record-auth-otp.js';
import { registerRecordAuthTotpRoutes } from './record-auth-totp.js';

/** Registers every auth endpoint (see the module comment). */
export function registerRecordAuthRoutes(server: FastifyInstance, app: App): void {
  server.get('/api/collections/:collection/auth-methods', async (req) => {
    const c = authCollection(app, req);
    await server.rateLimiter.checkTag(req, c.name, 'listAuthMethods');
    const password = { enabled: c.passwordAuth.enabled, identityFields: c.passwordAuth.enabled ? c.passwordAuth.identityFields : [] };
    const providers: ProviderInfo[] = c.oauth2.enabled
      ? c.oauth2.providers.map((p) => providerInfo(toProviderConfig(p))).filter((p): p is ProviderInfo => p !== null)
      : [];
    return {
      password,
      oauth2: { enabled: c.oauth2.enabled, providers },
      mfa: { enabled: c.mfa.enabled, duration: c.mfa.enabled ? c.mfa.duration : 0 },
      otp: { enabled: c.otp.enabled, duration: c.otp.enabled ? c.otp.duration : 0 },
      // PocketBase < 0.23 clients read these.
      authProviders: c.oauth2.enabled ? providers : [],
      usernamePassword: password.enabled && password.identityFields.includes('username'),
      emailPassword: password.enabled && password.identityFields.includes('email'),
    };
  });

  server.post('/api/collections/:collection/auth-with-password', async (req, reply) => {
    const collection = authCollection(app, req);
    await server.rateLimiter.checkTag(req, collection.name, 'authWithPassword');
    if (!collection.passwordAuth.enabled) throw AppError.forbidden('The collection is not configured to allow password authentication.');
    const input = readStrings(req, { identity: { max: 255 }, password: { max: 4096 }, identityField: { max: 255, optional: true } });

    const e: RecordAuthWithPasswordRequestEvent = {
      tags: collectionTags(collection),
      collection,
      request: requestInfo(req),
      identity: input.identity,
      identityField: input.identityField,
      password: input.password,
    };
    return runHooked(app, reply, app.hooks.onRecordAuthWithPasswordRequest, e, async (ev) => {
      const identity = String(ev.identity);
      const password = String(ev.password);
      let fields = collection.passwordAuth.identityFields.filter((f) => collection.fields.some((x) => x.name === f));
      if (ev.identityField !== '') {
        if (!fields.includes(ev.identityField))
          throw AppError.validation('Failed to authenticate.', { identityField: fieldError('validation_invalid_value', 'Invalid identity field') });
        fields = [ev.identityField];
      }
      fields.sort((a, b) => (a === 'email' ? -1 : b === 'email' ? 1 : 0)); // email first, as PocketBase does
      let record: RecordData | undefined;
      for (const field of fields) {
        const column = ident(field);
        const row = await app.db.get(
          field === 'email'
            ? sql`SELECT * FROM ${ident(collection.name)} WHERE LOWER(${column}) = LOWER(${identity}) LIMIT 1`
            : sql`SELECT * FROM ${ident(collection.name)} WHERE ${column} = ${identity} LIMIT 1`,
        );
        if (row) {
          record = rowToRecord(collection, row);
          break;
        }
      }
      // Unknown accounts cost one verification too (of a dummy hash), so timing does not tell them apart.
      const hash = record ? String(record.password ?? '') : await dummyPasswordHash();
      const ok = await verifyPassword(hash, password);
      if (!record || !ok) throw AppError.badRequest('Failed to authenticate.');
      if (needsRehash(hash, app.writer.passwordAlgorithm)) {
        // Imported bcrypt (or weaker argon2) hashes are upgraded on the first successful login; on a
        // PocketBase data directory (bcrypt mode) only non-bcrypt hashes are turned into bcrypt.
        const fresh = await hashPassword(password, app.writer.passwordAlgorithm);
        await app.db.run(
          sql`UPDATE ${ident(collection.name)} SET ${ident('password')} = ${fresh} WHERE ${ident('id')} = ${record.id as string} AND ${ident('password')} = ${hash}`,
        );
        record.password = fresh;
      }
      ev.record = record;
      return authResponse(app, req, collection, record, { method: 'password' });
    });
  });

  server.post('/api/collections/:collection/auth-refresh', async (req, reply) => {
    const auth = requireSameCollectionAuth(app, req); // before the collection lookup: PocketBase's 401/403 even for a non-auth collection
    const collection = authCollection(app, req);
    await server.rateLimiter.checkTag(req, collection.name, 'authRefresh');
    const current = tokenFromHeader(req.headers.authorization) ?? '';
    // Impersonation tokens are static: refreshing returns the same token (PocketBase).
    const refreshable = unverifiedClaims(current)?.refreshable !== false;
    const e: RecordAuthRefreshRequestEvent = { tags: collectionTags(collection), collection, request: requestInfo(req), record: auth.record };
    return runHooked(app, reply, app.hooks.onRecordAuthRefreshRequest, e, (ev) =>
      authResponse(app, req, collection, ev.record, { method: '', hookMethod: 'refresh', ...(refreshable ? {} : { token: current }) }),
    );
  });

  server.post('/api/collections/:collection/impersonate/:id', async (req, reply) => {
    requireSuperuser(req);
    const collection = authCollection(app, req);
    const record = await app.reader.findById(collection, param(req, 'id'));
    if (!record) throw AppError.notFound();
    const duration = bodyOf(req).data.duration ?? 0;
    if (typeof duration !== 'number' || !Number.isInteger(duration) || duration < 0 || duration > 10 * 365 * 86_400) {
      throw AppError.validation('An error occurred while validating the submitted data.', {
        duration: fieldError('validation_min_greater_equal_than_required', 'Must be a whole number of seconds ≥ 0'),
      });
    }
    const token = await issueToken(collection, { id: record.id as string, tokenKey: String(record.tokenKey) }, { type: 'auth', duration, refreshable: false });
    return sendAuthResponse(app, req, reply, collection, record, { method: '', hookMethod: 'impersonate', token });
  });

  server.post('/api/collections/:collection/logout-all', async (req, reply) => {
    const collection = authCollection(app, req);
    if (!req.auth) throw AppError.unauthorized('The request requires valid record authorization token.');
    const requested = bodyOf(req).data.id;
    let target = req.auth.collection.id === collection.id ? (req.auth.record.id as string) : '';
    if (requested !== undefined && requested !== target) {
      if (!isSuperuser(req)) throw AppError.forbidden('Only superusers can log out other records.');
      if (typeof requested !== 'string' || !(await app.reader.findById(collection, requested))) throw AppError.notFound();
      target = requested;
    }
    if (target === '') throw AppError.forbidden('The request requires valid record authorization token.');
    await app.auth.rotateTokenKey(collection, target);
    return reply.code(204).send();
  });

  registerRecordAuthOtpRoutes(server, app);
  registerRecordAuthEmailRoutes(server, app);
  registerRecordAuthOAuth2Routes(server, app);
  registerRecordAuthTotpRoutes(server, app);
  registerApiKeyRoutes(server, app);
}
