/**
 * Durable background jobs: `define(name, handler, options)` and `enqueue(name, payload, options)`, stored in
 * the `_jobs` table of the app's own database (SQLite or PostgreSQL), so a job survives a crash and, on
 * PostgreSQL, every node of a cluster shares one queue.
 *
 * Guarantees (docs/jobs.md):
 * - At-least-once: a job is marked done only after its handler returned; a crash in between runs it again.
 *   A job is marked done at most once per claim, and only by the node that holds its claim.
 * - Claims: SQLite has one writer connection, so `UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING` is
 *   atomic; PostgreSQL picks rows with `FOR UPDATE SKIP LOCKED` in the same statement, so nodes never wait
 *   on each other and never take the same row.
 * - Leases: a claim holds the row until `lockedUntil`; a running job's lease is renewed (heartbeat) while its
 *   handler runs. A job whose node died is put back when the lease expires (on SQLite, one process owns the
 *   file, so jobs left running by a previous process are put back at start).
 * - Failures: a throw (or a timeout, which also aborts `signal`) is a failed attempt, retried with exponential
 *   backoff and jitter; after the last retry the job stays `failed` with its error (dead letter).
 * - Transactional enqueue: with `tx`, the row is written by that transaction and exists only if it commits.
 *
 * Hot paths are cheap: completions are batched (one UPDATE per event-loop turn), claims take as many rows
 * as there are free slots, and a local enqueue wakes the workers at once (PostgreSQL: other nodes hear of it
 * through the cluster bus, and poll every second besides).
 */
import type { ClusterBus } from '../cluster/bus.js';
import type { SchemaLookup } from '../collections/model.js';
import { tableAsCollection } from '../collections/system-collections.js';
import type { Database, Executor } from '../db/dialect.js';
import { join, sql, type Sql } from '../db/sql.js';
import { AppError } from '../errors/index.js';
import type { ListParams } from '../records/query.js';
import { compileFilter, compileSort, type RequestInfo } from '../rules/index.js';
import { formatDateTime } from '../util/datetime.js';
import type { Logger } from '../util/logger.js';
import { LOWER_ALPHANUMERIC_ALPHABET, randomString } from '../util/random.js';
import { tracer } from '../tracing/index.js';

export interface JobOptions {
  /** Jobs of this name run at once on this node (default 1). */
  concurrency?: number;
  /** Retries after the first attempt (default 3, so 4 attempts in all). */
  retries?: number;
  /** Base delay of the exponential backoff between attempts, in ms (default 1000). */
  backoff?: number;
  /** An attempt running longer than this (ms, default 60000) is aborted and counts as failed. */
  timeout?: number;
}

export interface EnqueueOptions {
  /** Run no earlier than this many ms from now. */
  delay?: number;
  /** Run no earlier than this time (a Date or an ISO / PocketBase datetime string). */
  runAt?: Date | string;
  /** Idempotency key (per job name): while a job with this name and key exists, enqueue returns it. */
  key?: string;
  /** Insert through this transaction: the job exists only if it commits. */
  tx?: Executor;
}

export interface JobContext<P = unknown> {
  id: string;
  name: string;
  payload: P;
  /** 1 for the first attempt. */
  attempt: number;
  /** Aborted when the attempt times out, the job is discarded, or the app shuts down past its grace period. */
  signal: AbortSignal;
}

export type JobHandler<P = unknown> = (job: JobContext<P>) => unknown;

export type JobStatus = 'queued' | 'running' | 'done' | 'failed';

/** A job as the API shows it (times in PocketBase's datetime format, '' when unset). */
export interface JobInfo {
  id: string;
  name: string;
  payload: unknown;
  key: string;
  status: JobStatus;
  attempts: number;
  maxAttempts: number;
  runAt: string;
  lockedBy: string;
  lockedUntil: string;
  lastError: string;
  created: string;
  updated: string;
  finished: string;
}

export interface JobsPage {
  items: JobInfo[];
  page: number;
  perPage: number;
  totalItems: number;
  totalPages: number;
}

export interface JobStats {
  queued: number;
  running: number;
  done: number;
  failed: number;
  /** Queued jobs whose name no node of this process defines (they wait for a node that does). */
  undefinedNames: string[];
}

/** Tuning, mostly for tests; the defaults suit production. */
export interface QueueTuning {
  /** How often idle workers look for due jobs (ms, default 1000). */
  pollMs?: number;
  /** Claim lease (ms, default 30000), renewed every third of it while the handler runs. */
  leaseMs?: number;
  /** Done jobs are deleted this long after they finished (ms, default 7 days). */
  retentionMs?: number;
  /** On close, how long running handlers may finish before they are put back in the queue (ms, default 5000; `plinth serve` force-exits 10 s after a signal). */
  shutdownGraceMs?: number;
  /** Longest backoff between attempts (ms, default 1 hour). */
  maxBackoffMs?: number;
}

interface Worker {
  name: string;
  handler: JobHandler;
  concurrency: number;
  maxAttempts: number;
  backoff: number;
  timeout: number;
  running: number;
  pumping: boolean;
  again: boolean;
  woken: boolean;
  timer: NodeJS.Timeout | null;
  timerAt: number;
}

interface Running {
  id: string;
  name: string;
  attempt: number;
  controller: AbortController;
  /** Settles when the handler (or its timeout) is over. */
  done: Promise<void>;
}

/** A claimed row: what an attempt needs. */
interface ClaimedRow {
  id: string;
  payload: string;
  attempts: number;
  maxAttempts: number;
  /** The W3C trace context the job was enqueued under (tracing on), else null. */
  traceparent: string | null;
}

interface JobRow {
  id: string;
  name: string;
  payload: string;
  key: string | null;
  status: JobStatus;
  attempts: number;
  maxAttempts: number;
  runAt: number;
  lockedBy: string | null;
  lockedUntil: number | null;
  lastError: string | null;
  created: number;
  updated: number;
  finished: number | null;
}

const NAME = /^[\w.:-]{1,100}$/;
const MAX_KEY = 255;
const MAX_PAYLOAD = 1_000_000;
const MAX_ERROR = 4000;
const MAX_CONCURRENCY = 1000;
const MAX_RETRIES = 1000;
const FINISH_CHUNK = 200;
const BUS_TOPIC = 'jobs';
/**
 * PostgreSQL: claims and completions commit without waiting for the WAL flush (`synchronous_commit` off for
 * that one statement's transaction). If the database server itself crashes, the last few milliseconds of
 * them may be lost, which only means a job runs again: at-least-once holds. Enqueues stay fully durable.
 * Used as a CTE named `ac` that the statement must reference (PostgreSQL skips unreferenced CTEs).
 */
const ASYNC_COMMIT = sql`ac AS (SELECT set_config('synchronous_commit', 'off', true) AS v)`;

/** Statuses as stored; the API filter language sees the same words. */
const STATUSES: readonly JobStatus[] = ['queued', 'running', 'done', 'failed'];

export class JobQueue {
  /** Failed attempts on this node per job name: retried, or failed for good (metrics). */
  readonly failureCounts = new Map<string, { retry: number; failed: number }>();
  private readonly workers = new Map<string, Worker>();
  private readonly running = new Map<string, Running>();
  private started = false;
  private listening = false;
  private stopping = false;
  private pollTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private lastReap = 0;
  /** Completions waiting for the next batched UPDATE. */
  private finishBatch: Array<{ id: string; attempt: number }> = [];
  private finishing: Promise<void> | null = null;
  /** Names enqueued this turn, announced to the other nodes once. */
  private announce = new Set<string>();
  private readonly pollMs: number;
  private readonly leaseMs: number;
  private readonly retentionMs: number;
  private readonly shutdownGraceMs: number;
  private readonly maxBackoffMs: number;
  private readonly collection = tableAsCollection('_jobs', [
    ['id', 'text'],
    ['name', 'text'],
    ['key', 'text'],
    ['status', 'text'],
    ['attempts', 'number'],
    ['maxAttempts', 'number'],
    ['lastError', 'text'],
    ['lockedBy', 'text'],
    ['runAt', 'number'],
    ['created', 'number'],
    ['updated', 'number'],
    ['finished', 'number'],
  ]);
  private readonly schema: SchemaLookup;

  constructor(
    private readonly db: Database,
    private readonly bus: ClusterBus,
    private readonly logger: Logger,
    tuning: QueueTuning = {},
  ) {
    this.pollMs = tuning.pollMs ?? 1000;
    this.leaseMs = tuning.leaseMs ?? 30_000;
    this.retentionMs = tuning.retentionMs ?? 7 * 86_400_000;
    this.shutdownGraceMs = tuning.shutdownGraceMs ?? 5000;
    this.maxBackoffMs = tuning.maxBackoffMs ?? 3_600_000;
    const c = this.collection;
    this.schema = { find: (n) => (n === c.id || n === c.name ? c : undefined), all: () => [c] };
  }

  /** Creates the table and indexes (idempotent). */
  async init(): Promise<void> {
    await this.db.transaction((tx) => createJobsTable(tx, this.db.dialect.name));
  }

  /** Starts claiming (jobs defined before or after). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.stopping = false;
    // One process owns a SQLite file: whatever is still marked running was left by a process that died.
    if (!this.bus.shared) {
      try {
        await this.db.run(
          sql`UPDATE "_jobs" SET status = CASE WHEN attempts >= "maxAttempts" THEN 'failed' ELSE 'queued' END, "lockedBy" = NULL, "lockedUntil" = NULL, "runAt" = ${Date.now()}, "lastError" = ${'The process running this attempt stopped before it finished.'}, updated = ${Date.now()}, finished = CASE WHEN attempts >= "maxAttempts" THEN CAST(${Date.now()} AS BIGINT) ELSE NULL END WHERE status = 'running'`,
        );
      } catch (err) {
        this.logger.error({ err }, 'jobs: could not put back the jobs of a previous process');
      }
    }
    if (!this.listening) {
      this.listening = true;
      this.bus.onMessage((m) => {
        if (m.topic !== BUS_TOPIC || !Array.isArray(m.data)) return;
        for (const name of m.data) if (typeof name === 'string') this.wake(name);
      });
    }
    this.pollTimer = setInterval(() => this.poll(), this.pollMs);
    this.pollTimer.unref();
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), Math.max(50, Math.floor(this.leaseMs / 3)));
    this.heartbeatTimer.unref();
    this.poll();
  }

  /** Registers (or replaces) the handler for a job name on this node. */
  define<P = unknown>(name: string, handler: JobHandler<P>, options: JobOptions = {}): void {
    checkName(name);
    if (typeof handler !== 'function') throw AppError.badRequest(`The handler of job "${name}" must be a function.`);
    const concurrency = intOption(options.concurrency, 1, 1, MAX_CONCURRENCY, 'concurrency');
    const retries = intOption(options.retries, 3, 0, MAX_RETRIES, 'retries');
    const backoff = intOption(options.backoff, 1000, 0, 86_400_000, 'backoff');
    const timeout = intOption(options.timeout, 60_000, 1, 2 ** 31 - 1, 'timeout');
    const old = this.workers.get(name);
    if (old) {
      // Replaced in place: jobs already running keep counting against the same slots.
      Object.assign(old, { handler: handler as JobHandler, concurrency, maxAttempts: retries + 1, backoff, timeout });
    } else {
      this.workers.set(name, {
        name,
        handler: handler as JobHandler,
        concurrency,
        maxAttempts: retries + 1,
        backoff,
        timeout,
        running: 0,
        pumping: false,
        again: false,
        woken: false,
        timer: null,
        timerAt: 0,
      });
    }
    if (this.started) this.wake(name);
  }

  /** Forgets a job name on this node (its queued jobs wait for a node that defines it). */
  undefine(name: string): void {
    const worker = this.workers.get(name);
    if (worker?.timer) clearTimeout(worker.timer);
    this.workers.delete(name);
  }

  /** Names defined on this node. */
  defined(): string[] {
    return [...this.workers.keys()].sort();
  }

  /**
   * Adds a job. A name no node defines yet is accepted: the job waits until a node defines it.
   * With a `key`, an existing job of the same name and key (of any status, until it is pruned or
   * discarded) is returned instead, with `created: false`.
   */
  async enqueue<P = unknown>(name: string, payload: P, options: EnqueueOptions = {}): Promise<{ id: string; created: boolean }> {
    checkName(name);
    const text = serialisePayload(payload);
    const now = Date.now();
    const runAt = runAtOf(options, now);
    const key = options.key;
    if (key !== undefined && (typeof key !== 'string' || key === '' || key.length > MAX_KEY)) {
      throw AppError.badRequest(`A job key must be a non-empty string of at most ${MAX_KEY} characters.`);
    }
    // The claiming node's definition sets the attempts; this is what the dashboard shows until then.
    const maxAttempts = this.workers.get(name)?.maxAttempts ?? 4;
    const exec = options.tx ?? this.db;
    const id = randomString(15, LOWER_ALPHANUMERIC_ALPHABET);
    const insert = sql`INSERT INTO "_jobs" (id, name, payload, "key", status, attempts, "maxAttempts", "runAt", created, updated, traceparent) VALUES (${id}, ${name}, ${text}, ${key ?? null}, 'queued', 0, ${maxAttempts}, ${runAt}, ${now}, ${now}, ${tracer ? tracer.traceparent() : null})`;
    let created = true;
    let jobId = id;
    if (key === undefined) {
      await exec.run(insert);
    } else {
      for (let i = 0; ; i++) {
        const res = await exec.run(sql`${insert} ON CONFLICT (name, "key") DO NOTHING`);
        if (res.changes === 1) break;
        // On SQLite outside a transaction this read is on the reader connection, after the insert's commit.
        const existing = await exec.get<{ id: string }>(sql`SELECT id FROM "_jobs" WHERE name = ${name} AND "key" = ${key}`);
        if (existing) {
          created = false;
          jobId = existing.id;
          break;
        }
        if (i >= 2) throw new AppError('unavailable', 'Could not enqueue the job, please try again.');
      }
    }
    if (created) exec.afterCommit(() => this.enqueued(name, runAt));
    return { id: jobId, created };
  }

  /**
   * The INSERT of a new job, for a caller that sends it in one statement with its own write (a PostgreSQL
   * data-modifying CTE, e.g. webhooks' message + delivery job). The caller runs it through its transaction,
   * adds its own `ON CONFLICT` if it gives a key, and calls `announceInserted(name, runAt)` in `tx.afterCommit`.
   */
  prepareInsert<P = unknown>(name: string, payload: P, options: Omit<EnqueueOptions, 'tx'> = {}): { id: string; insert: Sql; runAt: number } {
    checkName(name);
    const text = serialisePayload(payload);
    const now = Date.now();
    const runAt = runAtOf(options, now);
    const key = options.key;
    if (key !== undefined && (typeof key !== 'string' || key === '' || key.length > MAX_KEY)) {
      throw AppError.badRequest(`A job key must be a non-empty string of at most ${MAX_KEY} characters.`);
    }
    const maxAttempts = this.workers.get(name)?.maxAttempts ?? 4;
    const id = randomString(15, LOWER_ALPHANUMERIC_ALPHABET);
    const insert = sql`INSERT INTO "_jobs" (id, name, payload, "key", status, attempts, "maxAttempts", "runAt", created, updated, traceparent) VALUES (${id}, ${name}, ${text}, ${key ?? null}, 'queued', 0, ${maxAttempts}, ${runAt}, ${now}, ${now}, ${tracer ? tracer.traceparent() : null})`;
    return { id, insert, runAt };
  }

  /** Wakes the workers for a job inserted through `prepareInsert` (call it after the commit). */
  announceInserted(name: string, runAt: number): void {
    this.enqueued(name, runAt);
  }

  /** A job was committed: wake the local worker (at its run time) and tell the other nodes. */
  private enqueued(name: string, runAt: number): void {
    const wait = runAt - Date.now();
    if (wait <= 0) this.wake(name);
    else this.wakeAt(name, runAt);
    if (this.bus.shared && wait < this.pollMs) {
      if (this.announce.size === 0) {
        setImmediate(() => {
          const names = [...this.announce];
          this.announce.clear();
          void this.bus.publish(BUS_TOPIC, names);
        });
      }
      this.announce.add(name);
    }
  }

  /** Claims for `name` on the next turn of the event loop: the slots freed and jobs enqueued in one turn make one claim. */
  private wake(name: string): void {
    const worker = this.workers.get(name);
    if (!worker || !this.started || this.stopping || worker.woken) return;
    worker.woken = true;
    setImmediate(() => {
      worker.woken = false;
      // An enqueue inside a traced request wakes the claim; the claim is not part of that request's trace.
      void (tracer ? tracer.detached(() => this.pump(worker)) : this.pump(worker));
    });
  }

  /** A local timer for a job due before the next poll. */
  private wakeAt(name: string, at: number): void {
    const worker = this.workers.get(name);
    if (!worker || !this.started) return;
    const wait = at - Date.now();
    if (wait >= this.pollMs) return;
    if (worker.timer && worker.timerAt <= at) return;
    if (worker.timer) clearTimeout(worker.timer);
    worker.timerAt = at;
    worker.timer = setTimeout(() => {
      worker.timer = null;
      this.wake(name);
    }, Math.max(0, wait) + 1);
    worker.timer.unref();
  }

  private poll(): void {
    if (!this.started || this.stopping) return;
    const now = Date.now();
    if (now - this.lastReap >= Math.min(this.leaseMs / 3, 5000)) {
      this.lastReap = now;
      void this.reap();
    }
    for (const worker of this.workers.values()) void this.pump(worker);
  }

  /** Claims as many due jobs as the worker has free slots, until there are none or no slots. */
  private async pump(worker: Worker): Promise<void> {
    if (worker.pumping) {
      worker.again = true;
      return;
    }
    worker.pumping = true;
    try {
      do {
        worker.again = false;
        if (this.stopping || !this.started || this.workers.get(worker.name) !== worker) break;
        const free = worker.concurrency - worker.running;
        if (free <= 0) break;
        const claimed = await this.claim(worker, free);
        for (const row of claimed) this.execute(worker, row);
        if (claimed.length === free) worker.again = true;
      } while (worker.again);
    } catch (err) {
      this.logger.error({ err, job: worker.name }, 'jobs: could not claim jobs (database unavailable?)');
    } finally {
      worker.pumping = false;
    }
  }

  private async claim(worker: Worker, limit: number): Promise<ClaimedRow[]> {
    const { name, maxAttempts } = worker;
    const now = Date.now();
    const until = now + this.leaseMs;
    const node = this.bus.nodeId;
    if (this.db.dialect.name === 'postgres') {
      return this.db.all(
        sql`WITH ${ASYNC_COMMIT}, c AS (SELECT id FROM "_jobs" WHERE name = ${name} AND status = 'queued' AND "runAt" <= ${now} ORDER BY "runAt", created LIMIT ${limit} FOR UPDATE SKIP LOCKED) UPDATE "_jobs" AS j SET status = 'running', attempts = j.attempts + 1, "lockedBy" = ${node}, "lockedUntil" = ${until}, "maxAttempts" = ${maxAttempts}, updated = ${now} FROM c, ac WHERE j.id = c.id RETURNING j.id, j.payload, j.attempts, j."maxAttempts", j.traceparent`,
      );
    }
    // A read on the reader connection first: an idle poll never queues behind the writes.
    const due = await this.db.get(sql`SELECT 1 AS x FROM "_jobs" WHERE name = ${name} AND status = 'queued' AND "runAt" <= ${now} LIMIT 1`);
    if (!due) return [];
    // The single writer connection makes the select-and-update one atomic step.
    return this.db.transaction((tx) =>
      tx.all(
        sql`UPDATE "_jobs" SET status = 'running', attempts = attempts + 1, "lockedBy" = ${node}, "lockedUntil" = ${until}, "maxAttempts" = ${maxAttempts}, updated = ${now} WHERE id IN (SELECT id FROM "_jobs" WHERE name = ${name} AND status = 'queued' AND "runAt" <= ${now} ORDER BY "runAt", created LIMIT ${limit}) RETURNING id, payload, attempts, "maxAttempts", traceparent`,
      ),
    );
  }

  private execute(worker: Worker, row: ClaimedRow): void {
    const attempt = Number(row.attempts);
    const controller = new AbortController();
    worker.running++;
    let payload: unknown;
    let timer: NodeJS.Timeout | null = null;
    let released = false;
    // The slot is free once the handler is over: the next claim overlaps with recording this outcome.
    const release = (): void => {
      if (released) return;
      released = true;
      worker.running--;
      if (!this.stopping) this.wake(worker.name);
    };
    const done = (async () => {
      let failure: unknown;
      let ok = false;
      try {
        payload = JSON.parse(row.payload);
        const timedOut = new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            const err = new JobTimeoutError(worker.timeout);
            controller.abort(err);
            reject(err);
          }, worker.timeout);
          timer.unref();
        });
        timedOut.catch(() => undefined);
        const job = { id: row.id, name: worker.name, payload, attempt, signal: controller.signal };
        await Promise.race([
          Promise.resolve().then(() =>
            // Tracing on: the attempt is a span, a child of the span that enqueued the job (its stored traceparent).
            tracer
              ? tracer.span(
                  `job ${worker.name}`,
                  {
                    kind: 'consumer',
                    parent: row.traceparent,
                    attributes: { 'plinth.job.name': worker.name, 'plinth.job.id': row.id, 'plinth.job.attempt': attempt },
                  },
                  () => worker.handler(job),
                )
              : worker.handler(job),
          ),
          timedOut,
        ]);
        ok = true;
      } catch (err) {
        failure = err;
      } finally {
        if (timer) clearTimeout(timer);
      }
      release();
      if (this.running.get(row.id)?.controller !== controller) return; // discarded meanwhile
      if (ok) await this.finish(row.id, attempt);
      else await this.fail(worker, row.id, attempt, Number(row.maxAttempts), failure);
    })()
      .catch((err) => this.logger.error({ err, job: worker.name, id: row.id }, 'jobs: could not record the outcome of a job'))
      .finally(() => {
        if (this.running.get(row.id)?.controller === controller) this.running.delete(row.id);
        release();
      });
    this.running.set(row.id, { id: row.id, name: worker.name, attempt, controller, done });
  }

  /** Marks a job done (batched: one UPDATE for every completion of this event-loop turn). */
  private finish(id: string, attempt: number): Promise<void> {
    this.finishBatch.push({ id, attempt });
    this.finishing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flushFinished());
    return this.finishing;
  }

  private async flushFinished(): Promise<void> {
    try {
      while (this.finishBatch.length) {
        const batch = this.finishBatch.splice(0, FINISH_CHUNK);
        const now = Date.now();
        const match = join(
          batch.map((j) => sql`(id = ${j.id} AND attempts = ${j.attempt})`),
          sql` OR `,
        );
        // Only the claim this node holds: a job whose lease passed and was claimed again is not ours to finish.
        const update = sql`UPDATE "_jobs" SET status = 'done', "lockedBy" = NULL, "lockedUntil" = NULL, updated = ${now}, finished = ${now} WHERE status = 'running' AND "lockedBy" = ${this.bus.nodeId} AND (${match})`;
        await this.db.run(this.db.dialect.name === 'postgres' ? sql`WITH ${ASYNC_COMMIT} ${update} AND EXISTS (SELECT 1 FROM ac)` : update);
      }
    } finally {
      this.finishing = null;
    }
  }

  private async fail(worker: Worker, id: string, attempt: number, maxAttempts: number, err: unknown): Promise<void> {
    const now = Date.now();
    const message = errorText(err);
    const last = attempt >= maxAttempts;
    let counts = this.failureCounts.get(worker.name);
    if (!counts) this.failureCounts.set(worker.name, (counts = { retry: 0, failed: 0 }));
    if (last) counts.failed++;
    else counts.retry++;
    if (!last) {
      const runAt = now + this.backoffDelay(worker.backoff, attempt);
      const res = await this.db.run(
        sql`UPDATE "_jobs" SET status = 'queued', "runAt" = ${runAt}, "lockedBy" = NULL, "lockedUntil" = NULL, "lastError" = ${message}, updated = ${now} WHERE id = ${id} AND status = 'running' AND "lockedBy" = ${this.bus.nodeId} AND attempts = ${attempt}`,
      );
      if (res.changes === 1) this.wakeAt(worker.name, runAt);
    } else {
      await this.db.run(
        sql`UPDATE "_jobs" SET status = 'failed', "lockedBy" = NULL, "lockedUntil" = NULL, "lastError" = ${message}, updated = ${now}, finished = ${now} WHERE id = ${id} AND status = 'running' AND "lockedBy" = ${this.bus.nodeId} AND attempts = ${attempt}`,
      );
      this.logger.warn({ job: worker.name, id, attempts: attempt, err }, 'job failed after its last attempt');
    }
  }

  /** Exponential backoff with jitter: between half and all of `base·2^(attempt-1)`, capped. */
  backoffDelay(base: number, attempt: number): number {
    const full = Math.min(Math.max(this.maxBackoffMs, base), base * 2 ** Math.min(attempt - 1, 30));
    return Math.round(full / 2 + (Math.random() * full) / 2);
  }

  /** Renews the leases of the jobs running here. */
  private async heartbeat(): Promise<void> {
    if (this.running.size === 0) return;
    const ids = [...this.running.keys()];
    const until = Date.now() + this.leaseMs;
    try {
      for (let i = 0; i < ids.length; i += FINISH_CHUNK) {
        const chunk = ids.slice(i, i + FINISH_CHUNK);
        await this.db.run(
          sql`UPDATE "_jobs" SET "lockedUntil" = ${until} WHERE status = 'running' AND "lockedBy" = ${this.bus.nodeId} AND id IN (${join(chunk)})`,
        );
      }
    } catch (err) {
      this.logger.error({ err }, 'jobs: could not renew leases (database unavailable?)');
    }
  }

  /** Puts back jobs whose claim expired (their node died or lost the database); the last attempt's become failed. */
  async reap(): Promise<number> {
    const now = Date.now();
    try {
      const res = await this.db.run(
        sql`UPDATE "_jobs" SET status = CASE WHEN attempts >= "maxAttempts" THEN 'failed' ELSE 'queued' END, "lockedBy" = NULL, "lockedUntil" = NULL, "runAt" = ${now}, "lastError" = ${'The node running this attempt stopped renewing its claim (it stopped or lost the database).'}, updated = ${now}, finished = CASE WHEN attempts >= "maxAttempts" THEN CAST(${now} AS BIGINT) ELSE NULL END WHERE status = 'running' AND "lockedUntil" < ${now}`,
      );
      if (res.changes > 0) for (const worker of this.workers.values()) void this.pump(worker);
      return res.changes;
    } catch (err) {
      this.logger.error({ err }, 'jobs: could not put back expired claims');
      return 0;
    }
  }

  /** Deletes done jobs older than the retention (called by the hourly housekeeping job). */
  async prune(now = Date.now()): Promise<number> {
    const res = await this.db.run(sql`DELETE FROM "_jobs" WHERE status = 'done' AND finished < ${now - this.retentionMs}`);
    return res.changes;
  }

  // ——— the superusers' API ———

  async list(params: ListParams, request: RequestInfo): Promise<JobsPage> {
    const opts = { collection: this.collection, schema: this.schema, dialect: this.db.dialect, rootAlias: '_r', request, mode: 'client' as const };
    const where: Sql = params.filter.trim() ? sql` WHERE ${compileFilter(params.filter, opts)}` : sql``;
    const order: Sql = params.sort.trim() ? sql` ORDER BY ${compileSort(params.sort, opts)}` : sql` ORDER BY "_r".created DESC, "_r".id DESC`;
    const from = sql`FROM "_jobs" AS "_r"${where}`;
    const rows = await this.db.all<JobRow>(sql`SELECT "_r".* ${from}${order} LIMIT ${params.perPage} OFFSET ${(params.page - 1) * params.perPage}`);
    let totalItems = -1;
    let totalPages = -1;
    if (!params.skipTotal) {
      const count = await this.db.get<{ n: number }>(sql`SELECT COUNT(*) AS n ${from}`);
      totalItems = Number(count?.n ?? 0);
      totalPages = Math.ceil(totalItems / params.perPage);
    }
    return { items: rows.map(toInfo), page: params.page, perPage: params.perPage, totalItems, totalPages };
  }

  async get(id: string): Promise<JobInfo> {
    const row = await this.db.get<JobRow>(sql`SELECT * FROM "_jobs" WHERE id = ${id}`);
    if (!row) throw AppError.notFound('Missing or invalid job.');
    return toInfo(row);
  }

  /** Counts per status, and the queued names this node does not define. */
  async stats(): Promise<JobStats> {
    const rows = await this.db.all<{ status: string; n: number }>(sql`SELECT status, COUNT(*) AS n FROM "_jobs" GROUP BY status`);
    const out: JobStats = { queued: 0, running: 0, done: 0, failed: 0, undefinedNames: [] };
    for (const r of rows) if ((STATUSES as readonly string[]).includes(r.status)) out[r.status as JobStatus] = Number(r.n);
    const names = await this.db.all<{ name: string }>(sql`SELECT DISTINCT name FROM "_jobs" WHERE status = 'queued' ORDER BY name LIMIT 100`);
    out.undefinedNames = names.map((r) => r.name).filter((n) => !this.workers.has(n));
    return out;
  }

  /** A failed job back to the queue, with its attempts reset; 404 unknown, 400 when it is not failed. */
  async retry(id: string): Promise<JobInfo> {
    const now = Date.now();
    const res = await this.db.run(
      sql`UPDATE "_jobs" SET status = 'queued', attempts = 0, "runAt" = ${now}, updated = ${now}, finished = NULL WHERE id = ${id} AND status = 'failed'`,
    );
    if (res.changes === 0) {
      const job = await this.get(id);
      throw AppError.badRequest(`Only failed jobs can be retried (this one is ${job.status}).`);
    }
    const job = await this.get(id);
    this.enqueued(job.name, now);
    return job;
  }

  /** Deletes a job of any status; a running one is aborted if it runs on this node (elsewhere its result is ignored). */
  async discard(id: string): Promise<void> {
    const res = await this.db.run(sql`DELETE FROM "_jobs" WHERE id = ${id}`);
    if (res.changes === 0) throw AppError.notFound('Missing or invalid job.');
    const local = this.running.get(id);
    if (local) {
      this.running.delete(id);
      local.controller.abort(new Error('The job was discarded.'));
    }
  }

  /**
   * Stops claiming, waits up to the grace period for running handlers, records their outcomes, and puts
   * the ones still running back in the queue (that attempt not counted) for another node or the next start.
   */
  async close(): Promise<void> {
    if (!this.started) return;
    this.stopping = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    for (const worker of this.workers.values()) if (worker.timer) clearTimeout(worker.timer);
    const pending = [...this.running.values()];
    if (pending.length) {
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled(pending.map((r) => r.done)),
        new Promise<void>((resolve) => {
          grace = setTimeout(resolve, this.shutdownGraceMs);
        }),
      ]);
      clearTimeout(grace);
    }
    while (this.finishing) await this.finishing.catch(() => undefined);
    const left = [...this.running.values()];
    this.running.clear(); // whatever these handlers do from now on is not recorded
    if (left.length) {
      for (const r of left) r.controller.abort(new ShutdownError());
      try {
        const now = Date.now();
        const match = join(
          left.map((r) => sql`(id = ${r.id} AND attempts = ${r.attempt})`),
          sql` OR `,
        );
        await this.db.run(
          sql`UPDATE "_jobs" SET status = 'queued', attempts = attempts - 1, "lockedBy" = NULL, "lockedUntil" = NULL, "runAt" = ${now}, updated = ${now} WHERE status = 'running' AND "lockedBy" = ${this.bus.nodeId} AND (${match})`,
        );
      } catch (err) {
        this.logger.error({ err }, 'jobs: could not put back unfinished jobs on shutdown (their claims will expire)');
      }
    }
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.running.clear();
    this.started = false;
  }
}

/**
 * The `_jobs` table and its indexes, through `exec` (idempotent; also used by `migrate-data`). On PostgreSQL it
 * takes an advisory lock first: `IF NOT EXISTS` is not safe against nodes creating the table at the same moment.
 */
export async function createJobsTable(exec: Executor, dialect: 'sqlite' | 'postgres'): Promise<void> {
  if (dialect === 'postgres') await exec.run(sql`SELECT pg_advisory_xact_lock(7201148902)`);
  await exec.run(sql`CREATE TABLE IF NOT EXISTS "_jobs" (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    payload TEXT NOT NULL,
    "key" TEXT,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    "maxAttempts" INTEGER NOT NULL,
    "runAt" BIGINT NOT NULL,
    "lockedBy" TEXT,
    "lockedUntil" BIGINT,
    "lastError" TEXT,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    finished BIGINT,
    traceparent TEXT
  )`);
  // Tables made before traces existed get the column (the enqueuer's trace context, docs/tracing.md).
  const hasTraceparent = await exec.get(
    dialect === 'postgres'
      ? sql`SELECT 1 AS x FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '_jobs' AND column_name = 'traceparent'`
      : sql`SELECT 1 AS x FROM pragma_table_info('_jobs') WHERE name = 'traceparent'`,
  );
  if (!hasTraceparent) await exec.run(sql`ALTER TABLE "_jobs" ADD COLUMN traceparent TEXT`);
  await exec.run(sql`CREATE UNIQUE INDEX IF NOT EXISTS "_jobs_name_key" ON "_jobs" (name, "key")`);
  // The claim's filter and order, so a claim reads only the rows it takes.
  await exec.run(sql`CREATE INDEX IF NOT EXISTS "_jobs_claim" ON "_jobs" (name, status, "runAt", created)`);
  await exec.run(sql`CREATE INDEX IF NOT EXISTS "_jobs_lease" ON "_jobs" (status, "lockedUntil")`);
  await exec.run(sql`CREATE INDEX IF NOT EXISTS "_jobs_created" ON "_jobs" (created)`);
}

/** Thrown into a job's signal when its attempt runs past `timeout`. */
export class JobTimeoutError extends Error {
  constructor(ms: number) {
    super(`The job timed out after ${ms} ms.`);
    this.name = 'JobTimeoutError';
  }
}

class ShutdownError extends Error {
  constructor() {
    super('The server is shutting down.');
    this.name = 'ShutdownError';
  }
}

function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw AppError.badRequest(`Invalid job name ${JSON.stringify(String(name).slice(0, 100))}: use 1-100 letters, digits, "_", ".", ":" or "-".`);
  }
}

function intOption(value: unknown, fallback: number, min: number, max: number, what: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw AppError.badRequest(`Invalid job option "${what}": must be an integer from ${min} to ${max}.`);
  }
  return value;
}

function runAtOf(options: EnqueueOptions, now: number): number {
  if (options.runAt !== undefined && options.delay !== undefined) throw AppError.badRequest('Give a job either "delay" or "runAt", not both.');
  if (options.delay !== undefined) {
    const d = options.delay;
    if (typeof d !== 'number' || !Number.isFinite(d) || d < 0) throw AppError.badRequest('A job "delay" must be a number of milliseconds ≥ 0.');
    return now + Math.round(d);
  }
  if (options.runAt !== undefined) {
    const r = options.runAt;
    const t = r instanceof Date ? r.getTime() : typeof r === 'string' ? Date.parse(r.includes(' ') && !r.includes('T') ? r.replace(' ', 'T') : r) : Number.NaN;
    if (!Number.isFinite(t)) throw AppError.badRequest('A job "runAt" must be a valid Date or datetime string.');
    return t;
  }
  return now;
}

/**
 * The payload as JSON text; a 400 for what JSON cannot carry faithfully: functions, symbols and BigInts
 * anywhere, cycles, non-finite numbers, and `undefined` as the whole payload.
 */
export function serialisePayload(payload: unknown): string {
  if (payload === undefined) throw AppError.badRequest('A job payload is required (use null for none): undefined is not JSON.');
  const stack: unknown[] = [];
  const check = (value: unknown, path: string): void => {
    switch (typeof value) {
      case 'function':
      case 'symbol':
        throw AppError.badRequest(`The job payload is not JSON-serialisable: ${typeof value} at ${path}.`);
      case 'bigint':
        throw AppError.badRequest(`The job payload is not JSON-serialisable: BigInt at ${path} (send it as a string).`);
      case 'number':
        if (!Number.isFinite(value)) throw AppError.badRequest(`The job payload is not JSON-serialisable: ${value} at ${path}.`);
        return;
      case 'object': {
        if (value === null) return;
        if (stack.includes(value)) throw AppError.badRequest(`The job payload is not JSON-serialisable: circular reference at ${path}.`);
        if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return; // Date and friends
        if (stack.length > 100) throw AppError.badRequest('The job payload is nested too deeply (max 100 levels).');
        stack.push(value);
        if (Array.isArray(value)) value.forEach((v, i) => check(v, `${path}[${i}]`));
        else for (const [k, v] of Object.entries(value)) check(v, `${path}.${k}`);
        stack.pop();
        return;
      }
      default:
        return;
    }
  };
  check(payload, 'payload');
  let text: string;
  try {
    text = JSON.stringify(payload);
  } catch (err) {
    throw AppError.badRequest(`The job payload is not JSON-serialisable: ${(err as Error).message}`);
  }
  if (text === undefined) throw AppError.badRequest('The job payload is not JSON-serialisable.');
  if (text.length > MAX_PAYLOAD) throw AppError.badRequest(`The job payload is too big (max ${MAX_PAYLOAD} characters of JSON).`);
  return text;
}

function errorText(err: unknown): string {
  let text: string;
  try {
    if (err instanceof Error) text = err.stack && err.stack.includes(err.message) ? err.stack : `${err.name}: ${err.message}\n${err.stack ?? ''}`;
    else if (typeof err === 'string') text = err;
    else text = JSON.stringify(err) ?? String(err);
  } catch {
    try {
      text = String(err);
    } catch {
      text = 'The job failed with a value that cannot be shown.';
    }
  }
  return text.length > MAX_ERROR ? `${text.slice(0, MAX_ERROR)}…` : text;
}

function time(ms: number | null): string {
  return ms === null || ms === undefined ? '' : formatDateTime(new Date(Number(ms)));
}

function toInfo(row: JobRow): JobInfo {
  let payload: unknown = null;
  try {
    payload = JSON.parse(row.payload);
  } catch {
    // a damaged row still lists
  }
  return {
    id: row.id,
    name: row.name,
    payload,
    key: row.key ?? '',
    status: row.status,
    attempts: Number(row.attempts),
    maxAttempts: Number(row.maxAttempts),
    runAt: time(row.runAt),
    lockedBy: row.lockedBy ?? '',
    lockedUntil: time(row.lockedUntil),
    lastError: row.lastError ?? '',
    created: time(row.created),
    updated: time(row.updated),
    finished: time(row.finished),
  };
}
