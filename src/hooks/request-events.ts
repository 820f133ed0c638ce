/**
 * The request-level hook events (PocketBase's `on*Request` family). Each fires around one API request: the
 * handlers see the request (and may change its auth, its body and the action's inputs) BEFORE `next()`,
 * and the answer (`response`, replaceable) AFTER it. A handler that throws aborts the request with its error
 * (an AppError answers in its envelope, anything else is a logged generic 500); one that never calls `next()`
 * skips the action and the request answers whatever `response` then holds (204 when it is undefined).
 *
 * Shared fields:
 *   tags        [collection id, collection name] (what `bind(…, { tags })` filters on); [] when not per collection
 *   collection  the collection of the request (record and auth events)
 *   request     the RequestInfo rules see as `@request.*`: `auth` and `body` may be changed before next()
 *   tx          inside /api/batch: the batch's transaction (hook code must use it for database work)
 *   response    the JSON body about to be sent, set by next(); handlers may change or replace it
 *
 * What next() does per event, and which inputs it reads, is listed on each interface.
 */
import type { AuthCollection, Collection } from '../collections/model.js';
import type { Executor } from '../db/dialect.js';
import type { RequestInfo } from '../rules/request-info.js';

/** A record as the records layer holds it (raw stored values, hidden fields included). */
type RecordData = Record<string, unknown>;

/** One uploaded file of a request body (multipart); `mimetype` is the client's claim, never trusted. */
export interface RequestFile {
  field: string;
  filename: string;
  mimetype: string;
  data: Buffer;
  size: number;
}

/** A parsed request body: the values, and the uploaded files. */
export interface RequestBody {
  data: Record<string, unknown>;
  files: RequestFile[];
}

export interface RequestEvent {
  tags: readonly string[];
  request: RequestInfo;
  /** The JSON body that will be sent (set by next()); replaceable. */
  response?: unknown;
  /** The HTTP status that will be sent with `response` (set by next(); changeable). */
  status?: number;
}

export interface CollectionRequestEvent extends RequestEvent {
  collection: Collection;
  /** The batch's transaction when the request is a /api/batch sub-request. */
  tx?: Executor;
}

/** GET …/records. next() runs the list query with `request.query`; `response` is {page, perPage, totalItems, totalPages, items}. */
export interface RecordsListRequestEvent extends CollectionRequestEvent {
  response?: { page: number; perPage: number; totalItems: number; totalPages: number; items: Record<string, unknown>[] };
}

/** GET …/records/{id}. next() reads record `id` (view rule applies); `response` is its public JSON. */
export interface RecordViewRequestEvent extends CollectionRequestEvent {
  id: string;
  response?: Record<string, unknown>;
}

/** POST …/records. next() creates the record from `body` (change `body.data` to change what is saved). */
export interface RecordCreateRequestEvent extends CollectionRequestEvent {
  body: RequestBody;
  /** The stored record (raw values), set by next(). */
  record?: RecordData;
  response?: Record<string, unknown>;
}

/** PATCH …/records/{id}. next() updates record `id` from `body`. */
export interface RecordUpdateRequestEvent extends CollectionRequestEvent {
  id: string;
  body: RequestBody;
  record?: RecordData;
  response?: Record<string, unknown>;
}

/** DELETE …/records/{id}. next() deletes record `id` (answer 204). */
export interface RecordDeleteRequestEvent extends CollectionRequestEvent {
  id: string;
}

/** How an auth succeeded. */
export type AuthRequestMethod = 'password' | 'oauth2' | 'otp' | 'refresh' | 'impersonate' | 'totp';

/**
 * Any successful authentication (password, OAuth2, OTP, TOTP, refresh, impersonation), after MFA passed
 * and the token was issued: change `token`, `meta` or `record` before next(), or `response` after it.
 */
export interface RecordAuthRequestEvent extends CollectionRequestEvent {
  collection: AuthCollection;
  authMethod: AuthRequestMethod;
  record: RecordData;
  token: string;
  meta?: Record<string, unknown>;
  response?: { token: string; record: Record<string, unknown>; meta?: Record<string, unknown> } & Record<string, unknown>;
}

/** POST …/auth-with-password. next() looks up `identity` (in `identityField`, or every identity field) and checks `password`. */
export interface RecordAuthWithPasswordRequestEvent extends CollectionRequestEvent {
  collection: AuthCollection;
  identity: string;
  /** '' = every configured identity field. */
  identityField: string;
  password: string;
  /** The record that signed in, set by next(). */
  record?: RecordData;
}

/** POST …/auth-with-oauth2. next() exchanges the code and signs in or creates the record. */
export interface RecordAuthWithOAuth2RequestEvent extends CollectionRequestEvent {
  collection: AuthCollection;
  provider: string;
  /** The values a new record is created with (besides the provider's). */
  createData: Record<string, unknown>;
  record?: RecordData;
  isNewRecord?: boolean;
  /** The provider's user (id, name, email, rawUser…), set by next(). */
  oauth2User?: Record<string, unknown>;
}

/** POST …/auth-with-otp. next() consumes the OTP. */
export interface RecordAuthWithOTPRequestEvent extends CollectionRequestEvent {
  collection: AuthCollection;
  otpId: string;
  record?: RecordData;
}

/** POST …/auth-refresh. `record` is the signed-in record; next() issues the fresh token. */
export interface RecordAuthRefreshRequestEvent extends CollectionRequestEvent {
  collection: AuthCollection;
  record: RecordData;
}

/** POST …/request-otp. next() creates the OTP for `email` (and mails it in the background); `response` is {otpId}. */
export interface RecordRequestOTPRequestEvent extends CollectionRequestEvent {
  collection: AuthCollection;
  email: string;
}

/** POST …/request-verification and …/request-password-reset: next() starts the mail for `email` (204 whatever the address). */
export interface RecordEmailRequestEvent extends CollectionRequestEvent {
  collection: AuthCollection;
  email: string;
}

/** POST …/confirm-verification, …/confirm-password-reset, …/confirm-email-change: next() checks `token` and applies it. */
export interface RecordConfirmRequestEvent extends CollectionRequestEvent {
  collection: AuthCollection;
  token: string;
  /** The record the token was for, set by next(). */
  record?: RecordData;
}

/** POST …/request-email-change (auth required): `record` is the signed-in record. */
export interface RecordRequestEmailChangeRequestEvent extends CollectionRequestEvent {
  collection: AuthCollection;
  record: RecordData;
  newEmail: string;
}

/** GET|HEAD /api/files/{collection}/{record}/{filename}, after the access checks: next() sends the file. */
export interface FileDownloadRequestEvent extends CollectionRequestEvent {
  record: RecordData;
  fileField: string;
  /** The stored file name (thumbnails: the original's). */
  servedName: string;
}

/** One sub-request of a batch as the client sent it. */
export interface BatchSubRequest {
  method: string;
  url: string;
  body: Record<string, unknown>;
}

/** POST /api/batch: `requests` may be changed (or refused by throwing) before next() runs them in one transaction. */
export interface BatchRequestEvent extends RequestEvent {
  requests: BatchSubRequest[];
}

/** GET /api/settings (superusers): `response` is the redacted settings. */
export type SettingsListRequestEvent = RequestEvent;

/** PATCH /api/settings (superusers): `patch` is the submitted change; `response` the redacted result. */
export interface SettingsUpdateRequestEvent extends RequestEvent {
  patch: Record<string, unknown>;
}

/** GET /api/realtime (before the stream opens): throw to refuse the connection. */
export type RealtimeConnectRequestEvent = RequestEvent;

/** POST /api/realtime: `clientId` and the `subscriptions` asked for (changeable) before next() applies them. */
export interface RealtimeSubscribeRequestEvent extends RequestEvent {
  clientId: string;
  subscriptions: string[];
}

/** GET /api/collections (superusers): `response` is {items, page, perPage, totalItems, totalPages}. */
export type CollectionsListRequestEvent = RequestEvent;

/** GET /api/collections/{c} (superusers): `response` is the collection's JSON. */
export type CollectionViewRequestEvent = CollectionRequestEvent;

/** POST /api/collections (superusers): `body` is the new collection's JSON (changeable). */
export interface CollectionCreateRequestEvent extends RequestEvent {
  body: Record<string, unknown>;
}

/** PATCH /api/collections/{c} (superusers): `collection` is the current one, `body` the change. */
export interface CollectionUpdateRequestEvent extends CollectionRequestEvent {
  body: Record<string, unknown>;
}

/** DELETE /api/collections/{c} (superusers). */
export type CollectionDeleteRequestEvent = CollectionRequestEvent;

/** POST /api/files/token: `request.auth` is the record the file token is for; `response` is {token}. */
export type FileTokenRequestEvent = RequestEvent;
