/**
 * Prometheus metrics (`GET /api/metrics`, http/routes/metrics.ts) and the slow-query log, per app.
 *
 * On the request path only plain counters and histograms (families.ts) are touched: `RequestMetrics` from the
 * server's onRequest/onSend hooks, the statement histogram from the database's `observer`. Everything that
 * needs a query or a system call (job-queue depth, WAL size, pool usage) is read when scraped; prom-client
 * (the text format, the default process metrics) is loaded on the first scrape. With metrics off
 * (`--metrics=false`) none of it runs: no observer, no hooks, the route answers 404.
 */
import { statSync } from 'node:fs';
import type { Database, DialectName } from '../db/dialect.js';
import type { JobQueue } from '../jobs/index.js';
import type { RealtimeService } from '../realtime/index.js';
import type { Logger } from '../util/logger.js';
import type { WebhookService } from '../webhooks/index.js';
import { countOf, HistogramFamily, type HistogramChild, type Labels, type RegistryMetric, ScrapedFamily } from './families.js';
import { RequestMetrics } from './http.js';
import { SlowQueryLog, type SlowQueryEntry } from './slow-queries.js';
import { droppedSpans } from '../tracing/index.js';

export { RequestMetrics } from './http.js';
export { HistogramFamily, ScrapedFamily, type RegistryMetric } from './families.js';
export { SlowQueryLog, type SlowQueryEntry } from './slow-queries.js';

/** Statement latency buckets (seconds): from 50 µs (a SQLite primary-key read) to 5 s. */
const DB_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** The default slow-query threshold (ms). */
export const DEFAULT_SLOW_QUERY_MS = 500;

export interface MetricsOptions {
  /** Collect metrics and serve `/api/metrics` (default false: counting costs every request, docs/operations.md). */
  enabled?: boolean;
  /** Log statements taking at least this many ms (default 500; 0 logs every statement; negative turns the log off). */
  slowQueryMs?: number;
  /**
   * Name the request (its X-Request-Id) on each slow-query line (default false). Costs every request about a
   * tenth of its CPU (an AsyncLocalStorage makes Node track every promise), so it is for a debugging session.
   */
  slowQueryRequestIds?: boolean;
}

/** What the scrape reads from the rest of the app. */
export interface MetricsSources {
  db: Database;
  jobs: JobQueue;
  webhooks: WebhookService;
  realtime: RealtimeService;
  logger: Logger;
  /** Where slow queries go besides the app logger (the request logs). */
  slowQuerySink: (entry: SlowQueryEntry) => void;
}

/** Rate-limit refusals per rule label (http/rate-limit.ts keeps them). */
export interface RefusalCounts {
  readonly refusals: ReadonlyMap<string, number>;
}

type StatementKind = 'select' | 'insert' | 'update' | 'delete' | 'with' | 'transaction' | 'other';
const KINDS: readonly StatementKind[] = ['select', 'insert', 'update', 'delete', 'with', 'transaction', 'other'];

/** The statement's kind from its first keyword, without allocating (Plinth's statements start with it). */
export function statementKind(text: string): StatementKind {
  let i = 0;
  while (i < text.length && text.charCodeAt(i) <= 32) i++;
  const a = text.charCodeAt(i) | 0x20;
  const b = text.charCodeAt(i + 1) | 0x20;
  switch (a) {
    case 0x73: // s
      return b === 0x65 ? 'select' : b === 0x61 ? 'transaction' : 'other'; // SELECT, SAVEPOINT
    case 0x69: // i
      return 'insert';
    case 0x75: // u
      return 'update';
    case 0x64: // d
      return b === 0x65 ? 'delete' : 'other'; // DELETE, DROP
    case 0x77: // w
      return 'with';
    case 0x62: // b
      return 'transaction'; // BEGIN
    case 0x63: // c
      return b === 0x6f ? 'transaction' : 'other'; // COMMIT, CREATE
    case 0x72: // r
      return b === 0x6f || b === 0x65 ? 'transaction' : 'other'; // ROLLBACK, RELEASE
    case 0x65: // e
      return text.startsWith('END', i) || text.startsWith('end', i) ? 'transaction' : 'other';
    default:
      return 'other';
  }
}

export class Metrics {
  readonly enabled: boolean;
  /** Request counters (server.ts); null when metrics are off. */
  readonly http: RequestMetrics | null;
  /** Null when the slow-query log is off. */
  readonly slowQueries: SlowQueryLog | null;
  private readonly dbDuration: HistogramFamily;
  private readonly byKind: Record<StatementKind, HistogramChild>;
  private registry: { metrics(): Promise<string>; registerMetric(m: never): void } | null = null;
  private readonly extra: RegistryMetric[] = [];

  constructor(
    private readonly sources: MetricsSources,
    options: MetricsOptions = {},
  ) {
    this.enabled = options.enabled ?? false;
    this.http = this.enabled ? new RequestMetrics() : null;
    const threshold = options.slowQueryMs ?? DEFAULT_SLOW_QUERY_MS;
    this.slowQueries = threshold >= 0 ? new SlowQueryLog(threshold, sources.logger, sources.slowQuerySink, options.slowQueryRequestIds ?? false) : null;
    const dialect: DialectName = sources.db.dialect.name;
    this.dbDuration = new HistogramFamily('plinth_db_query_duration_seconds', 'Database statement latency, by dialect and statement kind.', DB_BUCKETS);
    this.byKind = Object.fromEntries(KINDS.map((k) => [k, this.dbDuration.child({ dialect, kind: k })])) as Record<StatementKind, HistogramChild>;
    this.installObserver();
  }

  /** The database observer: the latency histogram and/or the slow-query check, whichever is on. */
  private installObserver(): void {
    const slow = this.slowQueries;
    const byKind = this.byKind;
    if (this.enabled && slow) {
      this.sources.db.observer = (text, ms) => {
        byKind[statementKind(text)].observe(ms / 1000);
        if (ms >= slow.thresholdMs) slow.check(text, ms);
      };
    } else if (this.enabled) {
      this.sources.db.observer = (text, ms) => byKind[statementKind(text)].observe(ms / 1000);
    } else if (slow) {
      this.sources.db.observer = (text, ms) => {
        if (ms >= slow.thresholdMs) slow.check(text, ms);
      };
    }
  }

  /**
   * Adds a metric another part of Plinth keeps (e.g. traces dropped by an exporter), read when scraped:
   * `app.metrics.add(new ScrapedFamily('plinth_x_total', 'What it counts.', 'counter', () => [[{}, n]]))`.
   */
  add(metric: RegistryMetric): void {
    this.extra.push(metric);
    this.registry?.registerMetric(metric as never);
  }

  /** Marks the current request for the slow-query log (server.ts onRequest). */
  enterRequest(requestId: string): void {
    this.slowQueries?.enter(requestId);
  }

  /** The Prometheus text exposition (and its content type), with what the server keeps (rate-limit refusals). */
  async render(server: RefusalCounts): Promise<{ contentType: string; text: string }> {
    const prom = await import('prom-client');
    if (!this.registry) {
      const registry = new prom.Registry();
      for (const m of [...this.families(server), ...this.extra]) registry.registerMetric(m as never);
      this.registry = registry;
    }
    const text = (await this.registry.metrics()) + (await processRegistry(prom).metrics());
    return { contentType: prom.Registry.PROMETHEUS_CONTENT_TYPE, text };
  }

  private families(server: RefusalCounts): RegistryMetric[] {
    const { db, jobs, webhooks, realtime } = this.sources;
    const http = this.http as RequestMetrics;
    const out: RegistryMetric[] = [
      countOf('plinth_http_requests_total', 'HTTP requests answered, by route pattern, method and status.', http.duration),
      http.duration,
      new ScrapedFamily('plinth_http_requests_in_flight', 'HTTP requests being handled (the scrape included).', 'gauge', () => [[{}, http.inFlight]]),
      this.dbDuration,
      new ScrapedFamily('plinth_rate_limit_refusals_total', 'Requests refused with 429 by a rate-limit rule, by rule label.', 'counter', () =>
        [...server.refusals].map(([rule, n]): [Labels, number] => [{ rule }, n]),
      ),
      new ScrapedFamily(
        'plinth_tracing_dropped_spans_total',
        'Trace spans dropped (collector down or slow, queue full); 0 with tracing off.',
        'counter',
        () => [[{}, droppedSpans()]],
      ),
      new ScrapedFamily('plinth_realtime_clients', 'Open realtime (SSE) connections.', 'gauge', () => [[{}, realtime.stats().clients]]),
      new ScrapedFamily('plinth_realtime_subscriptions', 'Realtime subscriptions of the open connections.', 'gauge', () => [
        [{}, realtime.stats().subscriptions],
      ]),
      new ScrapedFamily('plinth_realtime_events_sent_total', 'Realtime messages handed to client streams.', 'counter', () => [[{}, realtime.counters.sent]]),
      new ScrapedFamily('plinth_realtime_slow_clients_dropped_total', 'Realtime connections dropped for reading too slowly.', 'counter', () => [
        [{}, realtime.counters.droppedSlow],
      ]),
      new ScrapedFamily('plinth_jobs', 'Jobs in the queue (all nodes), by status.', 'gauge', async () => {
        const s = await jobs.stats();
        return (['queued', 'running', 'done', 'failed'] as const).map((status): [Labels, number] => [{ status }, s[status]]);
      }),
      new ScrapedFamily(
        'plinth_job_failures_total',
        'Failed job attempts on this node, by job name and whether the job will be retried or has failed for good.',
        'counter',
        () => {
          const rows: Array<[Labels, number]> = [];
          for (const [job, c] of jobs.failureCounts) {
            rows.push([{ job, outcome: 'retry' }, c.retry]);
            rows.push([{ job, outcome: 'failed' }, c.failed]);
          }
          return rows;
        },
      ),
      new ScrapedFamily('plinth_webhook_deliveries_total', 'Webhook delivery attempts on this node, by outcome.', 'counter', () =>
        Object.entries(webhooks.deliveryCounts).map(([outcome, n]): [Labels, number] => [{ outcome }, n]),
      ),
      new ScrapedFamily('plinth_slow_queries_total', 'Statements at or above the slow-query threshold.', 'counter', () => [[{}, this.slowQueries?.count ?? 0]]),
    ];
    const usage = db.usage();
    if (usage.pool) {
      out.push(
        new ScrapedFamily('plinth_db_pool_connections', 'PostgreSQL pool connections, by state.', 'gauge', () => {
          const p = db.usage().pool ?? { total: 0, idle: 0, waiting: 0 };
          return [
            [{ state: 'total' }, p.total],
            [{ state: 'idle' }, p.idle],
            [{ state: 'busy' }, p.total - p.idle],
          ];
        }),
        new ScrapedFamily('plinth_db_pool_waiting', 'Requests waiting for a PostgreSQL pool connection.', 'gauge', () => [[{}, db.usage().pool?.waiting ?? 0]]),
      );
    }
    if (usage.writeQueue !== undefined) {
      out.push(
        new ScrapedFamily('plinth_db_write_queue_depth', 'SQLite write transactions queued or running on the one writer connection.', 'gauge', () => [
          [{}, db.usage().writeQueue ?? 0],
        ]),
      );
      const file = (db as { filename?: unknown }).filename;
      if (typeof file === 'string' && file !== ':memory:') {
        out.push(
          new ScrapedFamily('plinth_sqlite_wal_bytes', 'Size of the SQLite write-ahead log (data.db-wal).', 'gauge', () => [[{}, fileSize(`${file}-wal`)]]),
        );
      }
    }
    return out;
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0; // no WAL right after a checkpoint on close, or never written yet
  }
}

/**
 * prom-client's default metrics (process_*, nodejs_*): process-wide by nature, so one registry per process,
 * made on the first scrape (its event-loop and GC observers start then), whatever app is scraped.
 */
let processMetrics: { metrics(): Promise<string> } | null = null;
function processRegistry(prom: typeof import('prom-client')): { metrics(): Promise<string> } {
  if (!processMetrics) {
    const registry = new prom.Registry();
    prom.collectDefaultMetrics({ register: registry });
    processMetrics = registry;
  }
  return processMetrics;
}
