/**
 * The message bus between Plinth nodes that share one PostgreSQL database: PostgreSQL's own
 * LISTEN/NOTIFY, so a cluster needs nothing beyond the database it already has. Messages are delivered
 * to every node (the sender ignores its own), in the order each sender published them.
 *
 * Messages published in the same turn of the event loop go out together, as one NOTIFY on the LISTEN
 * connection itself (so a burst of writes costs one round trip, not one pooled query per record). NOTIFY
 * payloads are limited to 8000 bytes: batches are split below that, and a single bigger message is stored
 * in `_clusterMessages` with only its id notified (receivers read it; rows are pruned after a minute). A dropped LISTEN connection is
 * re-opened with backoff; messages sent while a node was disconnected are lost to it, which is why every
 * receiver treats them as hints to reload (schema, settings) or as best-effort realtime pushes, exactly
 * like PocketBase's SSE, which never replays missed events either.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Database } from '../db/dialect.js';
import { sql } from '../db/sql.js';

export interface ClusterMessage {
  topic: string;
  data: unknown;
}

export interface ClusterBus {
  /** This process's id; a message carries its sender's. */
  readonly nodeId: string;
  /** Whether other nodes may exist (false for SQLite: one process owns the file). */
  readonly shared: boolean;
  /** Connects (PostgreSQL: the LISTEN connection and the overflow table); resolves once messages can flow. */
  start(): Promise<void>;
  /** Sends to every other node; resolves once the database accepted it. Never rejects. */
  publish(topic: string, data: unknown): Promise<void>;
  onMessage(handler: (message: ClusterMessage) => void): void;
  close(): Promise<void>;
}

/** A single node: nothing to tell anyone. */
export class LocalBus implements ClusterBus {
  readonly nodeId = randomUUID();
  readonly shared = false;
  async start(): Promise<void> {}
  async publish(): Promise<void> {}
  onMessage(): void {}
  async close(): Promise<void> {}
}

const CHANNEL = 'plinth_cluster';
/** Below PostgreSQL's 8000-byte NOTIFY limit, with room for the envelope. */
const MAX_INLINE = 7000;

interface Item {
  t: string;
  d?: unknown;
  /** id of a `_clusterMessages` row holding `d` */
  r?: number;
}

interface Envelope {
  /** sender node */
  n: string;
  /** messages, in publish order */
  m: Item[];
}

export class PostgresBus implements ClusterBus {
  readonly nodeId = randomUUID();
  readonly shared = true;
  private handlers: Array<(message: ClusterMessage) => void> = [];
  private listener: pg.Client | null = null;
  private closed = false;
  private retryMs = 100;
  private queue: ClusterMessage[] = [];
  /** Incoming notifications are handled one at a time (an overflow read must not let a later one overtake it). */
  private receiving: Promise<void> = Promise.resolve();
  private flushing: Promise<void> | null = null;
  private lastPrune = 0;

  constructor(
    private readonly url: string,
    private readonly db: Database,
    private readonly logError: (err: unknown, msg: string) => void,
  ) {}

  /** Creates the overflow table and starts listening; resolves once LISTEN is in place. */
  async start(): Promise<void> {
    await this.db.run(sql`CREATE TABLE IF NOT EXISTS "_clusterMessages" (id BIGSERIAL PRIMARY KEY, payload TEXT NOT NULL, created BIGINT NOT NULL)`);
    await this.listen();
  }

  private async listen(): Promise<void> {
    const { default: driver } = await import('pg');
    const client = new driver.Client({ connectionString: this.url });
    client.on('notification', (msg) => {
      this.receiving = this.receiving.then(() => this.receive(msg.payload ?? ''));
    });
    client.on('error', (err) => this.reconnect(client, err));
    client.on('end', () => this.reconnect(client, new Error('connection ended')));
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.listener = client;
    this.retryMs = 100;
  }

  private reconnect(client: pg.Client, err: unknown): void {
    if (this.closed || this.listener !== client) return;
    this.listener = null;
    this.logError(err, 'cluster: LISTEN connection lost; reconnecting');
    client.end().catch(() => undefined);
    const retry = (): void => {
      if (this.closed) return;
      this.listen().catch(() => {
        this.retryMs = Math.min(this.retryMs * 2, 5000);
        setTimeout(retry, this.retryMs).unref();
      });
    };
    setTimeout(retry, this.retryMs).unref();
  }

  private async receive(payload: string): Promise<void> {
    try {
      const env = JSON.parse(payload) as Envelope;
      if (env.n === this.nodeId) return;
      for (const item of env.m) {
        let data = item.d;
        if (item.r !== undefined) {
          const row = await this.db.get<{ payload: string }>(sql`SELECT payload FROM "_clusterMessages" WHERE id = ${item.r}`);
          if (!row) continue;
          data = JSON.parse(row.payload);
        }
        for (const h of this.handlers) h({ topic: item.t, data });
      }
    } catch (err) {
      this.logError(err, 'cluster: bad message');
    }
  }

  publish(topic: string, data: unknown): Promise<void> {
    this.queue.push({ topic, data });
    // One sender at a time, so other nodes see this node's messages in the order they were published.
    this.flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flush());
    return this.flushing;
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length) {
        const batch = this.queue.splice(0);
        for (const payload of await this.payloads(batch)) await this.notify(payload);
      }
    } catch (err) {
      this.logError(err, 'cluster: publishing failed');
    } finally {
      this.flushing = null;
    }
  }

  /** Envelopes under the NOTIFY limit; an oversized message goes through `_clusterMessages`. */
  private async payloads(batch: ClusterMessage[]): Promise<string[]> {
    const out: string[] = [];
    const head = `{"n":${JSON.stringify(this.nodeId)},"m":[`;
    let items: string[] = [];
    let size = head.length + 2;
    for (const { topic, data } of batch) {
      let item = JSON.stringify({ t: topic, d: data } satisfies Item);
      if (Buffer.byteLength(item) > MAX_INLINE - head.length - 2) item = JSON.stringify({ t: topic, r: await this.store(data) } satisfies Item);
      const bytes = Buffer.byteLength(item) + 1;
      if (items.length && size + bytes > MAX_INLINE) {
        out.push(`${head}${items.join(',')}]}`);
        items = [];
        size = head.length + 2;
      }
      items.push(item);
      size += bytes;
    }
    if (items.length) out.push(`${head}${items.join(',')}]}`);
    return out;
  }

  private async store(data: unknown): Promise<number> {
    const now = Date.now();
    const row = await this.db.get<{ id: number }>(sql`INSERT INTO "_clusterMessages" (payload, created) VALUES (${JSON.stringify(data)}, ${now}) RETURNING id`);
    if (now - this.lastPrune > 10_000) {
      this.lastPrune = now;
      await this.db.run(sql`DELETE FROM "_clusterMessages" WHERE created < ${now - 60_000}`);
    }
    return Number(row?.id);
  }

  /** On the LISTEN connection when it is up (no pooled connection taken from requests), else through the pool. */
  private async notify(payload: string): Promise<void> {
    const client = this.listener;
    if (client) {
      await client.query({ text: 'SELECT pg_notify($1, $2)', values: [CHANNEL, payload] });
      return;
    }
    await this.db.run(sql`SELECT pg_notify(${CHANNEL}, ${payload})`);
  }

  onMessage(handler: (message: ClusterMessage) => void): void {
    this.handlers.push(handler);
  }

  async close(): Promise<void> {
    await this.flushing;
    this.closed = true;
    const client = this.listener;
    this.listener = null;
    await client?.end().catch(() => undefined);
  }
}
