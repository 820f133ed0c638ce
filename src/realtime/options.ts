/** Tunables of the realtime service, with PocketBase's defaults. */

export interface RealtimeOptions {
  /** Close a stream after this long without a delivered message (PocketBase: 5 min). */
  idleTimeoutMs: number;
  /** Close a stream after this long whatever happens (PocketBase: 30 min); clients reconnect. */
  maxLifetimeMs: number;
  /** Messages held for a client whose socket is not draining; one more and the client is dropped. */
  maxQueuedMessages: number;
  /** Bytes of frames held for such a client (frames are ASCII-dominated, so roughly characters); over it the client is dropped. */
  maxQueuedChars: number;
}

/** The defaults: PocketBase's timeouts, and a queue bound that costs at most a few MiB per stuck client. */
export const DEFAULT_REALTIME_OPTIONS: Readonly<RealtimeOptions> = Object.freeze({
  idleTimeoutMs: 5 * 60_000,
  maxLifetimeMs: 30 * 60_000,
  maxQueuedMessages: 1000,
  maxQueuedChars: 4 * 1024 * 1024,
});
