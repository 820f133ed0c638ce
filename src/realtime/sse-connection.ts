/**
 * One SSE stream on the wire: frames messages, respects socket backpressure with a bounded queue, and
 * closes itself on idle timeout, max lifetime, overflow (slow consumer) or client abort. Knows nothing
 * about subscriptions or HTTP frameworks: it writes finished wire bytes to a target (`responseTarget`
 * adapts a Node `ServerResponse` whose headers are already sent).
 *
 * A broadcast reaches thousands of streams, so its cost per stream is kept to one buffer copy and one
 * socket write: `SharedFrame` encodes a message once, and each stream only splices in its own `id:`.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { RealtimeOptions } from './options.js';

/**
 * Where a stream's bytes go: the response body after its headers. When `chunked`, the body is in HTTP/1.1
 * chunked transfer-coding and every `write` must be whole chunks; `end` finishes the body, `destroy` aborts it.
 */
export interface SseTarget {
  readonly chunked: boolean;
  write(bytes: Uint8Array): boolean;
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

const CRLF = Buffer.from('\r\n', 'latin1');
const ID_PREFIX = Buffer.from('id:', 'latin1');

/** A frame's wire bytes: the SSE text, as one HTTP chunk when the body is chunked. */
export function encodeFrame(frame: string, chunked: boolean): Buffer {
  if (!chunked) return Buffer.from(frame, 'utf8');
  return Buffer.from(`${Buffer.byteLength(frame, 'utf8').toString(16)}\r\n${frame}\r\n`, 'utf8');
}

interface Template {
  idLength: number;
  chunked: boolean;
  bytes: Buffer;
  idOffset: number;
}

/**
 * One message (event name + data) encoded once for every stream that gets it. The frames differ only in
 * the `id:` line, so each stream's bytes are a copy of a template with its id written in.
 */
export class SharedFrame {
  private readonly rest: Buffer;
  private chunkedTemplate: Template | null = null;
  private plainTemplate: Template | null = null;

  constructor(event: string, data: string) {
    this.rest = Buffer.from(`\nevent:${event}\ndata:${data}\n\n`, 'utf8');
  }

  /** The wire bytes for the stream whose client id is `id` (UTF-8 bytes); a fresh buffer the caller may keep. */
  bytesFor(id: Uint8Array, chunked: boolean): Buffer {
    let t = chunked ? this.chunkedTemplate : this.plainTemplate;
    if (!t || t.idLength !== id.length) t = this.template(id.length, chunked);
    const out = Buffer.allocUnsafe(t.bytes.length);
    out.set(t.bytes);
    out.set(id, t.idOffset);
    return out;
  }

  private template(idLength: number, chunked: boolean): Template {
    const frameLength = ID_PREFIX.length + idLength + this.rest.length;
    const head = chunked ? Buffer.from(`${frameLength.toString(16)}\r\n`, 'latin1') : Buffer.alloc(0);
    const idOffset = head.length + ID_PREFIX.length;
    const bytes = Buffer.concat([head, ID_PREFIX, Buffer.alloc(idLength), this.rest, chunked ? CRLF : Buffer.alloc(0)]);
    const t: Template = { idLength, chunked, bytes, idOffset };
    if (chunked) this.chunkedTemplate = t;
    else this.plainTemplate = t;
    return t;
  }
}

/**
 * A `ServerResponse` whose headers were just written (`writeHead`), as an SSE target: the headers are
 * flushed now and frames then go straight to the socket, already in the response's transfer coding (one
 * write call per frame, without `ServerResponse`'s per-write framing and corking). `end` still goes
 * through the response, which writes the last chunk and keeps its own state consistent.
 */
export function responseTarget(res: ServerResponse, socket: Socket): SseTarget {
  res.flushHeaders();
  return {
    chunked: res.chunkedEncoding,
    write: (bytes) => socket.write(bytes),
    end: () => res.end(),
    destroy: () => res.destroy(),
    // Backpressure is the socket's; close and errors are reported on the response as before.
    on: (event, listener) => (event === 'drain' ? socket.on(event, listener) : res.on(event, listener)),
    removeListener: (event, listener) => (event === 'drain' ? socket.removeListener(event, listener) : res.removeListener(event, listener)),
  };
}

type Limits = Pick<RealtimeOptions, 'idleTimeoutMs' | 'maxLifetimeMs' | 'maxQueuedMessages' | 'maxQueuedChars'>;

/** A live stream. Sending never blocks: it writes, queues, or drops the whole connection. */
export class SseConnection {
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private waitingForDrain = false;
  private closedReason: CloseReason | null = null;
  private readonly idleTimer: NodeJS.Timeout;
  private readonly lifetimeTimer: NodeJS.Timeout;

  constructor(
    private readonly target: SseTarget,
    private readonly limits: Limits,
    private readonly onClosed: (reason: CloseReason) => void,
    /** Counts the messages handed to this stream (shared by a service's streams; metrics). */
    private readonly counters: { sent: number } = { sent: 0 },
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

  /** Writes (or queues) one SSE frame; false when the connection is closed or was just dropped for being too slow. */
  send(frame: string): boolean {
    if (this.closedReason) return false;
    return this.sendBytes(encodeFrame(frame, this.target.chunked));
  }

  /** `send` for a frame shared by many streams: `id` is this stream's client id (UTF-8 bytes). */
  sendShared(frame: SharedFrame, id: Uint8Array): boolean {
    if (this.closedReason) return false;
    return this.sendBytes(frame.bytesFor(id, this.target.chunked));
  }

  /** Ends the stream: gracefully (the client reconnects) or, for a slow consumer, by destroying the socket. */
  close(reason: CloseReason): void {
    if (this.closedReason) return;
    this.finish(reason);
    if (reason === 'slow') this.target.destroy();
    else this.target.end();
  }

  private sendBytes(bytes: Buffer): boolean {
    if (!this.waitingForDrain) {
      this.counters.sent++;
      this.write(bytes);
      return true;
    }
    if (this.queue.length >= this.limits.maxQueuedMessages || this.queuedBytes + bytes.length > this.limits.maxQueuedChars) {
      // Dropping one slow reader is cheaper for everyone than buffering without bound.
      this.close('slow');
      return false;
    }
    this.counters.sent++;
    this.queue.push(bytes);
    this.queuedBytes += bytes.length;
    return true;
  }

  private write(bytes: Buffer): void {
    // Idle means "nothing delivered", as in PocketBase: every write restarts the clock.
    this.idleTimer.refresh();
    if (!this.target.write(bytes)) this.waitingForDrain = true;
  }

  private readonly flushQueue = (): void => {
    this.waitingForDrain = false;
    let i = 0;
    while (i < this.queue.length && !this.waitingForDrain && !this.closedReason) {
      const bytes = this.queue[i++] as Buffer;
      this.queuedBytes -= bytes.length;
      this.write(bytes);
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
    this.queuedBytes = 0;
    this.target.removeListener('drain', this.flushQueue);
    this.target.removeListener('close', this.onTargetClose);
    this.onClosed(reason);
  }
}

function noop(): void {}
