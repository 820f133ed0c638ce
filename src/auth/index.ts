/**
 * The auth capability: every flow PocketBase has (password, OTP, OAuth2, MFA, emailed links) plus TOTP,
 * API keys and "log out everywhere", built once by the composition root and used by the HTTP routes.
 */
import type { AuthCollection } from '../collections/model.js';
import { ident, sql } from '../db/sql.js';
import type { RecordEvent } from '../hooks/index.js';
import { formatDateTime } from '../util/datetime.js';
import { randomString } from '../util/random.js';
import { ApiKeyStore, ensureApiKeyTable } from './api-keys.js';
import { BackgroundTasks } from './background.js';
import type { AuthDeps } from './deps.js';
import { EmailFlows } from './email-flows.js';
import { MfaService } from './mfa.js';
import { OtpService } from './otp.js';
import { ensureTotpTable, TotpStore } from './totp.js';

export type { AuthDeps } from './deps.js';
export type { AuthMethod } from './mfa.js';
export { API_KEY_PREFIX, type VerifiedApiKey } from './api-keys.js';

/** Collections whose rows belong to one auth record and go when it goes. */
const OWNED_BOOKKEEPING = ['_externalAuths', '_mfas', '_otps', '_authOrigins'];

/** All auth services of one app. */
export class AuthServices {
  readonly deps: AuthDeps;
  readonly otp: OtpService;
  readonly mfa: MfaService;
  readonly totp: TotpStore;
  readonly apiKeys: ApiKeyStore;
  readonly emailFlows: EmailFlows;

  constructor(deps: Omit<AuthDeps, 'background'>) {
    this.deps = { ...deps, background: new BackgroundTasks(deps.logger) };
    this.otp = new OtpService(this.deps);
    this.mfa = new MfaService(this.deps);
    this.totp = new TotpStore(deps.db, deps.box ?? (() => null));
    this.apiKeys = new ApiKeyStore(deps.db, deps.collections);
    this.emailFlows = new EmailFlows(this.deps);
  }

  /** Creates the internal tables and binds the clean-up of a deleted auth record's bookkeeping rows. */
  async init(): Promise<void> {
    await ensureTotpTable(this.deps.db);
    await ensureApiKeyTable(this.deps.db);
    this.deps.hooks.onRecordDelete.bind(
      async (e: RecordEvent, next) => {
        await next();
        if (e.collection.type !== 'auth' || !e.tx) return;
        const id = e.record.id as string;
        for (const name of OWNED_BOOKKEEPING) {
          if (!this.deps.collections.find(name)) continue;
          await e.tx.run(sql`DELETE FROM ${ident(name)} WHERE ${ident('collectionRef')} = ${e.collection.id} AND ${ident('recordRef')} = ${id}`);
        }
        await this.totp.remove(e.collection.id, id, e.tx);
      },
      { id: 'auth:owned-rows-cleanup' },
    );
  }

  /** Work started by requests and not awaited by them (mails, login origins). */
  get background(): BackgroundTasks {
    return this.deps.background;
  }

  /**
   * "Log out everywhere": a new tokenKey invalidates every token ever issued to the record (auth,
   * verification, reset, email change). Announced as a record update after commit (realtime drops its
   * subscriptions on it).
   */
  async rotateTokenKey(collection: AuthCollection, recordId: string): Promise<void> {
    const { db, reader, hooks } = this.deps;
    await db.transaction(async (tx) => {
      const previous = await reader.findById(collection, recordId, tx);
      if (!previous) return;
      const tokenKey = randomString(50);
      await tx.run(sql`UPDATE ${ident(collection.name)} SET ${ident('tokenKey')} = ${tokenKey} WHERE ${ident('id')} = ${recordId}`);
      const event: RecordEvent = { tags: [collection.id, collection.name], collection, record: { ...previous, tokenKey }, previous };
      tx.afterCommit(() => hooks.afterCommit(hooks.onRecordAfterUpdateCommit, event));
    });
  }

  /**
   * Deletes the OTPs (or MFA sessions) that outlived their auth collection's `otp.duration` /
   * `mfa.duration` (PocketBase's `__pbOTPCleanup__` / `__pbMFACleanup__` jobs); returns how many.
   */
  async cleanupExpired(table: '_otps' | '_mfas', now = Date.now()): Promise<number> {
    const { db, collections } = this.deps;
    let removed = 0;
    for (const c of collections.all()) {
      if (c.type !== 'auth') continue;
      if (!collections.find(table)) continue;
      const seconds = table === '_otps' ? c.otp.duration : c.mfa.duration;
      const cutoff = formatDateTime(new Date(now - seconds * 1000));
      const res = await db.run(sql`DELETE FROM ${ident(table)} WHERE ${ident('collectionRef')} = ${c.id} AND ${ident('created')} < ${cutoff}`);
      removed += res.changes;
    }
    return removed;
  }

  /** Resolves once the background work started so far has finished (shutdown, tests). */
  settled(): Promise<void> {
    return this.deps.background.settled();
  }
}
