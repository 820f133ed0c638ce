/**
 * Wires the realtime service to the hook bus: record events become messages, and auth changes reach the
 * streams that hold that auth.
 *
 * - create/update: after commit, queued in commit order, checked against the committed data;
 * - delete: checked and serialised inside the transaction *before* the row goes (afterwards there is
 *   nothing left to check), flushed only once the outermost transaction commits (a rollback drops it);
 * - auth records: a changed tokenKey (password/email change) or a delete downgrades that identity's
 *   streams to guest; any other update refreshes the stored record; a changed auth collection refreshes
 *   the stored collection, and a rotated token secret or a dropped collection drops the auth. These run in
 *   the delivery queue, so they take effect exactly between the events committed before and after them.
 */
import type { AuthCollection, Collection } from '../collections/model.js';
import type { Database } from '../db/dialect.js';
import type { CollectionChangeEvent, HookBus, RecordData, RecordEvent } from '../hooks/index.js';
import { virtualRow } from '../records/record-io.js';
import type { AuthState } from '../rules/request-info.js';
import type { Broker } from './broker.js';
import { deliver, type FanOut, type RecordAction } from './fan-out.js';

/** What the bindings need from the service. */
export interface RecordEventDeps {
  hooks: HookBus;
  db: Database;
  broker: Broker;
  fanOut: FanOut;
  /** Runs `job` after every job queued before it (delivery in commit order); never rejects. */
  enqueue(job: () => Promise<void> | void): Promise<void>;
  logError(err: unknown, msg: string): void;
}

/** Binds the handlers; returns a function that unbinds them all. */
export function bindRecordEvents(deps: RecordEventDeps): () => void {
  const { hooks, broker, fanOut } = deps;

  // Auth changes go through the same queue as record events: every event committed before the change is
  // checked with the old auth, every event committed after it with the new one (or as a guest).
  const afterCommit = (action: Exclude<RecordAction, 'delete'>) => async (e: RecordEvent, next: () => Promise<void>) => {
    const jobs: Array<Promise<void>> = [];
    if (action === 'update' && e.collection.type === 'auth') jobs.push(deps.enqueue(() => syncAuth(broker, e)));
    if (fanOut.hasSubscribers(e.collection, String(e.record.id))) {
      jobs.push(deps.enqueue(async () => void (await deliver(await fanOut.prepare(action, e.collection, e.record, deps.db)))));
    }
    await next();
    await Promise.all(jobs);
  };

  const ids = {
    create: hooks.onRecordAfterCreateCommit.bind(afterCommit('create'), { id: 'realtime:create' }),
    update: hooks.onRecordAfterUpdateCommit.bind(afterCommit('update'), { id: 'realtime:update' }),
    deleted: hooks.onRecordAfterDeleteCommit.bind(
      async (e, next) => {
        // Queued behind this delete's own messages: a user deleting their account still hears about it.
        const job = e.collection.type === 'auth' ? deps.enqueue(() => broker.dropAuth(`${e.collection.id}/${String(e.record.id)}`)) : undefined;
        await next();
        await job;
      },
      { id: 'realtime:auth-delete' },
    ),
    delete: hooks.onRecordDelete.bind(
      async (e, next) => {
        const tx = e.tx;
        if (!tx || !fanOut.hasSubscribers(e.collection, String(e.record.id))) return next();
        // Realtime must never veto a delete: a failure here only costs the message.
        const prepared = await fanOut.prepare('delete', e.collection, e.record, tx).catch((err: unknown) => {
          deps.logError(err, 'realtime: preparing a delete message failed');
          return [];
        });
        await next();
        // Registered only once the delete itself succeeded; a rolled-back savepoint drops it too.
        if (prepared.length) tx.afterCommit(() => void deps.enqueue(async () => void (await deliver(prepared))));
      },
      // Late in the chain: handlers that change or veto the delete run first.
      { id: 'realtime:delete', priority: 1000 },
    ),
    collection: hooks.onCollectionChange.bind(
      async (e, next) => {
        const job = deps.enqueue(() => syncCollection(broker, e));
        await next();
        await job;
      },
      { id: 'realtime:collections' },
    ),
  };

  return () => {
    hooks.onRecordAfterCreateCommit.unbind(ids.create);
    hooks.onRecordAfterUpdateCommit.unbind(ids.update);
    hooks.onRecordAfterDeleteCommit.unbind(ids.deleted);
    hooks.onRecordDelete.unbind(ids.delete);
    hooks.onCollectionChange.unbind(ids.collection);
  };
}

/**
 * A record change committed on another node of the cluster (cluster/index.ts): the same deliveries and
 * auth changes as a local one. A create/update comes re-read from the database; a delete comes as the
 * record that was deleted, and rules are checked against it as a virtual row, since the stored one is gone.
 */
export function relayRecordEvent(
  deps: RecordEventDeps,
  action: RecordAction,
  collection: Collection,
  record: RecordData,
  tokenKeyChanged = false,
): Promise<void> {
  const { broker, fanOut } = deps;
  const key = `${collection.id}/${String(record.id)}`;
  const jobs: Array<Promise<void>> = [];
  if (action === 'update' && collection.type === 'auth') {
    jobs.push(deps.enqueue(() => (tokenKeyChanged ? broker.dropAuth(key) : broker.refreshAuth({ collection: collection as AuthCollection, record }))));
  }
  if (fanOut.hasSubscribers(collection, String(record.id))) {
    const row = action === 'delete' ? virtualRow(collection, record) : undefined;
    jobs.push(deps.enqueue(async () => void (await deliver(await fanOut.prepare(action, collection, record, deps.db, row)))));
  }
  if (action === 'delete' && collection.type === 'auth') jobs.push(deps.enqueue(() => broker.dropAuth(key)));
  return Promise.all(jobs).then(() => undefined);
}

/** A dropped auth collection drops its auths; an updated one refreshes them, unless its token secret changed. */
function syncCollection(broker: Broker, e: CollectionChangeEvent): void {
  const id = e.collection.id;
  if (e.action === 'delete') {
    broker.mapAuth((auth) => (auth.collection.id === id ? null : auth));
  } else if (e.action === 'update') {
    const after = e.collection;
    broker.mapAuth((auth): AuthState | null => {
      if (auth.collection.id !== id) return auth;
      if (after.type !== 'auth' || after.authToken?.secret !== auth.collection.authToken?.secret) return null;
      return { collection: after, record: auth.record };
    });
  }
}

/** A changed tokenKey (password or email change) drops the identity's auth; any other update refreshes it. */
function syncAuth(broker: Broker, e: RecordEvent): void {
  const key = `${e.collection.id}/${String(e.record.id)}`;
  if (e.previous && e.previous.tokenKey !== e.record.tokenKey) broker.dropAuth(key);
  else broker.refreshAuth({ collection: e.collection as AuthCollection, record: e.record });
}
