/**
 * A connected realtime client: its id, the auth bound by its subscription requests, its subscriptions and
 * its stream. The broker owns the indexes over these; a client only holds its own state.
 */
import type { AuthState } from '../rules/request-info.js';
import type { ParsedSubscription } from './subscription.js';
import { sseFrame, type SharedFrame, type SseConnection } from './sse-connection.js';

/** A subscription held by a client (the broker indexes these by topic). */
export interface ClientSubscription extends ParsedSubscription {
  readonly client: RealtimeClient;
}

/** `<collectionId>/<recordId>` of an auth state, '' for a guest: the identity subscriptions are bound to. */
export function authKeyOf(auth: AuthState | null): string {
  return auth ? `${auth.collection.id}/${String(auth.record.id)}` : '';
}

export class RealtimeClient {
  private currentAuth: AuthState | null = null;
  private currentAuthKey = '';
  /** Subscription name (exact string) → subscription. */
  subscriptions = new Map<string, ClientSubscription>();
  /** Set by the broker once the stream exists. */
  connection!: SseConnection;
  /** `id` as UTF-8, spliced into shared frames. */
  private readonly idBytes: Buffer;

  constructor(
    /** 40 random characters; also the `id:` of every frame. */
    readonly id: string,
    /** The address the stream came from; subscription requests must come from the same one. */
    readonly ip: string,
  ) {
    this.idBytes = Buffer.from(id, 'utf8');
  }

  /** The auth stored by the last subscription request (null: guest). The broker shares one object per identity. */
  get auth(): AuthState | null {
    return this.currentAuth;
  }

  /** The identity of `auth` (cached: fan-out groups by it for every event). */
  get authKey(): string {
    return this.currentAuthKey;
  }

  /** Only the broker calls this, so its identity index stays in step. */
  setAuth(auth: AuthState | null): void {
    this.currentAuth = auth;
    this.currentAuthKey = authKeyOf(auth);
  }

  get closed(): boolean {
    return this.connection.closed;
  }

  /** Sends one message (data already JSON); false if the client is gone or was just dropped as too slow. */
  send(event: string, data: string): boolean {
    return this.connection.send(sseFrame(this.id, event, data));
  }

  /** Sends a message encoded once for many clients (fan-out); false as for `send`. */
  sendShared(frame: SharedFrame): boolean {
    return this.connection.sendShared(frame, this.idBytes);
  }
}
