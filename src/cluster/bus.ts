/**
 * The message bus between Plinth nodes that share one PostgreSQL database: PostgreSQL's own
 * LISTEN/NOTIFY, so a cluster needs nothing beyond the database it already has. Messages are delivered
 * to every node (the sender ignores its own), in the order each sender published them.
 *
 * NOTIFY payloads are limited to 8000 bytes; a bigger message is stored in `_clusterMessages` and only its
 * id is notified (receivers read it; rows are pruned after a minute). A dropped LISTEN connection is
 * re-opened with backoff; messages sent while a node was disconnected are lost to it, which is why every
 * receiver treats them as hints to reload (schema, settings) or as best-effort realtime pushes, exactly
 * like PocketBase's SSE, which never replays missed events either.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
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
  /** Sends to every other node; resolves once the database accepted it. Never rejects. */
  publish(topic: string, data: unknown): Promise<void>;
  onMessage(handler: (message: ClusterMessage) => void): void;
  close(): Promise<void>;
}

/** A single node: nothing to tell anyone. */
export class LocalBus implements ClusterBus {
  readonly nodeId = randomUUID();
  readonly shared = false;
  async publish(): Promise<void> {}
  onMessage(): void {}
  async close(): Promise<void> {}
}

const CHANNEL = 'plinth_cluster';
/** Below PostgreSQL's 8000-byte NOTIFY limit, with room for the envelope. */
const MAX_INLINE = 7000;

interface Envelope {
  /** sender node */
  n: string;
  t: string;
  d?: unknown;
  /** id of a `_clusterMessages` row holding `d` */
  r?: number;
}

export class PostgresBus implements ClusterBus {
  readonly nodeId = randomUUID();
  readonly shared = true;
  private handlers: Array<(message: ClusterMessage) => void> = [];
  private listener: pg.Client | null = null;
  private closed = false;
  private retryMs = 100;
  private chain: Promise<void> = Promise.resolve();
  private lastPrune = 0;

  constructor(
    private readonly url: string,
    private readonly db: Database,
    private readonly logError: (err: unknown, msg: string) => void,
  ) {}

  /** Creates the overflow table and starts listening; resolves once LISTEN is in place. */
  async start(): Promise<void> {
    await this.db.run(
      sql`CREATE TABLE IF NOT EXISTS "_clusterMessages" (id BIGSERIAL PRIMARY KEY, payload TEXT NOT NULL, created BIGINT NOT NULL)`,
    );
    await this.listen();
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    client.on('notification', (msg) => void this.receive(msg.payload ?? ''));
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
      let data = env.d;
      if (env.r !== undefined) {
        const row = await this.db.get<{ payload: string }>(sql`SELECT payload FROM "_clusterMessages" WHERE id = ${env.r}`);
        if (!row) return;
        data = JSON.parse(row.payload);
      }
      for (const h of this.handlers) h({ topic: env.t, data });
    } catch (err) {
      this.logError(err, 'cluster: bad message');
    }
  }

  publish(topic: string, data: unknown): Promise<void> {
    // One at a time, so other nodes see this node's messages in the order they were published.
    this.chain = this.chain.then(() => this.send(topic, data)).catch((err: unknown) => this.logError(err, `cluster: publishing ${topic} failed`));
    return this.chain;
  }

  private async send(topic: string, data: unknown): Promise<void> {
    let text = JSON.stringify({ n: this.nodeId, t: topic, d: data } satisfies Envelope);
    if (Buffer.byteLength(text) > MAX_INLINE) {
      const now = Date.now();
      const row = await this.db.get<{ id: number }>(
        sql`INSERT INTO "_clusterMessages" (payload, created) VALUES (${JSON.stringify(data)}, ${now}) RETURNING id`,
      );
      text = JSON.stringify({ n: this.nodeId, t: topic, r: Number(row?.id) } satisfies Envelope);
      if (now - this.lastPrune > 10_000) {
        this.lastPrune = now;
        await this.db.run(sql`DELETE FROM "_clusterMessages" WHERE created < ${now - 60_000}`);
      }
    }
    await this.db.run(sql`SELECT pg_notify(${CHANNEL}, ${text})`);
  }

  onMessage(handler: (message: ClusterMessage) => void): void {
    this.handlers.push(handler);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.chain;
    const client = this.listener;
    this.listener = null;
    await client?.end().catch(() => undefined);
  }
}
