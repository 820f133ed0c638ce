/**
 * Many Plinth nodes, one system. Nodes on one PostgreSQL database keep no state the others need, except
 * what this module keeps in step over the bus (bus.ts, PostgreSQL LISTEN/NOTIFY):
 *
 * - schema: a collection change made on one node makes every other node reload its collection cache and
 *   fire its own `onCollectionChange` (source `cluster`, which automigrate and file clean-up ignore:
 *   the node that made the change already did both);
 * - settings: a change makes every other node reload them;
 * - realtime: every committed record create/update/delete is relayed, and each node checks and delivers
 *   it to its own subscribers (a create/update re-reads the committed row; a delete carries the row,
 *   since it is gone).
 *
 * Rate limits (counters.ts) and scheduled jobs (jobs/) use the shared database directly. With SQLite the
 * bus is a no-op: one process owns the file.
 */
import type { CollectionChange, CollectionStore } from '../collections/store.js';
import type { HookBus, RecordEvent } from '../hooks/index.js';
import type { RealtimeService } from '../realtime/index.js';
import type { RecordReader } from '../records/query.js';
import type { SettingsStore } from '../settings/index.js';
import type { Logger } from '../util/logger.js';
import type { ClusterBus, ClusterMessage } from './bus.js';

export { LocalBus, PostgresBus, type ClusterBus } from './bus.js';
export { DatabaseCounters, type SharedCounters } from './counters.js';

/** Only the id: every node reads the definition from the database (so no token secret travels). */
interface CollectionMessage {
  action: CollectionChange['action'];
  id: string;
}

interface RecordMessage {
  action: 'create' | 'update' | 'delete';
  collectionId: string;
  id: string;
  /** Deletes only: the record as it was (the row is gone, so rules are checked against this). */
  record?: Record<string, unknown>;
  /** Updates of auth records: the tokenKey changed (password/email change), so streams holding it lose their auth. */
  tokenKeyChanged?: boolean;
}

export interface ClusterDeps {
  bus: ClusterBus;
  hooks: HookBus;
  collections: CollectionStore;
  settings: SettingsStore;
  reader: RecordReader;
  realtime: RealtimeService;
  logger: Logger;
}

/** Binds the hooks that publish local changes and the handler that applies the other nodes'. */
export function joinCluster(deps: ClusterDeps): void {
  const { bus, hooks } = deps;
  if (!bus.shared) return;

  hooks.onCollectionChange.bind(
    async (e, next) => {
      const change = e as CollectionChange;
      if (change.source !== 'cluster') void bus.publish('collections', { action: change.action, id: change.collection.id } satisfies CollectionMessage);
      await next();
    },
    { id: 'cluster:collections', priority: -1000 },
  );
  hooks.onSettingsChange.bind(
    async (_e, next) => {
      void bus.publish('settings', {});
      await next();
    },
    { id: 'cluster:settings' },
  );
  const relay = (action: RecordMessage['action']) => async (e: RecordEvent, next: () => Promise<void>) => {
    const message: RecordMessage = { action, collectionId: e.collection.id, id: String(e.record.id) };
    if (action === 'delete') message.record = e.record;
    if (action === 'update' && e.collection.type === 'auth' && e.previous && e.previous.tokenKey !== e.record.tokenKey) message.tokenKeyChanged = true;
    void bus.publish('record', message);
    await next();
  };
  hooks.onRecordAfterCreateCommit.bind(relay('create'), { id: 'cluster:create' });
  hooks.onRecordAfterUpdateCommit.bind(relay('update'), { id: 'cluster:update' });
  hooks.onRecordAfterDeleteCommit.bind(relay('delete'), { id: 'cluster:delete' });

  // Applied one at a time, in the order they arrive.
  let chain: Promise<void> = Promise.resolve();
  bus.onMessage((message) => {
    chain = chain
      .then(() => apply(deps, message))
      .catch((err: unknown) => deps.logger.error({ err, topic: message.topic }, 'cluster: applying a message failed'));
  });
}

async function apply(deps: ClusterDeps, { topic, data }: ClusterMessage): Promise<void> {
  if (topic === 'settings') {
    await deps.settings.load();
  } else if (topic === 'collections') {
    const m = data as CollectionMessage;
    const previous = deps.collections.find(m.id);
    await deps.collections.load();
    // A deleted collection is known only from this node's cache, as it was before the reload.
    const collection = m.action === 'delete' ? previous : deps.collections.find(m.id);
    if (!collection) return;
    const change: CollectionChange = {
      tags: [collection.id, collection.name],
      action: m.action,
      collection,
      ...(previous ? { previous } : {}),
      source: 'cluster',
    };
    await deps.hooks.onCollectionChange.trigger(change);
  } else if (topic === 'record') {
    const m = data as RecordMessage;
    const collection = deps.collections.find(m.collectionId);
    if (!collection) return;
    if (m.action === 'delete') {
      if (m.record) await deps.realtime.relay('delete', collection, m.record);
      return;
    }
    const record = await deps.reader.findById(collection, m.id);
    // Gone again already: its delete follows and is what subscribers will hear.
    if (!record) return;
    await deps.realtime.relay(m.action, collection, record, m.tokenKeyChanged === true);
  }
}
