/**
 * Multi-factor sessions (`_mfas`): the first successful method opens one (the client gets 401 {mfaId});
 * a second, different method closes it. Closing is a conditional DELETE, so one MFA session completes at
 * most one login however many requests race for it.
 *
 * MFA is wanted when the collection enables it and its `mfa.rule` matches the record (empty = always),
 * or, beyond PocketBase, when the user enrolled an authenticator app (TOTP): then the second factor must
 * be that app (or one of its recovery codes).
 */
import type { AuthCollection } from '../collections/model.js';
import type { Executor } from '../db/dialect.js';
import { ident, sql } from '../db/sql.js';
import { AppError } from '../errors/index.js';
import type { RecordData } from '../hooks/index.js';
import { ROOT_ALIAS } from '../records/access.js';
import { systemRequest } from '../records/system-request.js';
import { compileFilter } from '../rules/index.js';
import type { RequestInfo } from '../rules/request-info.js';
import { parseDateTime } from '../util/datetime.js';
import type { AuthDeps } from './deps.js';

/** The auth methods MFA distinguishes. */
export type AuthMethod = 'password' | 'oauth2' | 'otp' | 'totp';

const MFAS = '_mfas';

/** A pending MFA session as stored. */
export interface MfaSession {
  id: string;
  collectionRef: string;
  recordRef: string;
  method: string;
  created: string;
}

/** Opening, finding and completing MFA sessions. */
export class MfaService {
  constructor(private readonly deps: AuthDeps) {}

  /** Whether the collection's MFA applies to this record (its rule evaluated with the request). */
  async collectionWantsMfa(collection: AuthCollection, record: RecordData, req: RequestInfo): Promise<boolean> {
    if (!collection.mfa.enabled) return false;
    const rule = collection.mfa.rule.trim();
    if (rule === '') return true;
    try {
      const info = { ...req, auth: { collection, record } };
      const cond = compileFilter(rule, {
        collection,
        schema: this.deps.collections,
        dialect: this.deps.db.dialect,
        rootAlias: ROOT_ALIAS,
        request: info,
        mode: 'rule',
      });
      const row = await this.deps.db.get(
        sql`SELECT 1 AS ok FROM ${ident(collection.name)} AS ${ident(ROOT_ALIAS)} WHERE ${ident(ROOT_ALIAS, 'id')} = ${record.id as string} AND (${cond}) LIMIT 1`,
      );
      return Boolean(row);
    } catch {
      return true; // a broken rule must not switch the second factor off
    }
  }

  /** Opens an MFA session after a successful first method; returns its id. */
  async open(collection: AuthCollection, record: RecordData, method: AuthMethod): Promise<string> {
    const { writer, collections } = this.deps;
    const created = await writer.create(
      collections.require(MFAS),
      { data: { collectionRef: collection.id, recordRef: record.id, method } },
      systemRequest(collections),
    );
    return created.id as string;
  }

  /** A live (unexpired) session of `collection`, or null. */
  async find(collection: AuthCollection, mfaId: string): Promise<MfaSession | null> {
    if (mfaId === '' || mfaId.length > 255) return null;
    const row = await this.deps.db.get<MfaSession>(sql`SELECT * FROM ${ident(MFAS)} WHERE ${ident('id')} = ${mfaId}`);
    if (!row || row.collectionRef !== collection.id) return null;
    const created = parseDateTime(String(row.created));
    if (!created || created.getTime() + collection.mfa.duration * 1000 < Date.now()) {
      await this.delete(mfaId);
      return null;
    }
    return row;
  }

  /**
   * Completes the session with a second method: it must belong to the record, use a different method
   * (the TOTP one when `requireMethod` says so), and still exist when we delete it (single use).
   */
  async complete(
    collection: AuthCollection,
    record: RecordData,
    mfaId: string,
    method: AuthMethod,
    requireMethod?: AuthMethod,
    exec: Executor = this.deps.db,
  ): Promise<void> {
    const session = await this.find(collection, mfaId);
    if (!session) throw AppError.badRequest('Invalid or expired MFA session.');
    if (session.recordRef !== record.id) throw AppError.badRequest('Invalid MFA session.');
    if (session.method === method) throw AppError.badRequest('A different authentication method is required.');
    if (requireMethod && method !== requireMethod) throw AppError.badRequest('A different authentication method is required.');
    const res = await exec.transaction((tx) =>
      tx.run(sql`DELETE FROM ${ident(MFAS)} WHERE ${ident('id')} = ${mfaId} AND ${ident('recordRef')} = ${record.id as string}`),
    );
    if (res.changes !== 1) throw AppError.badRequest('Invalid or expired MFA session.');
  }

  /**
   * Inside a transaction: holds the session until it ends, so concurrent attempts on one session run
   * one after another (a row lock on PostgreSQL; SQLite's single writer already does). False when gone.
   */
  async lock(mfaId: string, tx: Executor): Promise<boolean> {
    const row = await tx.get(sql`SELECT ${ident('id')} FROM ${ident(MFAS)} WHERE ${ident('id')} = ${mfaId}${this.deps.db.dialect.forUpdate}`);
    return row !== undefined;
  }

  /** Drops a session (expired, or too many wrong second-factor codes). */
  async delete(mfaId: string): Promise<void> {
    await this.deps.db.run(sql`DELETE FROM ${ident(MFAS)} WHERE ${ident('id')} = ${mfaId}`);
  }
}
