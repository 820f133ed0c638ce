/**
 * From a token to its auth record, PocketBase's way: read the unverified claims only to find the
 * collection and record, then verify the signature with that record's key (HS256 only), the expiry and
 * the token type. Anything off is simply "no record".
 */
import type { AuthCollection } from '../collections/model.js';
import type { CollectionStore } from '../collections/store.js';
import type { RecordData } from '../hooks/index.js';
import type { RecordReader } from '../records/query.js';
import { peekClaims, verifyToken, type TokenType } from './tokens.js';

/** A verified token with its record. */
export interface TokenRecord {
  collection: AuthCollection;
  record: RecordData;
  claims: Record<string, unknown>;
}

/**
 * Verifies `token` as a token of `type`; when `collection` is given the token must belong to it.
 * Returns null for any invalid, expired, foreign or mistyped token and for deleted records.
 */
export async function recordFromToken(
  token: unknown,
  type: TokenType,
  collections: CollectionStore,
  reader: RecordReader,
  collection?: AuthCollection,
): Promise<TokenRecord | null> {
  if (typeof token !== 'string' || token === '') return null;
  const peek = peekClaims(token);
  if (!peek || peek.type !== type) return null;
  const c = collections.find(peek.collectionId);
  if (!c || c.type !== 'auth' || c.id !== peek.collectionId) return null;
  if (collection && c.id !== collection.id) return null;
  const record = await reader.findById(c, peek.id);
  if (!record) return null;
  const claims = await verifyToken(token, c, { tokenKey: String(record.tokenKey ?? '') }, type);
  if (!claims || claims.id !== record.id) return null;
  return { collection: c, record, claims };
}
