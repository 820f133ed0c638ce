/**
 * What every auth endpoint shares: the collection from the URL, strict body reading (a token, code or
 * password that is not a string is a 400, never coerced: Strapi's `code: {}` reset bypass), and the auth
 * response with PocketBase's steps in order: authRule → MFA (401 {mfaId}) → token → login alert → JSON.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../../app.js';
import { recordLoginOrigin } from '../../auth/auth-origins.js';
import type { AuthMethod } from '../../auth/index.js';
import { issueToken } from '../../auth/tokens.js';
import { SUPERUSERS_COLLECTION_ID, type AuthCollection } from '../../collections/model.js';
import { ident, sql } from '../../db/sql.js';
import { AppError, fieldError, type FieldErrors } from '../../errors/index.js';
import type { AuthRequestMethod, RecordAuthRequestEvent, RecordData } from '../../hooks/index.js';
import { ROOT_ALIAS } from '../../records/access.js';
import { publicRecord } from '../../records/record-io.js';
import { compileFilter } from '../../rules/index.js';
import { clientIp } from '../rate-limit.js';
import { superuserIpAllowed, superuserIpRefused } from '../superuser-ips.js';
import { bodyOf, param, query, requestInfo, sendResult } from './helpers.js';
export { runHooked } from './helpers.js';
import { collectionTags, eventResult, type ActionResult } from './record-actions.js';

/** The auth collection named in the URL; 404 for anything else (PocketBase's message). */
export function authCollection(app: App, req: FastifyRequest): AuthCollection {
  const c = app.collections.find(param(req, 'collection'));
  if (!c || c.type !== 'auth') throw AppError.notFound('Missing or invalid auth collection context.');
  return c;
}

/**
 * PocketBase's RequireSameCollectionContextAuth (auth-refresh, request-email-change): 401 without an auth
 * record, 403 when it belongs to another collection than the URL's (whatever that collection is).
 */
export function requireSameCollectionAuth(app: App, req: FastifyRequest): NonNullable<FastifyRequest['auth']> {
  const auth = req.auth;
  if (!auth) throw AppError.unauthorized('The request requires valid record authorization token.');
  const c = app.collections.find(param(req, 'collection'));
  if (!c || c.id !== auth.collection.id) throw AppError.forbidden(`The request requires auth record from ${auth.collection.name} collection.`);
  return auth;
}

/** How one body field must look. */
export interface FieldSpec {
  /** Maximum length in characters (default 1000). */
  max?: number;
  /** Absent or '' is allowed (then read as ''). */
  optional?: boolean;
}

/**
 * Reads string fields from the body, all checked before any is used: missing or empty → validation_required,
 * any other type ({}, [], true, null, numbers) → validation_invalid_value, too long → max constraint.
 */
export function readStrings<K extends string>(req: FastifyRequest, specs: Record<K, FieldSpec>): Record<K, string> {
  const data = bodyOf(req).data;
  const out = {} as Record<K, string>;
  const errors: FieldErrors = {};
  for (const [key, spec] of Object.entries(specs) as Array<[K, FieldSpec]>) {
    const v = data[key];
    if (v === undefined || v === '') {
      if (!spec.optional) errors[key] = fieldError('validation_required', 'Cannot be blank');
      out[key] = '';
    } else if (typeof v !== 'string') {
      errors[key] = fieldError('validation_invalid_value', 'Must be a string');
    } else if (v.length > (spec.max ?? 1000)) {
      errors[key] = fieldError('validation_length_out_of_range', `Must be at most ${spec.max ?? 1000} characters`);
    } else {
      out[key] = v;
    }
  }
  if (Object.keys(errors).length) throw AppError.validation('An error occurred while validating the submitted data.', errors);
  return out;
}

/** Where the request comes from (IP per settings.trustedProxy, user agent), for login alerts. */
export function loginContext(app: App, req: FastifyRequest): { ip: string; userAgent: string } {
  const ua = req.headers['user-agent'];
  return { ip: clientIp(req, app.settings.get()), userAgent: typeof ua === 'string' ? ua : '' };
}

/** PocketBase's authRule: null disables auth for the collection; an expression must match the record (403). */
export async function checkAuthRule(app: App, collection: AuthCollection, record: RecordData, req: FastifyRequest): Promise<void> {
  const rule = collection.authRule;
  const refuse = () => AppError.forbidden("The request doesn't satisfy the collection requirements to authenticate.");
  if (rule === null || rule === undefined) throw refuse();
  if (rule.trim() === '') return;
  const info = { ...requestInfo(req), auth: { collection, record } };
  const condition = compileFilter(rule, { collection, schema: app.collections, dialect: app.db.dialect, rootAlias: ROOT_ALIAS, request: info, mode: 'rule' });
  const ok = await app.db.get(
    sql`SELECT 1 AS ok FROM ${ident(collection.name)} AS ${ident(ROOT_ALIAS)} WHERE ${ident(ROOT_ALIAS, 'id')} = ${record.id as string} AND (${condition})`,
  );
  if (!ok) throw refuse();
}

/** The `mfaId` of a second-step request: query param (the SDK's way) or body field. */
function mfaIdOf(req: FastifyRequest): string {
  const fromQuery = query(req).mfaId;
  if (fromQuery) return fromQuery.slice(0, 255);
  const v = bodyOf(req).data.mfaId;
  if (v === undefined || v === '') return '';
  if (typeof v !== 'string')
    throw AppError.validation('An error occurred while validating the submitted data.', { mfaId: fieldError('validation_invalid_value', 'Must be a string') });
  return v.slice(0, 255);
}

/** Options of one auth response. */
export interface AuthResponseOptions {
  /** The method that just succeeded; '' skips MFA and login alerts (refresh, impersonation). */
  method: AuthMethod | '';
  /** What onRecordAuthRequest reports as `authMethod` (default: `method`; '' → 'refresh'). */
  hookMethod?: AuthRequestMethod;
  /** The second factor was already checked by the endpoint (auth-with-totp). */
  mfaDone?: boolean;
  /** A token to return instead of a new one (non-refreshable refresh, impersonation). */
  token?: string;
  meta?: Record<string, unknown>;
}

/**
 * The auth response, or 401 {mfaId} when a second factor is still needed. Once MFA passed and the token is
 * issued, `onRecordAuthRequest` (when it has handlers) may change the token, meta or record, or the response.
 */
export async function authResponse(
  app: App,
  req: FastifyRequest,
  collection: AuthCollection,
  record: RecordData,
  opts: AuthResponseOptions,
): Promise<ActionResult> {
  if (collection.id === SUPERUSERS_COLLECTION_ID && !superuserIpAllowed(req, app.settings.get())) throw superuserIpRefused();
  await checkAuthRule(app, collection, record, req);

  if (opts.method !== '' && !opts.mfaDone) {
    const id = record.id as string;
    const totp = await app.auth.totp.isEnabled(collection, id);
    if (totp || (await app.auth.mfa.collectionWantsMfa(collection, record, requestInfo(req)))) {
      const mfaId = mfaIdOf(req);
      if (mfaId === '') {
        const opened = await app.auth.mfa.open(collection, record, opts.method);
        // Not the error envelope: the SDK reads `mfaId` from the 401 body.
        return { status: 401, body: { mfaId: opened } };
      }
      await app.auth.mfa.complete(collection, record, mfaId, opts.method, totp ? 'totp' : undefined);
    }
  }

  const token = opts.token ?? (await issueToken(collection, { id: record.id as string, tokenKey: String(record.tokenKey) }, { type: 'auth' }));
  if (opts.method !== '' && collection.authAlert.enabled) {
    const ctx = loginContext(app, req);
    app.auth.background.run('login origin', () => recordLoginOrigin(app.auth.deps, collection, record, ctx));
  }
  const build = async (rec: RecordData, tok: string, meta: Record<string, unknown> | undefined) => {
    const info = { ...requestInfo(req), auth: { collection, record: rec } };
    const [out] = await app.reader.serialise(collection, [rec], query(req).expand ?? '', info);
    // PocketBase prints this map with its keys in byte order: meta, record, token.
    const body: { meta?: Record<string, unknown>; record: Record<string, unknown>; token: string } = {} as never;
    if (meta) body.meta = meta;
    body.record = out ?? publicRecord(collection, rec, { superuser: false, authId: null, authCollectionId: null });
    body.token = tok;
    return body;
  };
  const hook = app.hooks.onRecordAuthRequest;
  if (hook.length === 0) return { status: 200, body: await build(record, token, opts.meta) };
  const e: RecordAuthRequestEvent = {
    tags: collectionTags(collection),
    collection,
    request: requestInfo(req),
    authMethod: opts.hookMethod ?? (opts.method === '' ? 'refresh' : opts.method),
    record,
    token,
    ...(opts.meta ? { meta: opts.meta } : {}),
  };
  await app.hooks.runRequest(hook, e, async (ev) => {
    ev.response = await build(ev.record, ev.token, ev.meta);
  });
  return eventResult(e);
}

/** Sends {@link authResponse}. */
export async function sendAuthResponse(
  app: App,
  req: FastifyRequest,
  reply: FastifyReply,
  collection: AuthCollection,
  record: RecordData,
  opts: AuthResponseOptions,
): Promise<FastifyReply> {
  return sendResult(reply, await authResponse(app, req, collection, record, opts));
}
