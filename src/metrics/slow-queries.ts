/**
 * The slow-query log: a statement that took at least `thresholdMs` is logged (app logger, level warn, and the
 * request logs under `data.type = "slowQuery"`) with its SQL text (placeholders only: values are never in
 * Plinth's statement text), its duration and the id of the request that ran it.
 *
 * The request id reaches the database layer through an AsyncLocalStorage entered by the server's onRequest
 * hook (`enterWith`, so the body-parsing callbacks of the same request see it too). It exists only while the
 * slow-query log is on: an AsyncLocalStorage makes Node track every promise.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from '../util/logger.js';

/** Statements longer than this are cut in the log line. */
const MAX_SQL_CHARS = 2000;

export interface SlowQueryEntry {
  sql: string;
  ms: number;
  requestId: string;
}

export class SlowQueryLog {
  /** Statements logged so far (a metric). */
  count = 0;
  /** Null unless request ids were asked for (`slowQueryRequestIds`): an AsyncLocalStorage costs every request. */
  private readonly context: AsyncLocalStorage<string> | null;

  constructor(
    /** Statements taking at least this long (ms) are logged; 0 logs every statement. */
    public thresholdMs: number,
    private readonly logger: Logger,
    private readonly sink: (entry: SlowQueryEntry) => void,
    trackRequests = false,
  ) {
    this.context = trackRequests ? new AsyncLocalStorage<string>() : null;
  }

  /** Whether slow-query lines name their request (server.ts then calls `enter` per request). */
  get tracksRequests(): boolean {
    return this.context !== null;
  }

  /** Marks the running request (and everything it starts) with its id. */
  enter(requestId: string): void {
    this.context?.enterWith(requestId);
  }

  /** The id of the request whose work is running now, or '' (always '' without `slowQueryRequestIds`). */
  currentRequestId(): string {
    return this.context?.getStore() ?? '';
  }

  /** Called for every statement (db/dialect.ts `StatementObserver`). */
  check(text: string, ms: number): void {
    if (ms < this.thresholdMs) return;
    this.count++;
    const entry: SlowQueryEntry = {
      sql: text.length > MAX_SQL_CHARS ? `${text.slice(0, MAX_SQL_CHARS)}…` : text,
      ms: Math.round(ms * 1000) / 1000,
      requestId: this.currentRequestId(),
    };
    try {
      this.logger.warn(entry, 'slow query');
      this.sink(entry);
    } catch {
      // logging must never fail a statement
    }
  }
}
