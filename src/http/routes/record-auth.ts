/**
 * Password authentication for auth collections (superusers included), token refresh and auth-methods,
 * enough for the SDK's `authWithPassword` / `authRefresh`. The other flows (OTP, OAuth2, MFA, email
 * verification and reset) belong to the accounts capability.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { App } from '../../app.js';
import type { AuthCollection, Collection } from '../../collections/model.js';
import { ident, sql } from '../../db/sql.js';
import { AppError, fieldError, type FieldErrors } from '../../errors/index.js';
import { dummyPasswordHash, hashPassword, needsRehash, verifyPassword } from '../../auth/passwords.js';
import { issueToken } from '../../auth/tokens.js';
import { ROOT_ALIAS } from '../../records/access.js';
import { publicRecord, rowToRecord } from '../../records/record-io.js';
import { compileFilter } from '../../rules/index.js';
import type { RecordData } from '../../hooks/index.js';
import { bodyOf, param, query, requestInfo } from './helpers.js';

function authCollection(app: App, req: FastifyRequest): AuthCollection {
  const c = app.collections.find(param(req, 'collection'));
  if (!c || c.type !== 'auth') throw AppError.notFound('Missing or invalid auth collection context.');
  return c;
}

/** The auth response: token plus the record as its owner sees it (and `?expand=`). */
async function authResponse(app: App, req: FastifyRequest, collection: AuthCollection, record: RecordData, token: string) {
  const info = { ...requestInfo(req), auth: { collection, record } };
  const [out] = await app.reader.serialise(collection, [record], query(req).expand ?? '', info);
  return { token, record: out ?? publicRecord(collection, record, { superuser: false, authId: null, authCollectionId: null }) };
}

/** PocketBase's authRule: null disables auth for the collection; an expression must match the record. */
async function checkAuthRule(app: App, collection: AuthCollection, record: RecordData, req: FastifyRequest): Promise<void> {
  const rule = collection.authRule;
  if (rule === null || rule === undefined) {
    throw AppError.forbidden("The request doesn't satisfy the collection requirements to authenticate.");
  }
  if (rule.trim() === '') return;
  const info = { ...requestInfo(req), auth: { collection, record } };
  const condition = compileFilter(rule, { collection, schema: app.collections, dialect: app.db.dialect, rootAlias: ROOT_ALIAS, request: info, mode: 'rule' });
  const ok = await app.db.get(
    sql`SELECT 1 AS ok FROM ${ident(collection.name)} AS ${ident(ROOT_ALIAS)} WHERE ${ident(ROOT_ALIAS, 'id')} = ${record.id as string} AND (${condition})`,
  );
  if (!ok) throw AppError.forbidden("The request doesn't satisfy the collection requirements to authenticate.");
}

export function registerRecordAuthRoutes(server: FastifyInstance, app: App): void {
  server.get('/api/collections/:collection/auth-methods', async (req) => {
    const c = authCollection(app, req);
    return {
      password: { enabled: c.passwordAuth.enabled, identityFields: c.passwordAuth.identityFields },
      oauth2: { enabled: false, providers: [] },
      mfa: { enabled: false, duration: 0 },
      otp: { enabled: false, duration: 0 },
    };
  });

  server.post('/api/collections/:collection/auth-with-password', async (req) => {
    const collection = authCollection(app, req);
    server.rateLimiter.checkTag(req, collection.name, 'authWithPassword');
    if (!collection.passwordAuth.enabled) throw AppError.forbidden('The collection is not configured to allow password authentication.');
    const data = bodyOf(req).data;
    const errors: FieldErrors = {};
    if (typeof data.identity !== 'string' || data.identity === '') errors.identity = fieldError('validation_required', 'Missing required value');
    if (typeof data.password !== 'string' || data.password === '') errors.password = fieldError('validation_required', 'Missing required value');
    if (data.identityField !== undefined && typeof data.identityField !== 'string') errors.identityField = fieldError('validation_invalid_value', 'Must be a string');
    if (Object.keys(errors).length) throw AppError.validation('Failed to authenticate.', errors);
    const identity = (data.identity as string).slice(0, 1000);
    const password = data.password as string;

    let fields = collection.passwordAuth.identityFields.filter((f) => collection.fields.some((x) => x.name === f));
    if (typeof data.identityField === 'string') {
      if (!fields.includes(data.identityField)) throw AppError.validation('Failed to authenticate.', { identityField: fieldError('validation_invalid_value', 'Invalid identity field') });
      fields = [data.identityField];
    }
    // email first, as PocketBase does
    fields.sort((a, b) => (a === 'email' ? -1 : b === 'email' ? 1 : 0));
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
    const hash = record ? String(record.password ?? '') : await dummyPasswordHash();
    const ok = await verifyPassword(hash, password);
    if (!record || !ok) throw AppError.badRequest('Failed to authenticate.');
    if (needsRehash(hash)) {
      const fresh = await hashPassword(password);
      await app.db.run(sql`UPDATE ${ident(collection.name)} SET ${ident('password')} = ${fresh} WHERE ${ident('id')} = ${record.id as string}`);
      record.password = fresh;
    }
    await checkAuthRule(app, collection, record, req);
    const token = await issueToken(collection, { id: record.id as string, tokenKey: String(record.tokenKey) }, { type: 'auth' });
    return authResponse(app, req, collection, record, token);
  });

  server.post('/api/collections/:collection/auth-refresh', async (req) => {
    const collection: Collection = authCollection(app, req);
    server.rateLimiter.checkTag(req, collection.name, 'authRefresh');
    if (!req.auth) throw AppError.unauthorized('The request requires valid record authorization token.');
    if (req.auth.collection.id !== collection.id) throw AppError.forbidden('The request requires valid record authorization token.');
    const record = req.auth.record;
    const token = await issueToken(req.auth.collection, { id: record.id as string, tokenKey: String(record.tokenKey) }, { type: 'auth' });
    return authResponse(app, req, req.auth.collection, record, token);
  });
}
