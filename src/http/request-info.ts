/**
 * Builds the framework-free RequestInfo (what rules see as `@request.*`) from a Fastify request, and
 * resolves the `Authorization` token to an auth record. An invalid or expired token makes the request a
 * guest, as in PocketBase; routes that need auth answer 401 themselves.
 */
import type { FastifyRequest } from 'fastify';
import type { CollectionStore } from '../collections/store.js';
import type { AuthCollection } from '../collections/model.js';
import type { RecordReader } from '../records/query.js';
import { peekClaims, verifyToken } from '../auth/tokens.js';
import type { AuthState, RequestContext, RequestInfo } from '../rules/request-info.js';
import { requestBody } from './body-parser.js';

/** The raw token from `Authorization: <token>` or `Authorization: Bearer <token>`. */
export function tokenFromHeader(header: string | undefined): string | null {
  if (!header) return null;
  const trimmed = header.trim();
  const token = /^bearer\s+/i.test(trimmed) ? trimmed.replace(/^bearer\s+/i, '') : trimmed;
  return token === '' ? null : token;
}

/** Verifies an auth token against its record; null for anything invalid. */
export async function resolveAuth(token: string | null, collections: CollectionStore, reader: RecordReader): Promise<AuthState | null> {
  if (!token) return null;
  const claims = peekClaims(token);
  if (!claims || claims.type !== 'auth') return null;
  const collection = collections.find(claims.collectionId);
  if (!collection || collection.type !== 'auth' || collection.id !== claims.collectionId) return null;
  const record = await reader.findById(collection, claims.id);
  if (!record) return null;
  const verified = await verifyToken(token, collection as AuthCollection, { tokenKey: String(record.tokenKey ?? '') }, 'auth');
  if (!verified) return null;
  return { collection: collection as AuthCollection, record };
}

const snakeNames = new Map<string, string>();

/** `X-Custom-Header` → `x_custom_header`; the few distinct names a server sees are remembered (bounded). */
function snakeHeaderName(name: string): string {
  let snake = snakeNames.get(name);
  if (snake === undefined) {
    snake = name.toLowerCase().replace(/-/g, '_');
    if (snakeNames.size >= 1000) snakeNames.clear();
    snakeNames.set(name, snake);
  }
  return snake;
}

/** First value of every query param, as strings. */
export function queryOf(req: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  const q = req.query as Record<string, unknown> | undefined;
  if (!q) return out;
  // for…in, not Object.entries (which allocates a pair per key): this runs on every request.
  for (const k in q) {
    if (!Object.hasOwn(q, k)) continue;
    const v = q[k];
    const first = Array.isArray(v) ? v[0] : v;
    if (typeof first === 'string') out[k] = first;
  }
  return out;
}

/** `@request.headers`: names lower-cased with '-' → '_', repeated values comma-joined. */
function headersOf(req: FastifyRequest): Record<string, string> {
  const headers: Record<string, string> = {};
  const raw = req.headers;
  for (const k in raw) {
    if (!Object.hasOwn(raw, k)) continue;
    const v = raw[k];
    if (typeof v === 'string') headers[snakeHeaderName(k)] = v;
    else if (Array.isArray(v)) headers[snakeHeaderName(k)] = v.join(',');
  }
  return headers;
}

export function buildRequestInfo(req: FastifyRequest, auth: AuthState | null, context: RequestContext = 'default'): RequestInfo {
  return { context, method: req.method, headers: headersOf(req), query: queryOf(req), body: requestBody(req).data, auth };
}
