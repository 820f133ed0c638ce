/**
 * Request (and app) logs, PocketBase-style, in a database of their own (`<dataDir>/auxiliary.db`, its own
 * connections), so logging never competes with the data for the writer.
 *
 * - `add()` only pushes onto an in-memory buffer (bounded: past MAX_BUFFER entries new ones are dropped
 *   and counted); a timer flushes the buffer in one transaction every second, off the request path.
 * - Retention: `settings.logs.maxDays` (0 disables logging); entries older than that are deleted at open
 *   and then hourly. `settings.logs.minLevel` drops entries below that level.
 * - Reads (`list`, `stats`, `get`) flush first and speak the PocketBase filter language over
 *   `id`, `created`, `level`, `message` and `data.*`.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { SchemaLookup } from '../collections/model.js';
import { tableAsCollection } from '../collections/system-collections.js';
import type { Database } from '../db/dialect.js';
import { openSqlite, sqliteDialect } from '../db/index.js';
import { ident, join, sql, type Sql } from '../db/sql.js';
import { AppError } from '../errors/index.js';
import type { ListParams } from '../records/query.js';
import { compileFilter, compileSort, type RequestInfo } from '../rules/index.js';
import { formatDateTime } from '../util/datetime.js';

export interface LogEntry {
  id: string;
  created: string;
  level: number;
  message: string;
  data: Record<string, unknown>;
}

export interface LogSettings {
  maxDays: number;
  minLevel: number;
}

export interface LogStoreOptions {
  flushIntervalMs?: number;
  cleanupIntervalMs?: number;
}

export interface LogsPage {
  items: LogEntry[];
  page: number;
  perPage: number;
  totalItems: number;
  totalPages: number;
}

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
let pool = Buffer.alloc(0);
let poolAt = 0;
/** A 15-character `[a-z0-9]` id from a pooled CSPRNG buffer (one randomBytes call per ~200 ids). */
function logId(): string {
  let id = '';
  while (id.length < 15) {
    if (poolAt >= pool.length) {
      pool = randomBytes(4096);
      poolAt = 0;
    }
    const b = pool[poolAt++]!;
    if (b < 252) id += ID_ALPHABET[b % 36];
  }
  return id;
}

/** slog levels, as PocketBase stores them. */
export const LOG_LEVEL = { debug: -4, info: 0, warn: 4, error: 8 } as const;

const MAX_BUFFER = 10_000;
/**
 * Successful (info-level) requests logged one by one in any second; past that they are only counted, in
 * one summary entry per second (`data: {type: 'sampled', count}`), which `stats()` adds back. At tens of
 * thousands of requests a second, writing every row would cost the API a double-digit share of its
 * throughput; errors and warnings are always logged individually.
 */
export const SUCCESS_LOGS_PER_SECOND = 50;
/** Rows per INSERT statement (5 parameters each, far below SQLite's limit). */
const INSERT_CHUNK = 200;
const DAY_MS = 86_400_000;

interface LogRow {
  id: string;
  created: string;
  level: number;
  message: string;
  data: string;
}

function rowToEntry(row: LogRow): LogEntry {
  let data: Record<string, unknown> = {};
  try {
    data = JSON.parse(row.data) as Record<string, unknown>;
  } catch {
    // a damaged row still lists
  }
  return { id: row.id, created: row.created, level: Number(row.level), message: row.message, data };
}

export class LogStore {
  private db: Database | null = null;
  private schemaReady: Promise<void> | null = null;
  private buffer: LogEntry[] = [];
  private flushing: Promise<void> | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private cleanupTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly collection = tableAsCollection('_logs', [
    ['id', 'text'],
    ['created', 'text'],
    ['level', 'number'],
    ['message', 'text'],
    ['data', 'json'],
  ]);
  private readonly schema: SchemaLookup;
  private sampleSecond = 0;
  private sampleKept = 0;
  private sampleSkipped = 0;

  /** Entries dropped because the buffer was full (the database could not keep up). */
  dropped = 0;

  constructor(
    readonly filename: string,
    private readonly settings: () => LogSettings,
    private readonly options: LogStoreOptions = {},
  ) {
    const c = this.collection;
    this.schema = { find: (n) => (n === c.id || n === c.name ? c : undefined), all: () => [c] };
  }

  /** Whether entries at `level` would be kept (cheap; callers may skip building the entry otherwise). */
  accepts(level: number): boolean {
    const s = this.settings();
    return !this.closed && s.maxDays > 0 && level >= s.minLevel;
  }

  /**
   * Whether to log this request individually (always for warnings and errors); when not, it is counted
   * into the current second's summary entry. Call before building the entry, so skipped ones cost nothing.
   */
  admitRequest(level: number, nowMs = Date.now()): boolean {
    if (level > LOG_LEVEL.info) return true;
    const second = Math.floor(nowMs / 1000);
    if (second !== this.sampleSecond) {
      this.writeSampleSummary();
      this.sampleSecond = second;
      this.sampleKept = 0;
    }
    if (this.sampleKept < SUCCESS_LOGS_PER_SECOND) {
      this.sampleKept++;
      return true;
    }
    this.sampleSkipped++;
    return false;
  }

  private writeSampleSummary(): void {
    if (this.sampleSkipped === 0) return;
    const count = this.sampleSkipped;
    this.sampleSkipped = 0;
    this.add(
      LOG_LEVEL.info,
      `${count} more successful requests (counted, not logged one by one)`,
      { type: 'sampled', count },
      new Date(this.sampleSecond * 1000 + 999),
    );
  }

  /** Queues an entry; never blocks, never throws. */
  add(level: number, message: string, data: Record<string, unknown>, now = new Date()): void {
    if (!this.accepts(level)) return;
    if (this.buffer.length >= MAX_BUFFER) {
      this.dropped++;
      return;
    }
    this.buffer.push({ id: logId(), created: formatDateTime(now), level, message, data });
    this.startTimers();
  }

  /** Writes the buffered entries (one transaction). Safe to call at any time. */
  async flush(): Promise<void> {
    if (Math.floor(Date.now() / 1000) !== this.sampleSecond) this.writeSampleSummary();
    while (this.flushing) await this.flushing;
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    this.flushing = (async () => {
      const db = await this.open();
      await db.transaction(async (tx) => {
        // Multi-row INSERTs, and a yield to the event loop between chunks, so a big batch never holds
        // the process for long.
        for (let i = 0; i < batch.length; i += INSERT_CHUNK) {
          if (i > 0) await new Promise((r) => setImmediate(r));
          const rows = batch.slice(i, i + INSERT_CHUNK).map((e) => sql`(${e.id}, ${e.level}, ${e.message}, ${JSON.stringify(e.data)}, ${e.created})`);
          await tx.run(sql`INSERT INTO _logs (id, level, message, data, created) VALUES ${join(rows)}`);
        }
      });
    })();
    try {
      await this.flushing;
    } finally {
      this.flushing = null;
    }
  }

  async list(params: ListParams, request: RequestInfo): Promise<LogsPage> {
    const db = await this.ready();
    const opts = this.compileOptions(request);
    const where: Sql = params.filter.trim() ? sql` WHERE ${compileFilter(params.filter, opts)}` : sql``;
    const order: Sql = params.sort.trim()
      ? sql` ORDER BY ${compileSort(params.sort, opts)}`
      : sql` ORDER BY ${ident('_r', 'created')} DESC, ${ident('_r', 'id')} DESC`;
    const from = sql`FROM _logs AS ${ident('_r')}${where}`;
    const rows = await db.all<LogRow>(sql`SELECT ${ident('_r')}.* ${from}${order} LIMIT ${params.perPage} OFFSET ${(params.page - 1) * params.perPage}`);
    let totalItems = -1;
    let totalPages = -1;
    if (!params.skipTotal) {
      const count = await db.get<{ n: number }>(sql`SELECT COUNT(*) AS n ${from}`);
      totalItems = Number(count?.n ?? 0);
      totalPages = Math.ceil(totalItems / params.perPage);
    }
    return { items: rows.map(rowToEntry), page: params.page, perPage: params.perPage, totalItems, totalPages };
  }

  /** Requests per hour: `[{date: 'YYYY-MM-DD HH:00:00.000Z', total}]`, oldest first. */
  async stats(filter: string, request: RequestInfo): Promise<Array<{ date: string; total: number }>> {
    const db = await this.ready();
    const where: Sql = filter.trim() ? sql` WHERE ${compileFilter(filter, this.compileOptions(request))}` : sql``;
    const rows = await db.all<{ date: string; total: number }>(
      sql`SELECT strftime('%Y-%m-%d %H:00:00', ${ident('_r', 'created')}) AS date, SUM(CASE WHEN json_extract(${ident('_r', 'data')}, '$.type') = 'sampled' THEN CAST(json_extract(${ident('_r', 'data')}, '$.count') AS INTEGER) ELSE 1 END) AS total FROM _logs AS ${ident('_r')}${where} GROUP BY date ORDER BY date`,
    );
    return rows.map((r) => ({ date: `${r.date}.000Z`, total: Number(r.total) }));
  }

  async get(id: string): Promise<LogEntry> {
    const db = await this.ready();
    const row = await db.get<LogRow>(sql`SELECT * FROM _logs WHERE id = ${id}`);
    if (!row) throw AppError.notFound();
    return rowToEntry(row);
  }

  async truncate(): Promise<void> {
    this.buffer = [];
    const db = await this.ready();
    await db.run(sql`DELETE FROM _logs`);
  }

  /** Deletes entries older than `settings.logs.maxDays` (all of them when logging is off). */
  async cleanup(now = new Date()): Promise<number> {
    if (!this.db && !existsSync(this.filename)) return 0;
    const maxDays = this.settings().maxDays;
    const cutoff = formatDateTime(new Date(now.getTime() - Math.max(0, maxDays) * DAY_MS));
    const res = await (await this.open()).run(sql`DELETE FROM _logs WHERE created < ${cutoff}`);
    return res.changes;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.flushTimer) clearInterval(this.flushTimer);
    if (this.cleanupTimer) clearInterval(this.cleanupTimer);
    try {
      await this.flush();
    } catch {
      // losing the last second of logs is better than failing shutdown
    }
    this.closed = true;
    await this.db?.close();
    this.db = null;
  }

  private compileOptions(request: RequestInfo) {
    return { collection: this.collection, schema: this.schema, dialect: sqliteDialect, rootAlias: '_r', request, mode: 'client' as const };
  }

  private async ready(): Promise<Database> {
    await this.flush();
    return this.open();
  }

  private startTimers(): void {
    if (this.flushTimer || this.closed) return;
    this.flushTimer = setInterval(() => {
      this.flush().catch(() => {
        // the auxiliary database is unavailable: drop this batch rather than grow without bound
      });
    }, this.options.flushIntervalMs ?? 1000);
    this.flushTimer.unref();
    this.cleanupTimer = setInterval(() => void this.cleanup().catch(() => undefined), this.options.cleanupIntervalMs ?? 3_600_000);
    this.cleanupTimer.unref();
    void this.cleanup().catch(() => undefined);
  }

  private async open(): Promise<Database> {
    if (this.closed) throw new AppError('unavailable', 'The logs database is closed.');
    if (this.db && this.schemaReady) {
      await this.schemaReady;
      return this.db;
    }
    const db = openSqlite({ filename: this.filename });
    this.db = db;
    this.schemaReady = db.transaction(async (tx) => {
      await tx.run(sql`CREATE TABLE IF NOT EXISTS _logs (
        id TEXT PRIMARY KEY NOT NULL,
        level INTEGER NOT NULL DEFAULT 0,
        message TEXT NOT NULL DEFAULT '',
        data JSON NOT NULL DEFAULT '{}',
        created TEXT NOT NULL DEFAULT ''
      )`);
      await tx.run(sql`CREATE INDEX IF NOT EXISTS idx_logs_level ON _logs (level)`);
      await tx.run(sql`CREATE INDEX IF NOT EXISTS idx_logs_created ON _logs (created)`);
      await tx.run(sql`CREATE INDEX IF NOT EXISTS idx_logs_created_hour ON _logs (strftime('%Y-%m-%d %H:00:00', created))`);
      // Logs are written, rarely read: a 2 MB page cache instead of the data's 32 MB keeps RSS flat.
      await tx.run(sql`PRAGMA cache_size = -2000`);
    });
    await this.schemaReady;
    return db;
  }
}
