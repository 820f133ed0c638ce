/** Finding auth records the way the auth flows need them. */
import type { AuthCollection } from '../collections/model.js';
import type { Executor } from '../db/dialect.js';
import { ident, sql } from '../db/sql.js';
import type { RecordData } from '../hooks/index.js';
import { rowToRecord } from '../records/record-io.js';

/** The record whose email equals `email`, ignoring ASCII case (emails are unique that way in practice). */
export async function findAuthRecordByEmail(exec: Executor, collection: AuthCollection, email: string): Promise<RecordData | undefined> {
  if (email === '' || email.length > 255) return undefined;
  const row = await exec.get(sql`SELECT * FROM ${ident(collection.name)} WHERE LOWER(${ident('email')}) = LOWER(${email}) LIMIT 1`);
  return row ? rowToRecord(collection, row) : undefined;
}

/** A light email syntax check (PocketBase's is.EmailFormat equivalent): one @, no spaces, a dotless domain allowed. */
export function isEmailFormat(value: unknown): value is string {
  return typeof value === 'string' && value.length >= 3 && value.length <= 255 && /^[^\s@]+@[^\s@]+$/.test(value);
}
