/**
 * What a rule or filter may know about the request (`@request.*`). Built once per request by http/,
 * consumed by the rules compiler. Plain data: no framework types.
 */
import type { AuthCollection } from '../collections/model.js';

/** The authenticated record, with raw stored values (hidden fields included, password/tokenKey too). */
export interface AuthState {
  collection: AuthCollection;
  record: Record<string, unknown>;
}

export type RequestContext = 'default' | 'oauth2' | 'otp' | 'password' | 'realtime' | 'protectedFile' | 'batch' | 'expand';

export interface RequestInfo {
  context: RequestContext;
  /** Upper-case HTTP method. */
  method: string;
  /** Header names lower-cased with '-' turned into '_'; values as strings. */
  headers: Record<string, string>;
  /** Query params, first value of each, as strings. */
  query: Record<string, string>;
  /** Submitted body values after parsing (files excluded). Keys as submitted (modifiers already folded). */
  body: Record<string, unknown>;
  auth: AuthState | null;
}

export function isSuperuser(info: Pick<RequestInfo, 'auth'>): boolean {
  return info.auth?.collection.name === '_superusers';
}

/** An empty guest request (tests, internal calls). */
export function guestRequest(overrides: Partial<RequestInfo> = {}): RequestInfo {
  return { context: 'default', method: 'GET', headers: {}, query: {}, body: {}, auth: null, ...overrides };
}
