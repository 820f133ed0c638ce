/**
 * Record event → per-subscriber messages. Candidate subscriptions come from the broker's topic index;
 * they are grouped by (rule, auth identity, options) so that N subscribers sharing all three cost one
 * access check and one serialisation. Each group gets its own freshly built record JSON (hidden fields,
 * email visibility, expand, fields), never a copy shared with another group. Delivery encodes each
 * group's message once per subscription name (`SharedFrame`) and writes it stream by stream, yielding to
 * the event loop between batches so a large broadcast does not stall every other request.
 */
import type { Collection } from '../collections/model.js';
import type { CollectionStore } from '../collections/store.js';
import type { Dialect, Executor } from '../db/dialect.js';
import type { Sql } from '../db/sql.js';
import type { HookBus, RecordData } from '../hooks/index.js';
import { enrichRecords } from '../records/enrich.js';
import { pickFields } from '../records/pick-fields.js';
import { expandRecords, parseExpand } from '../records/expand.js';
import { publicRecord, viewerOf } from '../records/record-io.js';
import type { RequestInfo } from '../rules/request-info.js';
import { canAccessRecord, type AccessContext } from './access.js';
import type { Broker } from './broker.js';
import type { ClientSubscription } from './client.js';
import { SharedFrame } from './sse-connection.js';

export type RecordAction = 'create' | 'update' | 'delete';

/** One group's message, ready for the wire: the subscriptions it goes to and the identity it was checked for. */
export interface PreparedMessage {
  subs: readonly ClientSubscription[];
  authKey: string;
  data: string;
}

type TopicRule = 'listRule' | 'viewRule';

interface Group {
  rule: TopicRule;
  sample: ClientSubscription;
  subs: ClientSubscription[];
}

/** Streams written per turn of the event loop; requests and socket events run between batches. */
export const DELIVERY_BATCH = 1000;

/** The topics a record event reaches, each with the rule that guards it (PocketBase's subscription/rule map). */
export function topicsFor(collection: Collection, recordId: string): Array<[string, TopicRule]> {
  const topics: Array<[string, TopicRule]> = [
    [`${collection.name}/${recordId}`, 'viewRule'],
    [`${collection.id}/${recordId}`, 'viewRule'],
    [`${collection.name}/*`, 'listRule'],
    [`${collection.id}/*`, 'listRule'],
    // Deprecated in PocketBase, still honoured: the bare collection means `/*`.
    [collection.name, 'listRule'],
    [collection.id, 'listRule'],
  ];
  // A collection whose name equals its id would otherwise deliver twice.
  return topics.filter(([t], i) => topics.findIndex(([o]) => o === t) === i);
}

export class FanOut {
  constructor(
    private readonly broker: Broker,
    private readonly schema: CollectionStore,
    private readonly dialect: Dialect,
    private readonly onGroupError: (err: unknown) => void,
    private readonly hooks?: HookBus,
  ) {}

  /** Cheap pre-check so writes nobody listens to cost nothing more. */
  hasSubscribers(collection: Collection, recordId: string): boolean {
    return topicsFor(collection, recordId).some(([topic]) => (this.broker.subscribers(topic)?.size ?? 0) > 0);
  }

  /**
   * Checks and serialises `record` for every subscription that may see it, reading through `exec` (the
   * database after commit; the open transaction for a delete, before the row goes).
   */
  async prepare(action: RecordAction, collection: Collection, record: RecordData, exec: Executor, row?: Sql): Promise<PreparedMessage[]> {
    const id = String(record.id);
    const groups: Group[] = [];
    // rule → auth identity → options key → group (nested maps: no key string built per subscriber).
    const index: Record<TopicRule, Map<string, Map<string, Group>>> = { listRule: new Map(), viewRule: new Map() };
    for (const [topic, rule] of topicsFor(collection, id)) {
      const byAuth = index[rule];
      for (const sub of this.broker.subscribers(topic) ?? []) {
        const client = sub.client;
        if (client.closed) continue;
        let byOptions = byAuth.get(client.authKey);
        if (!byOptions) byAuth.set(client.authKey, (byOptions = new Map()));
        const group = byOptions.get(sub.optionsKey);
        if (group) group.subs.push(sub);
        else {
          const created: Group = { rule, sample: sub, subs: [sub] };
          byOptions.set(sub.optionsKey, created);
          groups.push(created);
        }
      }
    }
    const out: PreparedMessage[] = [];
    const ctx: AccessContext = { exec, dialect: this.dialect, schema: this.schema, ...(row ? { row } : {}) };
    for (const group of groups) {
      let data: string | null;
      try {
        data = await this.messageFor(ctx, action, collection, record, group);
      } catch (err) {
        // A bad `filter` option or a rule that no longer compiles: that group just gets nothing (as PocketBase).
        this.onGroupError(err);
        continue;
      }
      if (data === null) continue;
      out.push({ subs: group.subs, authKey: group.sample.client.authKey, data });
    }
    return out;
  }

  private async messageFor(ctx: AccessContext, action: RecordAction, collection: Collection, record: RecordData, group: Group): Promise<string | null> {
    const { sample } = group;
    const req: RequestInfo = {
      context: 'realtime',
      method: 'GET',
      headers: sample.headers,
      query: sample.query,
      body: {},
      auth: sample.client.auth,
    };
    const id = String(record.id);
    if (!(await canAccessRecord(ctx, collection, id, collection[group.rule], req, sample.query.filter ?? ''))) return null;

    const viewer = viewerOf(req);
    const owner = viewer.authId === id && viewer.authCollectionId === collection.id;
    if (collection.type === 'auth' && record.emailVisibility !== true && !viewer.superuser && !owner) {
      // Managers see the email too; only worth a query when it would change the output.
      const manages = await canAccessRecord(ctx, collection, id, collection.manageRule, req).catch(() => false);
      viewer.manages = () => manages;
    }
    const tree = parseExpand(sample.query.expand);
    const expand = tree.size ? (await expandRecords(collection, [record], tree, { ...ctx, req, viewer }))[0] : undefined;
    let json: unknown = publicRecord(collection, record, viewer, expand);
    // Groups share one auth identity, so enriching once per group is enriching per caller.
    const enrich = this.hooks?.onRecordEnrich;
    if (enrich && enrich.length > 0) {
      const items = [json as Record<string, unknown>];
      await enrichRecords(enrich, this.schema, collection, items, req);
      json = items[0];
    }
    const fields = sample.query.fields;
    if (fields) {
      try {
        json = pickFields(json, fields);
      } catch {
        // PocketBase sends the unpicked record when `fields` does not parse.
      }
    }
    return JSON.stringify({ action, record: json });
  }
}

/**
 * Writes prepared messages to the clients that still hold the subscription under the same identity (a
 * delete prepared inside a transaction is flushed after commit, and a large broadcast yields between
 * batches: things may have changed meanwhile, so every stream is checked when its turn comes). Each
 * message is encoded once per subscription name; a stream costs one buffer copy and one socket write.
 * Resolves to the number of messages handed to streams.
 */
export async function deliver(messages: readonly PreparedMessage[], batch = DELIVERY_BATCH): Promise<number> {
  let sent = 0;
  let budget = batch;
  for (const m of messages) {
    // Usually one name per group (e.g. `posts/*`); `<collectionId>/*` or a bare name adds another.
    let name = '';
    let frame: SharedFrame | undefined;
    let others: Map<string, SharedFrame> | undefined;
    for (const sub of m.subs) {
      if (--budget < 0) {
        await yieldToEventLoop();
        budget = batch - 1;
      }
      const client = sub.client;
      if (client.closed || client.authKey !== m.authKey || !client.subscriptions.has(sub.name)) continue;
      if (frame === undefined || sub.name !== name) {
        if (frame !== undefined) (others ??= new Map()).set(name, frame);
        name = sub.name;
        frame = others?.get(name) ?? new SharedFrame(name, m.data);
      }
      if (client.sendShared(frame)) sent++;
    }
  }
  return sent;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
