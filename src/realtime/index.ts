/**
 * Realtime: PocketBase's SSE protocol (`GET /api/realtime` streams, `POST /api/realtime` subscriptions),
 * record events checked per subscriber, and a publish API for server-side features.
 *
 * @example
 *   // a custom topic (clients subscribe to it like any other; no rule is checked)
 *   app.realtime.publish('presence/room1', { online: 3 });
 *   // one client, e.g. OAuth2's redirect answering the popup that opened it
 *   app.realtime.sendToClient(clientId, '@oauth2', { state, code });
 */
import type { CollectionStore } from '../collections/store.js';
import type { Database } from '../db/dialect.js';
import { AppError } from '../errors/index.js';
import type { HookBus } from '../hooks/index.js';
import type { AuthState } from '../rules/request-info.js';
import type { Logger } from '../util/logger.js';
import { randomString } from '../util/random.js';
import { Broker, type BrokerStats } from './broker.js';
import { authKeyOf, RealtimeClient } from './client.js';
import { FanOut } from './fan-out.js';
import { DEFAULT_REALTIME_OPTIONS, type RealtimeOptions } from './options.js';
import { bindRecordEvents, relayRecordEvent, type RecordEventDeps } from './record-events.js';
import type { RecordAction } from './fan-out.js';
import type { Collection } from '../collections/model.js';
import type { RecordData } from '../hooks/index.js';
import { SharedFrame, SseConnection, type SseTarget } from './sse-connection.js';
import type { SubscribeForm } from './subscribe-form.js';

export { DEFAULT_REALTIME_OPTIONS, type RealtimeOptions } from './options.js';
export { parseSubscribeForm, type SubscribeForm } from './subscribe-form.js';
export type { BrokerStats } from './broker.js';
export { responseTarget, type SseTarget } from './sse-connection.js';

/** What the service is built from (the app's own services). */
export interface RealtimeDeps {
  db: Database;
  collections: CollectionStore;
  hooks: HookBus;
  logger: Logger;
}

const CLIENT_ID_LENGTH = 40;
const EVENT_NAME_FORBIDDEN = /[\r\n\0]/;

export class RealtimeService {
  /** Current tunables; `configure` changes them for streams opened afterwards. */
  readonly options: RealtimeOptions;
  /** Messages handed to streams, and streams dropped for reading too slowly, since start (metrics). */
  readonly counters = { sent: 0, droppedSlow: 0 };
  private readonly broker = new Broker();
  private readonly unbind: () => void;
  private readonly events: RecordEventDeps;
  private chain: Promise<void> = Promise.resolve();
  private closing = false;

  constructor(
    private readonly deps: RealtimeDeps,
    options: Partial<RealtimeOptions> = {},
  ) {
    this.options = { ...DEFAULT_REALTIME_OPTIONS, ...options };
    const logError = (err: unknown, msg: string) => deps.logger.error({ err }, msg);
    const fanOut = new FanOut(this.broker, deps.collections, deps.db.dialect, (err) => deps.logger.debug({ err }, 'realtime: group skipped'), deps.hooks);
    this.events = { hooks: deps.hooks, db: deps.db, broker: this.broker, fanOut, enqueue: (job) => this.enqueue(job), logError };
    this.unbind = bindRecordEvents(this.events);
  }

  /** Delivers a record change committed on another node to this node's subscribers (cluster/index.ts). */
  relay(action: RecordAction, collection: Collection, record: RecordData, tokenKeyChanged = false): Promise<void> {
    return relayRecordEvent(this.events, action, collection, record, tokenKeyChanged);
  }

  /** Changes timeouts / queue bounds for streams opened from now on (tests use short timeouts). */
  configure(options: Partial<RealtimeOptions>): void {
    Object.assign(this.options, options);
  }

  /**
   * Opens a client on a response whose SSE headers were already written, and sends `PB_CONNECT`.
   * The client is forgotten as soon as the stream ends, whatever ends it.
   */
  connect(target: SseTarget, ip: string): RealtimeClient {
    const client = new RealtimeClient(randomString(CLIENT_ID_LENGTH), ip);
    // A snapshot: later `configure` calls affect only streams opened after them.
    client.connection = new SseConnection(
      target,
      { ...this.options },
      (reason) => {
        this.broker.remove(client);
        if (reason === 'slow') this.counters.droppedSlow++;
        // A dropped slow consumer is worth an operator's attention; ordinary ends are not.
        if (reason === 'slow') this.deps.logger.warn({ clientId: client.id }, 'realtime: slow consumer dropped');
        else this.deps.logger.debug({ clientId: client.id, reason }, 'realtime: stream closed');
      },
      this.counters,
    );
    this.broker.add(client);
    client.send('PB_CONNECT', JSON.stringify({ clientId: client.id }));
    if (this.closing) client.connection.close('server');
    return client;
  }

  /**
   * PocketBase's subscription request: replaces every subscription of the client and stores the request's
   * auth on it. 404 for an unknown client, 400 from another address, 403 when a client that already has an
   * auth presents a different one (a guest client may be upgraded once).
   */
  setSubscriptions(form: SubscribeForm, auth: AuthState | null, ip: string): void {
    const client = this.broker.get(form.clientId);
    if (!client || client.closed) throw AppError.notFound('Missing or invalid client id.');
    if (client.ip !== ip) throw AppError.badRequest('Invalid realtime client.');
    if (client.authKey !== '' && client.authKey !== authKeyOf(auth)) {
      throw AppError.forbidden("The current and the previous request authorization don't match.");
    }
    this.broker.bindAuth(client, auth);
    this.broker.replaceSubscriptions(client, form.subscriptions);
  }

  /**
   * Sends `data` (JSON-encoded) to every subscription whose topic is exactly `topic`, under each
   * subscription's own name. No rule is checked: callers publish only what any subscriber may see.
   * Returns the number of messages handed to streams.
   */
  publish(topic: string, data: unknown): number {
    const subs = this.broker.subscribers(topic);
    if (!subs) return 0;
    const json = encode(data);
    // One encoding per subscription name (they differ only by options), not per client.
    const frames = new Map<string, SharedFrame>();
    let sent = 0;
    for (const sub of [...subs]) {
      let frame = frames.get(sub.name);
      if (!frame) frames.set(sub.name, (frame = new SharedFrame(sub.name, json)));
      if (sub.client.sendShared(frame)) sent++;
    }
    return sent;
  }

  /** Sends one message (`data` JSON-encoded) to one client by id; false when there is no such open client. */
  sendToClient(clientId: string, eventName: string, data: unknown): boolean {
    if (EVENT_NAME_FORBIDDEN.test(eventName)) throw new TypeError('event names must not contain line breaks');
    const client = this.broker.get(clientId);
    return client !== undefined && client.send(eventName, encode(data));
  }

  /** Whether a client with this id is connected (e.g. an OAuth2 redirect checking its `state`). */
  hasClient(clientId: string): boolean {
    const client = this.broker.get(clientId);
    return client !== undefined && !client.closed;
  }

  /** Whether an open client holds a subscription to exactly `topic` (options aside), e.g. `@oauth2` before answering it. */
  hasSubscription(clientId: string, topic: string): boolean {
    const client = this.broker.get(clientId);
    if (!client || client.closed) return false;
    for (const sub of client.subscriptions.values()) if (sub.topic === topic) return true;
    return false;
  }

  /** Counts for tests and monitoring. */
  stats(): BrokerStats {
    return this.broker.stats();
  }

  /** Ends every stream (server shutdown); clients reconnect elsewhere or later. */
  disconnectAll(): void {
    for (const client of [...this.broker.all()]) client.connection.close('server');
  }

  /** Resolves once every queued delivery has run (tests, shutdown). */
  async settled(): Promise<void> {
    let seen: Promise<void>;
    do {
      seen = this.chain;
      await seen;
    } while (seen !== this.chain);
  }

  /** Stops listening to the hook bus, ends every stream and waits for queued deliveries. */
  async close(): Promise<void> {
    this.closing = true;
    this.unbind();
    this.disconnectAll();
    await this.settled();
  }

  private enqueue(job: () => Promise<void> | void): Promise<void> {
    if (this.closing) return Promise.resolve();
    const next = this.chain.then(job).catch((err: unknown) => this.deps.logger.error({ err }, 'realtime: delivery failed'));
    this.chain = next;
    return next;
  }
}

function encode(data: unknown): string {
  return JSON.stringify(data ?? null);
}
