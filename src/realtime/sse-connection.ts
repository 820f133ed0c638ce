/**
 * One SSE stream on the wire: frames messages, respects socket backpressure with a bounded queue, and
 * closes itself on idle timeout, max lifetime, overflow (slow consumer) or client abort. Knows nothing
 * about subscriptions or HTTP frameworks: anything shaped like Node's `ServerResponse` will do.
 */
import type { RealtimeOptions } from './options.js';

/** The writable side of a response (Node's `http.ServerResponse` fits). */
export interface SseTarget {
  write(chunk: string): boolean;
  end(): void;
  destroy(): void;
  on(event: 'drain' | 'close' | 'error', listener: (...args: unknown[]) => void): unknown;
  removeListener(event: 'drain' | 'close' | 'error', listener: (...args: unknown[]) => void): unknown;
}

/** Why a stream ended. `slow`: the consumer fell too far behind and was dropped. */
export type CloseReason = 'idle' | 'lifetime' | 'slow' | 'client' | 'server';

/** PocketBase's frame: every message carries the client id on its `id:` line (the SDK reads it as `lastEventId`). */
export function sseFrame(clientId: string, event: string, data: string): string {
  return `id:${clientId}\nevent:${event}\ndata:${data}\n\n`;
}

type Limits = Pick<RealtimeOptions, 'idleTimeoutMs' | 'maxLifetimeMs' | 'maxQueuedMessages' | 'maxQueuedChars'>;

/** A live stream. `send` never blocks: it writes, queues, or drops the whole connection. */
export class SseConnection {
  private queue: string[] = [];
  private queuedChars = 0;
  private waitingForDrain = false;
  private closedReason: CloseReason | null = null;
  private readonly idleTimer: NodeJS.Timeout;
  private readonly lifetimeTimer: NodeJS.Timeout;

  constructor(
    private readonly target: SseTarget,
    private readonly limits: Limits,
    private readonly onClosed: (reason: CloseReason) => void,
  ) {
    // unref: a forgotten stream must not keep the process (or a test run) alive.
    this.idleTimer = setTimeout(() => this.close('idle'), limits.idleTimeoutMs).unref();
    this.lifetimeTimer = setTimeout(() => this.close('lifetime'), limits.maxLifetimeMs).unref();
    target.on('drain', this.flushQueue);
    target.on('close', this.onTargetClose);
    // A write racing a reset socket reports here; the 'close' that follows does the cleanup.
    target.on('error', noop);
  }

  get closed(): boolean {
    return this.closedReason !== null;
  }

  /** Messages waiting for the socket to drain (tests, stats). */
  get queued(): number {
    return this.queue.length;
  }

  /** Writes (or queues) a frame; false when the connection is closed or was just dropped for being too slow. */
  send(frame: string): boolean {
    if (this.closedReason) return false;
    if (!this.waitingForDrain) {
      this.write(frame);
      return true;
    }
    if (this.queue.length >= this.limits.maxQueuedMessages || this.queuedChars + frame.length > this.limits.maxQueuedChars) {
      // Dropping one slow reader is cheaper for everyone than buffering without bound.
      this.close('slow');
      return false;
    }
    this.queue.push(frame);
    this.queuedChars += frame.length;
    return true;
  }

  /** Ends the stream: gracefully (the client reconnects) or, for a slow consumer, by destroying the socket. */
  close(reason: CloseReason): void {
    if (this.closedReason) return;
    this.finish(reason);
    if (reason === 'slow') this.target.destroy();
    else this.target.end();
  }

  private write(frame: string): void {
    // Idle means "nothing delivered", as in PocketBase: every write restarts the clock.
    this.idleTimer.refresh();
    if (!this.target.write(frame)) this.waitingForDrain = true;
  }

  private readonly flushQueue = (): void => {
    this.waitingForDrain = false;
    let i = 0;
    while (i < this.queue.length && !this.waitingForDrain && !this.closedReason) {
      const frame = this.queue[i++] as string;
      this.queuedChars -= frame.length;
      this.write(frame);
    }
    this.queue = i === this.queue.length ? [] : this.queue.slice(i);
  };

  private readonly onTargetClose = (): void => {
    if (!this.closedReason) this.finish('client');
  };

  private finish(reason: CloseReason): void {
    this.closedReason = reason;
    clearTimeout(this.idleTimer);
    clearTimeout(this.lifetimeTimer);
    this.queue = [];
    this.queuedChars = 0;
    this.target.removeListener('drain', this.flushQueue);
    this.target.removeListener('close', this.onTargetClose);
    this.onClosed(reason);
  }
}

function noop(): void {}
