/**
 * Scheduled jobs (PocketBase's `app.cron()` and `/api/crons`): cron expressions (5 fields, or 6 with
 * seconds for jobs registered in code; macros such as `@hourly`), parsed and stepped by `croner`.
 *
 * Once per schedule across a cluster: when a job is due, every node tries to claim that run (job id +
 * scheduled time) with an insert into `_cronRuns` whose primary key makes exactly one insert succeed, on
 * SQLite and PostgreSQL alike; only the winner runs the job. A node that is down simply does not compete.
 * Runs started by hand (`POST /api/crons/:id`) are not claimed: the caller asked for one more run.
 */
import { Cron } from 'croner';
import type { Database } from '../db/dialect.js';
import { sql } from '../db/sql.js';
import { AppError } from '../errors/index.js';
import type { Logger } from '../util/logger.js';
import { tracer } from '../tracing/index.js';

export type JobFn = () => Promise<void> | void;

export interface CronJobInfo {
  id: string;
  expression: string;
}

interface Job extends CronJobInfo {
  fn: JobFn;
  pattern: Cron;
  timer: NodeJS.Timeout | null;
}

/** Longest single setTimeout (about 24.8 days); longer waits re-arm. */
const MAX_DELAY = 2 ** 31 - 1;
const JOB_ID = /^[\w.:-]{1,100}$/;

export class Scheduler {
  private jobs = new Map<string, Job>();
  private running = new Set<Promise<void>>();
  private started = false;

  constructor(
    private readonly db: Database,
    private readonly nodeId: string,
    private readonly logger: Logger,
  ) {}

  async init(): Promise<void> {
    await this.db.run(
      sql`CREATE TABLE IF NOT EXISTS "_cronRuns" (job TEXT NOT NULL, slot BIGINT NOT NULL, node TEXT NOT NULL, started BIGINT NOT NULL, PRIMARY KEY (job, slot))`,
    );
  }

  /** Starts the timers (jobs added before or after). */
  start(): void {
    this.started = true;
    for (const job of this.jobs.values()) this.arm(job, new Date());
  }

  /** Registers (or replaces) a job; 400 for an invalid id or expression. */
  add(id: string, expression: string, fn: JobFn): void {
    if (!JOB_ID.test(id)) throw AppError.badRequest(`Invalid cron job id "${id.slice(0, 100)}".`);
    let pattern: Cron;
    try {
      // UTC as a fixed offset: croner's `timezone` option goes through Intl, which loads ~8 MB of ICU data.
      pattern = new Cron(expression.trim(), { paused: true, utcOffset: 0 });
    } catch (err) {
      throw AppError.badRequest(`Invalid cron expression "${expression.slice(0, 100)}": ${(err as Error).message}`);
    }
    this.remove(id);
    const job: Job = { id, expression: expression.trim(), fn, pattern, timer: null };
    this.jobs.set(id, job);
    if (this.started) this.arm(job, new Date());
  }

  remove(id: string): void {
    const job = this.jobs.get(id);
    if (!job) return;
    if (job.timer) clearTimeout(job.timer);
    this.jobs.delete(id);
  }

  list(): CronJobInfo[] {
    return [...this.jobs.values()].map(({ id, expression }) => ({ id, expression })).sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Runs a job now, in the background (PocketBase's `POST /api/crons/:id`); 404 for an unknown id. */
  runNow(id: string): void {
    const job = this.jobs.get(id);
    if (!job) throw AppError.notFound('Missing or invalid cron job.');
    this.track(this.execute(job));
  }

  private arm(job: Job, after: Date): void {
    const next = job.pattern.nextRun(after);
    if (!next) return;
    const delay = next.getTime() - Date.now();
    job.timer = setTimeout(
      () => {
        if (this.jobs.get(job.id) !== job) return;
        if (Date.now() < next.getTime()) return this.arm(job, after); // a long wait re-armed early
        this.arm(job, next);
        this.track(this.fire(job, next.getTime()));
      },
      Math.max(0, Math.min(delay, MAX_DELAY)),
    );
    job.timer.unref();
  }

  /** Claims this run of the job for this node; runs it only if no other node claimed it first. */
  private async fire(job: Job, slot: number): Promise<void> {
    let claimed = false;
    try {
      const res = await this.db.run(
        sql`INSERT INTO "_cronRuns" (job, slot, node, started) VALUES (${job.id}, ${slot}, ${this.nodeId}, ${Date.now()}) ON CONFLICT DO NOTHING`,
      );
      claimed = res.changes === 1;
    } catch (err) {
      this.logger.error({ err, job: job.id }, 'cron: could not claim a run (database unavailable?)');
    }
    if (claimed) await this.execute(job);
  }

  private async execute(job: Job): Promise<void> {
    try {
      if (tracer) await tracer.span(`cron ${job.id}`, { attributes: { 'plinth.cron.id': job.id } }, () => job.fn());
      else await job.fn();
    } catch (err) {
      this.logger.error({ err, job: job.id }, 'cron job failed');
    }
  }

  private track(p: Promise<void>): void {
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }

  /** Drops claims older than a day (they only need to outlive the clock skew between nodes). */
  async prune(): Promise<void> {
    await this.db.run(sql`DELETE FROM "_cronRuns" WHERE started < ${Date.now() - 86_400_000}`);
  }

  /** Stops the timers and waits for running jobs. */
  async close(): Promise<void> {
    this.started = false;
    for (const job of this.jobs.values()) if (job.timer) clearTimeout(job.timer);
    await Promise.allSettled([...this.running]);
  }
}

export { createJobsTable, JobQueue, JobTimeoutError, serialisePayload } from './queue.js';
export type { EnqueueOptions, JobContext, JobHandler, JobInfo, JobOptions, JobsPage, JobStats, JobStatus, QueueTuning } from './queue.js';
