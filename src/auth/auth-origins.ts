/**
 * Login alerts (`authAlert`): each auth record remembers the last 5 devices it signed in from
 * (`_authOrigins`, fingerprint = SHA-256 of client IP and user agent). A sign-in from a device not in
 * that list sends the "login from a new location" mail, except for the very first sign-in.
 */
import { createHash } from 'node:crypto';
import type { AuthCollection } from '../collections/model.js';
import { ident, sql } from '../db/sql.js';
import type { RecordData } from '../hooks/index.js';
import { renderRecordMail } from '../mail/index.js';
import { systemRequest } from '../records/system-request.js';
import { nowDateTime } from '../util/datetime.js';
import type { AuthDeps } from './deps.js';

const ORIGINS = '_authOrigins';
const MAX_ORIGINS = 5;

/** Where a sign-in came from. */
export interface LoginContext {
  ip: string;
  userAgent: string;
}

/** The fingerprint stored for a device. */
export function originFingerprint(ctx: LoginContext): string {
  return createHash('sha256')
    .update(`${ctx.ip}\u0000${ctx.userAgent.slice(0, 300)}`)
    .digest('hex');
}

/** Records the origin of a successful sign-in and mails an alert when it is new (run in the background). */
export async function recordLoginOrigin(deps: AuthDeps, collection: AuthCollection, record: RecordData, ctx: LoginContext): Promise<void> {
  const { db, writer, collections, settings, mailer } = deps;
  const fingerprint = originFingerprint(ctx);
  const recordId = record.id as string;
  const origins = await db.all<{ id: string; fingerprint: string }>(
    sql`SELECT ${ident('id')}, ${ident('fingerprint')} FROM ${ident(ORIGINS)}
        WHERE ${ident('collectionRef')} = ${collection.id} AND ${ident('recordRef')} = ${recordId} ORDER BY ${ident('updated')} DESC`,
  );
  const known = origins.find((o) => o.fingerprint === fingerprint);
  if (known) {
    await db.run(sql`UPDATE ${ident(ORIGINS)} SET ${ident('updated')} = ${nowDateTime()} WHERE ${ident('id')} = ${known.id}`);
    return;
  }
  try {
    await writer.create(collections.require(ORIGINS), { data: { collectionRef: collection.id, recordRef: recordId, fingerprint } }, systemRequest(collections));
  } catch {
    return; // a concurrent sign-in from the same device inserted it first
  }
  // Keep the newest MAX_ORIGINS (the one just added included).
  for (const old of origins.slice(MAX_ORIGINS - 1)) {
    await db.run(sql`DELETE FROM ${ident(ORIGINS)} WHERE ${ident('id')} = ${old.id}`);
  }
  const email = String(record.email ?? '');
  // No alert without mail (said once at start): the new origin is still remembered.
  if (origins.length === 0 || email === '' || !collection.authAlert.enabled || !mailer.enabled) return;
  const info = `${ctx.ip}${ctx.userAgent ? ` (${ctx.userAgent.slice(0, 300)})` : ''}`;
  const mail = renderRecordMail('login-alert', collection, record, settings(), { ALERT_INFO: info });
  await mailer.send({ to: email, ...mail });
}
