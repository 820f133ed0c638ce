/**
 * Converting between stored rows, in-memory records and the public JSON PocketBase clients expect.
 */
import { getFieldType } from '../collections/fields/index.js';
import type { FieldType } from '../collections/fields/field-type.js';
import type { Collection, Field } from '../collections/model.js';
import { ident, join, param, sql, type Sql } from '../db/sql.js';
import type { RecordData } from '../hooks/index.js';
import { isSuperuser, type RequestInfo } from '../rules/request-info.js';

/**
 * What reading and printing a collection's records needs, worked out once per field list (records are
 * converted on every request; the field list only changes with the schema, which replaces the array).
 */
interface RecordCodec {
  readonly fields: readonly Field[];
  readonly decoders: ReadonlyArray<{ readonly name: string; readonly field: Field; readonly type: FieldType<Field> }>;
  /** Fields that may be printed, in order; `hidden` ones only for superusers, `email` only when visible. */
  readonly printed: ReadonlyArray<{ readonly name: string; readonly hidden: boolean; readonly isAuthEmail: boolean }>;
}

const codecs = new WeakMap<Collection, RecordCodec>();
const COLLECTION_ID_KEY = { name: 'collectionId', hidden: false, isAuthEmail: false } as const;
const COLLECTION_NAME_KEY = { name: 'collectionName', hidden: false, isAuthEmail: false } as const;
const EXPAND_KEY = { name: 'expand', hidden: false, isAuthEmail: false } as const;

function codecOf(collection: Collection): RecordCodec {
  let codec = codecs.get(collection);
  if (codec?.fields !== collection.fields) {
    codec = {
      fields: collection.fields,
      decoders: collection.fields.map((field) => ({ name: field.name, field, type: getFieldType(field.type) })),
      printed: collection.fields
        .filter((field) => !neverOutput(field) && field.name !== 'expand')
        .map((field) => ({
          name: field.name,
          hidden: field.hidden,
          isAuthEmail: collection.type === 'auth' && field.name === 'email' && field.system,
        }))
        // PocketBase serialises a record as a Go map: keys in byte order (collectionId, collectionName and
        // expand sorted in among the fields). Snapshot tests of PocketBase answers depend on it.
        .concat([COLLECTION_ID_KEY, COLLECTION_NAME_KEY, EXPAND_KEY])
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    };
    codecs.set(collection, codec);
  }
  return codec;
}

/** A stored row → a record (every field, hidden ones included). */
export function rowToRecord(collection: Collection, row: Record<string, unknown>): RecordData {
  const record: RecordData = {};
  for (const { name, field, type } of codecOf(collection).decoders) record[name] = type.fromDb(row[name], field);
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

/** Owners, superusers and managers always see an auth record's email; others only with emailVisibility on. */
function emailVisible(collection: Collection, record: RecordData, viewer: Viewer): boolean {
  if (record.emailVisibility === true || viewer.superuser) return true;
  if (viewer.authCollectionId === collection.id && viewer.authId === record.id) return true;
  return Boolean(viewer.manages?.(record.id as string));
}

/** Fields never sent to anyone, whatever the viewer. */
function neverOutput(field: Field): boolean {
  return field.type === 'password' || (field.name === 'tokenKey' && field.system);
}

/**
 * The record as JSON, keys in byte order as PocketBase prints them: `collectionId`, `collectionName`, every
 * visible field and `expand` when a valid expand path was requested (`{}` when it found nothing). Hidden fields only for superusers; on auth collections `email` only when
 * `emailVisibility` is on or the viewer is the owner, a superuser or a manager.
 */
export function publicRecord(collection: Collection, record: RecordData, viewer: Viewer, expand?: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const entry of codecOf(collection).printed) {
    if (entry === COLLECTION_ID_KEY) out.collectionId = collection.id;
    else if (entry === COLLECTION_NAME_KEY) out.collectionName = collection.name;
    else if (entry === EXPAND_KEY) {
      // Present (`{}` included) once an expand path was valid, as PocketBase prints it.
      if (expand) out.expand = expand;
    } else {
      if (entry.hidden && !viewer.superuser) continue;
      if (entry.isAuthEmail && !emailVisible(collection, record, viewer)) continue;
      out[entry.name] = record[entry.name];
    }
  }
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
