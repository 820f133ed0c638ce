/**
 * Webhook delivery straight from the `_webhookMessages` table: no job row per message or per attempt.
 *
 * A write captures its messages into `_webhookOutbox` (service.ts), a table with no index but its sequence, so
 * the capture costs the write one appended row. The deliverer moves them into `_webhookMessages` in batches
 * (one statement or transaction per batch: nothing lost, nothing moved twice; PostgreSQL nodes take disjoint
 * batches with `SKIP LOCKED`) right before it claims, and the service moves them before any read that lists
 * messages, so the outbox is never visible as a difference.
 *
 * A pending message is due when `nextAttempt <= now` and nobody holds it (`lockedUntil` unset or past). A node
 * claims as many due messages as it has free slots in one statement (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so
 * nodes never wait on each other and never take the same row; SQLite: the single writer makes the
 * select-and-update atomic), which sets `lockedBy`/`lockedUntil` (the lease) and returns the rows, payload
 * included. The lease is renewed while the POST runs; a node that dies leaves its claims to expire, and any node
 * then takes them again (SQLite: one process owns the file, so claims left by a previous process are dropped at
 * start). The attempt number is `attempts + 1` and `attempts` only moves when an outcome is recorded, so an
 * attempt cut off by a crash is made again, with the same `webhook-id`: at-least-once.
 *
 * Writes are coalesced: a commit wakes the deliverer `lingerMs` later (default 5 ms), so every message
 * committed meanwhile makes one claim, and outcomes are recorded in batches, one write for all the attempts
 * that finished within `lingerMs` (or at once when half the slots wait to be recorded) (PostgreSQL: one
 * statement over a JSON array of outcomes; SQLite: one writer transaction that also claims the next ones).
 * Each write costs the database a commit whatever it holds, so under load a message costs a share of two
 * commits instead of two commits of its own; when idle a message waits at most `lingerMs` more. Each is
 * conditional on the message still being pending in the same round with fewer recorded attempts, so a replay,
 * a deleted endpoint or another node's outcome for the same attempt is never overwritten. A failed attempt's
 * retry is the same row with a later `nextAttempt`: no new row, and the claim query finds it when due.
 *
 * The node that captured a message wakes its own deliverer at commit; other nodes find due messages by polling
 * (`pollMs`), so a paused or busy node's messages are still delivered by the others.
 */
import type { Database, Executor } from '../db/dialect.js';
import { join, sql } from '../db/sql.js';
import type { Logger } from '../util/logger.js';
import { attemptId } from './ids.js';

export interface MessageRow {
  id: string;
  endpoint: string;
  type: string;
  payload: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  round: number;
  nextAttempt: number | string | null;
  created: number | string;
  updated: number | string;
  /** The span the message was captured under (tracing on), continued by its delivery spans. */
  traceparent?: string | null;
}

/** What one attempt came to (from the service's POST). `final`: no further attempt, whatever the schedule says. */
export interface AttemptOutcome {
  /** Whether a request was made (false: the endpoint was disabled or deleted meanwhile). */
  posted: boolean;
  statusCode: number;
  latency: number;
  response: string;
  error: string;
  ok: boolean;
  final: boolean;
}

export interface DeliveryOptions {
  db: Database;
  nodeId: string;
  /** Whether other processes share the database (PostgreSQL cluster): then stale claims only expire. */
  shared: boolean;
  logger: Logger;
  /** Waits before each attempt; its length is the number of attempts. */
  schedule: readonly number[];
  concurrency: number;
  pollMs: number;
  /** How long a wake-up or an outcome waits for others to share its write (ms; 0: the next turn). */
  lingerMs: number;
  leaseMs: number;
  shutdownGraceMs: number;
  /** Makes attempt `n` of `msg`; throws only when `signal` aborted it (shutdown): the claim is then released. */
  attempt: (msg: MessageRow, n: number, signal: AbortSignal) => Promise<AttemptOutcome>;
  /** Called after an outcome was recorded (the endpoint's health bookkeeping). */
  recorded: (msg: MessageRow, outcome: AttemptOutcome) => Promise<void>;
}

interface InFlight {
  msg: MessageRow;
  controller: AbortController;
  done: Promise<void>;
}

interface Recorded {
  msg: MessageRow;
  n: number;
  outcome: AttemptOutcome;
}

const CHUNK = 200;
/** Outbox rows moved per statement/transaction. */
const MOVE_BATCH = 1000;
const MESSAGE_COLUMNS = sql`id, endpoint, type, payload, status, attempts, round, "nextAttempt", created, updated, traceparent`;
/** PostgreSQL: a claim commits without waiting for the WAL flush (lost on a server crash = claimed again). */
const ASYNC_COMMIT = sql`ac AS (SELECT set_config('synchronous_commit', 'off', true) AS v)`;

export class MessageDelivery {
  /** Claimed here and not yet recorded (their leases are renewed). */
  private readonly inFlight = new Map<string, InFlight>();
  /** Attempts running: the slots in use (an attempt whose outcome waits to be recorded no longer holds one). */
  private busy = 0;
  private batch: Recorded[] = [];
  private flushing: Promise<void> | null = null;
  private started = false;
  private paused = false;
  private stopping = false;
  private pumping = false;
  private again = false;
  private woken = false;
  /** Starts the pending batch's write now (set while a batch waits for its linger). */
  private flushNow: (() => void) | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private wakeTimer: NodeJS.Timeout | null = null;
  private wakeTimerAt = 0;

  constructor(private readonly o: DeliveryOptions) {}

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.stopping = false;
    if (!this.o.shared) {
      // One process owns a SQLite file: whatever is still claimed was claimed by a process that is gone.
      await this.o.db.run(sql`UPDATE "_webhookMessages" SET "lockedBy" = NULL, "lockedUntil" = NULL WHERE "lockedBy" IS NOT NULL`);
    }
    this.pollTimer = setInterval(() => void this.pump(), this.o.pollMs);
    this.pollTimer.unref();
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), Math.max(50, Math.floor(this.o.leaseMs / 3)));
    this.heartbeatTimer.unref();
    this.wake();
  }

  /** Stops claiming on this node (attempts in flight finish); other nodes, or resume(), deliver meanwhile. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.wake();
  }

  /** A message was committed that is due in `delay` ms: claim on the next turn (or at that time). */
  due(delay: number): void {
    if (delay <= 0) this.wake();
    else this.wakeAt(Date.now() + delay);
  }

  /** Claims `lingerMs` from now: everything committed meanwhile makes one claim. */
  private wake(): void {
    if (!this.started || this.stopping || this.paused || this.woken) return;
    this.woken = true;
    const go = () => {
      this.woken = false;
      void this.pump();
    };
    if (this.o.lingerMs > 0) setTimeout(go, this.o.lingerMs).unref();
    else setImmediate(go);
  }

  private wakeAt(at: number): void {
    if (!this.started || at - Date.now() >= this.o.pollMs) return; // the poll comes first
    if (this.wakeTimer && this.wakeTimerAt <= at) return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimerAt = at;
    this.wakeTimer = setTimeout(
      () => {
        this.wakeTimer = null;
        this.wake();
      },
      Math.max(0, at - Date.now()) + 1,
    );
    this.wakeTimer.unref();
  }

  private async pump(): Promise<void> {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.again = false;
        if (!this.started || this.stopping || this.paused) break;
        const free = this.o.concurrency - this.busy;
        if (free <= 0) break;
        const claimed = await this.claim(free);
        for (const msg of claimed) this.run(msg);
        if (claimed.length === free) this.again = true;
      } while (this.again);
    } catch (err) {
      this.o.logger.error({ err }, 'webhooks: could not claim messages (database unavailable?)');
    } finally {
      this.pumping = false;
    }
  }

  /**
   * Moves every captured message from the outbox into `_webhookMessages` (batches of MOVE_BATCH), so that a
   * read sees it; the deliverer moves one batch before each claim.
   */
  async moveOutbox(): Promise<void> {
    const { db } = this.o;
    if (db.dialect.name === 'postgres') {
      while ((await this.movePg()) === MOVE_BATCH);
      return;
    }
    while (await db.get(sql`SELECT 1 AS x FROM "_webhookOutbox" LIMIT 1`)) await db.transaction((tx) => this.moveSqlite(tx));
  }

  /** PostgreSQL: one batch in one statement; concurrent movers (other nodes) skip the rows another one holds. */
  private async movePg(): Promise<number> {
    const res = await this.o.db.run(
      sql`WITH moved AS (DELETE FROM "_webhookOutbox" WHERE seq IN (SELECT seq FROM "_webhookOutbox" ORDER BY seq LIMIT ${MOVE_BATCH} FOR UPDATE SKIP LOCKED) RETURNING id, endpoint, type, payload, "nextAttempt", created, traceparent, seq) INSERT INTO "_webhookMessages" (${MESSAGE_COLUMNS}) SELECT id, endpoint, type, payload, 'pending', 0, 0, "nextAttempt", created, created, traceparent FROM moved ORDER BY seq ON CONFLICT (id) DO NOTHING`,
    );
    return res.changes;
  }

  /** SQLite: one batch inside the writer transaction `tx` (resolves to how many rows it moved). */
  private async moveSqlite(tx: Executor): Promise<number> {
    const last = await tx.get<{ seq: number | null }>(sql`SELECT MAX(seq) AS seq FROM (SELECT seq FROM "_webhookOutbox" ORDER BY seq LIMIT ${MOVE_BATCH})`);
    if (last?.seq === null || last?.seq === undefined) return 0;
    await tx.run(
      sql`INSERT INTO "_webhookMessages" (${MESSAGE_COLUMNS}) SELECT id, endpoint, type, payload, 'pending', 0, 0, "nextAttempt", created, created, traceparent FROM "_webhookOutbox" WHERE seq <= ${last.seq} ORDER BY seq ON CONFLICT (id) DO NOTHING`,
    );
    return (await tx.run(sql`DELETE FROM "_webhookOutbox" WHERE seq <= ${last.seq}`)).changes;
  }

  private async claim(limit: number): Promise<MessageRow[]> {
    const { db, nodeId } = this.o;
    const now = Date.now();
    const until = now + this.o.leaseMs;
    const due = sql`status = 'pending' AND "nextAttempt" <= ${now} AND ("lockedUntil" IS NULL OR "lockedUntil" < ${now})`;
    if (db.dialect.name === 'postgres') {
      await this.movePg();
      return db.all<MessageRow>(
        sql`WITH ${ASYNC_COMMIT}, c AS (SELECT id FROM "_webhookMessages" WHERE ${due} ORDER BY "nextAttempt" LIMIT ${limit} FOR UPDATE SKIP LOCKED) UPDATE "_webhookMessages" AS m SET "lockedBy" = ${nodeId}, "lockedUntil" = ${until} FROM c, ac WHERE m.id = c.id RETURNING m.id, m.endpoint, m.type, m.payload, m.status, m.attempts, m.round, m."nextAttempt", m.created, m.updated, m.traceparent`,
      );
    }
    // Reads on the reader connection first: an idle poll never queues behind the writes.
    const captured = await db.get(sql`SELECT 1 AS x FROM "_webhookOutbox" LIMIT 1`);
    if (!captured && !(await db.get(sql`SELECT 1 AS x FROM "_webhookMessages" WHERE ${due} LIMIT 1`))) return [];
    return db.transaction((tx) => this.claimSqlite(tx, limit));
  }

  /** SQLite: a batch moved from the outbox, then the claim, in a writer transaction (the single writer makes select-and-update one step). */
  private async claimSqlite(tx: Executor, limit: number): Promise<MessageRow[]> {
    await this.moveSqlite(tx);
    const now = Date.now();
    const due = sql`status = 'pending' AND "nextAttempt" <= ${now} AND ("lockedUntil" IS NULL OR "lockedUntil" < ${now})`;
    return tx.all<MessageRow>(
      sql`UPDATE "_webhookMessages" SET "lockedBy" = ${this.o.nodeId}, "lockedUntil" = ${now + this.o.leaseMs} WHERE id IN (SELECT id FROM "_webhookMessages" WHERE ${due} ORDER BY "nextAttempt" LIMIT ${limit}) RETURNING id, endpoint, type, payload, status, attempts, round, "nextAttempt", created, updated, traceparent`,
    );
  }

  /** Whether this node may claim now, and how many. */
  private freeSlots(): number {
    return !this.started || this.stopping || this.paused ? 0 : Math.max(0, this.o.concurrency - this.busy);
  }

  private run(msg: MessageRow): void {
    const controller = new AbortController();
    const n = Number(msg.attempts) + 1;
    const entry: InFlight = { msg, controller, done: Promise.resolve() };
    this.inFlight.set(msg.id, entry);
    this.busy++;
    let recorded = false;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.busy--;
    };
    entry.done = (async () => {
      let outcome: AttemptOutcome;
      try {
        outcome = await this.o.attempt(msg, n, controller.signal);
      } catch (err) {
        if (!controller.signal.aborted) this.o.logger.error({ err, message: msg.id }, 'webhooks: an attempt failed unexpectedly');
        return; // not recorded: the claim is released on shutdown, or expires
      } finally {
        release(); // the slot is free once the POST is over: the next claim overlaps with recording this one
      }
      if (this.inFlight.get(msg.id) !== entry) return;
      this.batch.push({ msg, n, outcome });
      // PostgreSQL: claim again at once, beside the recording. SQLite: the recording transaction claims too.
      if (this.o.db.dialect.name === 'postgres') this.wake();
      await this.flushSoon();
      recorded = true;
    })()
      .catch((err) => this.o.logger.error({ err, message: msg.id }, 'webhooks: could not record an attempt (its claim will expire)'))
      .finally(() => {
        release();
        if (this.inFlight.get(msg.id) === entry) this.inFlight.delete(msg.id);
        if (!recorded) this.wake();
      });
  }

  /**
   * Records the batch `lingerMs` from its first outcome (one write for every attempt that finished meanwhile),
   * or at once when half the slots wait to be recorded (a backlog: the slots are the throughput) or on shutdown.
   */
  private flushSoon(): Promise<void> {
    this.flushing ??= new Promise<void>((resolve) => {
      const linger = this.o.lingerMs > 0 && !this.stopping;
      const timer = linger ? setTimeout(() => this.flushNow?.(), this.o.lingerMs) : setImmediate(() => this.flushNow?.());
      this.flushNow = () => {
        if (linger) clearTimeout(timer as NodeJS.Timeout);
        else clearImmediate(timer as NodeJS.Immediate);
        this.flushNow = null;
        resolve();
      };
    }).then(async () => {
      try {
        while (this.batch.length) await this.flush(this.batch.splice(0, CHUNK));
      } finally {
        this.flushing = null;
      }
    });
    if (this.flushNow && (this.stopping || this.batch.length * 2 >= this.o.concurrency)) this.flushNow();
    return this.flushing;
  }

  private async flush(items: Recorded[]): Promise<void> {
    const { db, schedule } = this.o;
    let next: MessageRow[] = [];
    const now = Date.now();
    const rows = items.map(({ msg, n, outcome: o }) => {
      const last = o.ok || o.final || n >= schedule.length;
      return {
        id: msg.id,
        endpoint: msg.endpoint,
        round: Number(msg.round),
        n,
        status: o.ok ? 'delivered' : last ? 'failed' : 'pending',
        next: last ? null : now + (schedule[n] ?? 0),
        aid: attemptId(now),
        statusCode: o.statusCode,
        latency: o.latency,
        // PostgreSQL text cannot hold NUL; the log keeps the readable part of the answer.
        response: o.response.replace(/\0/g, ''),
        error: o.error.replace(/\0/g, ''),
      };
    });
    if (db.dialect.name === 'postgres') {
      // One statement for the whole batch: the JSON array is one bound parameter.
      await db.run(
        sql`WITH d AS (SELECT * FROM json_to_recordset(${JSON.stringify(rows)}::json) AS d(id text, round integer, n integer, status text, next bigint, aid text, "statusCode" integer, latency integer, response text, error text)), u AS (UPDATE "_webhookMessages" AS m SET attempts = d.n, status = d.status, "nextAttempt" = d.next, "lockedBy" = NULL, "lockedUntil" = NULL, updated = ${now} FROM d WHERE m.id = d.id AND m.status = 'pending' AND m.round = d.round AND m.attempts < d.n RETURNING m.id, m.endpoint) INSERT INTO "_webhookAttempts" (id, message, endpoint, attempt, time, "statusCode", latency, response, error) SELECT d.aid, u.id, u.endpoint, d.n, ${now}, d."statusCode", d.latency, d.response, d.error FROM u JOIN d ON d.id = u.id`,
      );
    } else {
      // The outcomes and the next claim in one writer transaction: one commit per cycle, not two.
      next = await db.transaction(async (tx) => {
        for (const r of rows) {
          const res = await tx.run(
            sql`UPDATE "_webhookMessages" SET attempts = ${r.n}, status = ${r.status}, "nextAttempt" = ${r.next}, "lockedBy" = NULL, "lockedUntil" = NULL, updated = ${now} WHERE id = ${r.id} AND status = 'pending' AND round = ${r.round} AND attempts < ${r.n}`,
          );
          if (res.changes !== 1) continue; // replayed, deleted, or another node recorded this attempt
          await tx.run(
            sql`INSERT INTO "_webhookAttempts" (id, message, endpoint, attempt, time, "statusCode", latency, response, error) VALUES (${r.aid}, ${r.id}, ${r.endpoint}, ${r.n}, ${now}, ${r.statusCode}, ${r.latency}, ${r.response}, ${r.error})`,
          );
        }
        const free = this.freeSlots();
        return free > 0 ? this.claimSqlite(tx, free) : [];
      });
    }
    for (const msg of next) this.run(msg);
    for (const r of rows) if (r.next !== null) this.wakeAt(r.next);
    for (const item of items) {
      try {
        await this.o.recorded(item.msg, item.outcome);
      } catch (err) {
        this.o.logger.error({ err, endpoint: item.msg.endpoint }, 'webhooks: could not update the endpoint after an attempt');
      }
    }
  }

  /** Renews the leases of the messages being attempted here. */
  private async heartbeat(): Promise<void> {
    if (this.inFlight.size === 0) return;
    const ids = [...this.inFlight.keys()];
    const until = Date.now() + this.o.leaseMs;
    try {
      for (let i = 0; i < ids.length; i += CHUNK) {
        await this.o.db.run(
          sql`UPDATE "_webhookMessages" SET "lockedUntil" = ${until} WHERE "lockedBy" = ${this.o.nodeId} AND id IN (${join(ids.slice(i, i + CHUNK))})`,
        );
      }
    } catch (err) {
      this.o.logger.error({ err }, 'webhooks: could not renew the claims (database unavailable?)');
    }
  }

  /**
   * Stops claiming, gives the attempts in flight the grace period, records what finished, and releases the
   * claims of the rest (their attempt was not recorded, so it is made again, by another node or the next start).
   */
  async close(): Promise<void> {
    if (!this.started) return;
    this.stopping = true;
    for (const t of [this.pollTimer, this.heartbeatTimer]) if (t) clearInterval(t);
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    const pending = [...this.inFlight.values()];
    if (pending.length) {
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled(pending.map((p) => p.done)),
        new Promise<void>((resolve) => {
          grace = setTimeout(resolve, this.o.shutdownGraceMs);
        }),
      ]);
      clearTimeout(grace);
    }
    this.flushNow?.();
    while (this.flushing) await this.flushing.catch(() => undefined);
    const left = [...this.inFlight.keys()];
    for (const p of this.inFlight.values()) p.controller.abort(new Error('Plinth is shutting down.'));
    this.inFlight.clear();
    try {
      for (let i = 0; i < left.length; i += CHUNK) {
        await this.o.db.run(
          sql`UPDATE "_webhookMessages" SET "lockedBy" = NULL, "lockedUntil" = NULL WHERE "lockedBy" = ${this.o.nodeId} AND id IN (${join(left.slice(i, i + CHUNK))})`,
        );
      }
    } catch (err) {
      this.o.logger.error({ err }, 'webhooks: could not release the claims on shutdown (they will expire)');
    }
    this.started = false;
  }
}
