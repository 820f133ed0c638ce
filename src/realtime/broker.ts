/**
 * The registry of connected clients, with the two indexes fan-out needs to stay cheap: subscriptions by
 * topic (a record event looks up six topics instead of scanning every client) and clients by auth
 * identity (a password change finds that user's streams directly).
 */
import type { AuthState } from '../rules/request-info.js';
import { authKeyOf, type ClientSubscription, type RealtimeClient } from './client.js';
import type { ParsedSubscription } from './subscription.js';

/** Counts for tests and monitoring: all zero once every client is gone. */
export interface BrokerStats {
  clients: number;
  topics: number;
  subscriptions: number;
  identities: number;
}

export class Broker {
  private readonly clients = new Map<string, RealtimeClient>();
  private readonly byTopic = new Map<string, Set<ClientSubscription>>();
  private readonly byAuth = new Map<string, Set<RealtimeClient>>();
  private subscriptionCount = 0;

  add(client: RealtimeClient): void {
    this.clients.set(client.id, client);
  }

  /** Forgets a client and everything indexed for it. */
  remove(client: RealtimeClient): void {
    if (this.clients.get(client.id) !== client) return;
    this.clients.delete(client.id);
    this.unindexSubscriptions(client);
    client.subscriptions = new Map();
    this.unindexAuth(client);
  }

  get(id: string): RealtimeClient | undefined {
    return this.clients.get(id);
  }

  all(): IterableIterator<RealtimeClient> {
    return this.clients.values();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Subscriptions (of any client) whose topic is exactly `topic`. */
  subscribers(topic: string): ReadonlySet<ClientSubscription> | undefined {
    return this.byTopic.get(topic);
  }

  /** Replaces all of a client's subscriptions (PocketBase's POST semantics). Duplicates collapse. */
  replaceSubscriptions(client: RealtimeClient, subscriptions: readonly ParsedSubscription[]): void {
    this.unindexSubscriptions(client);
    const next = new Map<string, ClientSubscription>();
    for (const parsed of subscriptions) next.set(parsed.name, { ...parsed, client });
    client.subscriptions = next;
    for (const sub of next.values()) {
      let set = this.byTopic.get(sub.topic);
      if (!set) this.byTopic.set(sub.topic, (set = new Set()));
      set.add(sub);
    }
    this.subscriptionCount += next.size;
  }

  /**
   * Stores a request's auth on a client. Every stream of one identity then holds the same (freshest) auth
   * object, so fan-out can treat "same identity" as "same rule outcome".
   */
  bindAuth(client: RealtimeClient, auth: AuthState | null): void {
    this.unindexAuth(client);
    client.setAuth(auth);
    if (!auth) return;
    const key = client.authKey;
    let set = this.byAuth.get(key);
    if (!set) this.byAuth.set(key, (set = new Set()));
    set.add(client);
    for (const other of set) other.setAuth(auth);
  }

  /** The auth record changed but stays valid (same tokenKey): every stream of it gets the new state. */
  refreshAuth(auth: AuthState): void {
    for (const client of this.byAuth.get(authKeyOf(auth)) ?? []) client.setAuth(auth);
  }

  /** Downgrades every stream of an identity to guest (token key rotated, record deleted). */
  dropAuth(key: string): void {
    const set = this.byAuth.get(key);
    if (!set) return;
    this.byAuth.delete(key);
    for (const client of set) client.setAuth(null);
  }

  /** Applies `change` to every stored auth (collection updates); `null` drops it. */
  mapAuth(change: (auth: AuthState) => AuthState | null): void {
    for (const [key, set] of [...this.byAuth]) {
      const first = set.values().next().value as RealtimeClient | undefined;
      const current = first?.auth;
      if (!current) continue;
      const next = change(current);
      if (next === current) continue;
      if (next === null) this.dropAuth(key);
      else for (const client of set) client.setAuth(next);
    }
  }

  stats(): BrokerStats {
    return { clients: this.clients.size, topics: this.byTopic.size, subscriptions: this.subscriptionCount, identities: this.byAuth.size };
  }

  private unindexSubscriptions(client: RealtimeClient): void {
    for (const sub of client.subscriptions.values()) {
      const set = this.byTopic.get(sub.topic);
      if (!set) continue;
      set.delete(sub);
      if (set.size === 0) this.byTopic.delete(sub.topic);
    }
    this.subscriptionCount -= client.subscriptions.size;
  }

  private unindexAuth(client: RealtimeClient): void {
    const key = client.authKey;
    if (key === '') return;
    const set = this.byAuth.get(key);
    if (!set) return;
    set.delete(client);
    if (set.size === 0) this.byAuth.delete(key);
  }
}
