/**
 * Converting between stored rows, in-memory records and the public JSON PocketBase clients expect.
 */
import { getFieldType } from '../collections/fields/index.js';
import type { Collection, Field } from '../collections/model.js';
import { ident, join, param, sql, type Sql } from '../db/sql.js';
import type { RecordData } from '../hooks/index.js';
import { isSuperuser, type RequestInfo } from '../rules/request-info.js';

/** A stored row → a record (every field, hidden ones included). */
export function rowToRecord(collection: Collection, row: Record<string, unknown>): RecordData {
  const record: RecordData = {};
  for (const field of collection.fields) {
    record[field.name] = getFieldType(field.type).fromDb(row[field.name], field as never);
  }
  return record;
}

/** Who is looking, for output decisions. */
export interface Viewer {
  superuser: boolean;
  /** The viewer's own record id and collection (owners always see their email). */
  authId: string | null;
  authCollectionId: string | null;
  /** Ids of auth records the viewer passes manageRule for (filled by the caller when relevant). */
  manages?: (recordId: string) => boolean;
}

export function viewerOf(req: RequestInfo): Viewer {
  return {
    superuser: isSuperuser(req),
    authId: (req.auth?.record.id as string | undefined) ?? null,
    authCollectionId: req.auth?.collection.id ?? null,
  };
}

/** Fields never sent to anyone, whatever the viewer. */
function neverOutput(field: Field): boolean {
  return field.type === 'password' || (field.name === 'tokenKey' && field.system);
}

/**
 * The record as JSON: `collectionId`, `collectionName`, then every visible field, then `expand` when
 * something was expanded. Hidden fields only for superusers; on auth collections `email` only when
 * `emailVisibility` is on or the viewer is the owner, a superuser or a manager.
 */
export function publicRecord(
  collection: Collection,
  record: RecordData,
  viewer: Viewer,
  expand?: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { collectionId: collection.id, collectionName: collection.name };
  const isOwner =
    collection.type === 'auth' && viewer.authCollectionId === collection.id && viewer.authId === record.id;
  for (const field of collection.fields) {
    if (neverOutput(field)) continue;
    if (field.hidden && !viewer.superuser) continue;
    if (collection.type === 'auth' && field.name === 'email' && field.system) {
      const visible = record.emailVisibility === true || isOwner || viewer.superuser || Boolean(viewer.manages?.(record.id as string));
      if (!visible) continue;
    }
    out[field.name] = record[field.name];
  }
  if (expand && Object.keys(expand).length) out.expand = expand;
  return out;
}

/**
 * `SELECT ? AS "col", …`: a record that is not (or no longer) stored, as a row source rules can be
 * checked against: a would-be record for create rules, a deleted one relayed from another node.
 */
export function virtualRow(collection: Collection, record: RecordData): Sql {
  const cols = collection.fields.map((f) => sql`${param(getFieldType(f.type).toDb(record[f.name], f as never))} AS ${ident(f.name)}`);
  return sql`SELECT ${join(cols)}`;
}
