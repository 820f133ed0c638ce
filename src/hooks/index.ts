/**
 * The internal hook bus: typed events realtime, files, webhooks and user code subscribe to.
 *
 * - `onRecord{Create,Update,Delete}` run INSIDE the write transaction around the SQL write: a handler may
 *   change `event.record`, throw to abort (the transaction rolls back), or call `next()` and then act on
 *   the written row.
 * - `onRecordAfter{Create,Update,Delete}Commit` run AFTER the transaction committed. They cannot change
 *   the outcome; their errors are logged, never sent to the client. `afterCommit()` returns a promise
 *   tests can await.
 * - `onCollectionChange` and `onSettingsChange` fire after a schema/settings change committed.
 */
import type { Collection } from '../collections/model.js';
import type { Executor } from '../db/dialect.js';
import type { RequestInfo } from '../rules/request-info.js';
import { Hook } from './hook.js';

export { Hook, type HookHandler, type HookOptions } from './hook.js';

/** A record as the records layer holds it: field name → value (after fromDb), hidden fields included. */
export type RecordData = Record<string, unknown>;

export interface RecordEvent {
  tags: readonly string[];
  collection: Collection;
  record: RecordData;
  /** The stored record before an update/delete. */
  previous?: RecordData;
  /** The transaction the write runs in (record hooks only; undefined after commit). */
  tx?: Executor;
  /** The request that caused it, when there is one. */
  request?: RequestInfo;
}

export interface CollectionChangeEvent {
  tags: readonly string[];
  action: 'create' | 'update' | 'delete';
  collection: Collection;
  previous?: Collection;
}

export interface SettingsChangeEvent {
  tags?: readonly string[];
  settings: unknown;
}

/** Before a backup is made (`name` is its key) or restored; throwing cancels it (PocketBase's OnBackupCreate/OnBackupRestore). */
export interface BackupEvent {
  tags?: readonly string[];
  name: string;
}

export class HookBus {
  readonly onRecordCreate = new Hook<RecordEvent>();
  readonly onRecordUpdate = new Hook<RecordEvent>();
  readonly onRecordDelete = new Hook<RecordEvent>();
  readonly onRecordAfterCreateCommit = new Hook<RecordEvent>();
  readonly onRecordAfterUpdateCommit = new Hook<RecordEvent>();
  readonly onRecordAfterDeleteCommit = new Hook<RecordEvent>();
  readonly onCollectionChange = new Hook<CollectionChangeEvent>();
  readonly onSettingsChange = new Hook<SettingsChangeEvent>();
  readonly onBackupCreate = new Hook<BackupEvent>();
  readonly onBackupRestore = new Hook<BackupEvent>();

  private pending = new Set<Promise<void>>();

  constructor(private readonly logError: (err: unknown, msg: string) => void = () => {}) {}

  /** Fires an after-commit hook without letting its failure reach the caller. */
  afterCommit<E extends { tags?: readonly string[] }>(hook: Hook<E>, event: E): void {
    if (hook.length === 0) return;
    const p = hook
      .trigger(event)
      .catch((err) => this.logError(err, 'after-commit hook failed'))
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /** Resolves when every after-commit handler started so far has finished (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }
}
