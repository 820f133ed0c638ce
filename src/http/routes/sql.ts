/**
 * PocketBase v0.39's SQL console, `POST /api/sql` `{query}` → `{execTime, affectedRows, columns, rows}`.
 * Superusers only (401 guest, 403 others). PocketBase's limits: the query at most 5000 characters, at
 * most 1000 rows. Plinth's differences (docs/sql-console.md): read-only unless the server is started with
 * writes allowed (`--sqlWrite`, `ServerOptions.sqlConsole.write`), and a time limit (default 10 s) instead
 * of PocketBase's 3 minutes. Any database error is a 400 carrying the database's message, as PocketBase
 * answers it. Every query is written to the app log (the `_logs` table) and the process log.
 */
import type { FastifyInstance } from 'fastify';
import type { App } from '../../app.js';
import { ConsoleTimeout } from '../../db/console.js';
import { AppError, fieldError } from '../../errors/index.js';
import { bodyOf, requireSuperuser } from './helpers.js';

export interface SqlConsoleOptions {
  /** Let possible writes (INSERT, CREATE, UPDATE, DELETE, DROP, DETACH …) run. Default false: read-only. */
  write?: boolean;
  /** Time limit per request in ms (default 10 000). */
  timeoutMs?: number;
  /** Row cap (default 1000, PocketBase's). */
  maxRows?: number;
}

export const SQL_MAX_QUERY_LENGTH = 5000;
export const SQL_DEFAULT_TIMEOUT_MS = 10_000;
export const SQL_MAX_ROWS = 1000;

export function registerSqlRoutes(server: FastifyInstance, app: App, options: SqlConsoleOptions = {}): void {
  const write = options.write === true;
  const timeoutMs = options.timeoutMs ?? SQL_DEFAULT_TIMEOUT_MS;
  const maxRows = options.maxRows ?? SQL_MAX_ROWS;

  server.post('/api/sql', async (req) => {
    requireSuperuser(req);
    const raw = bodyOf(req).data.query;
    const query = raw === undefined || raw === null ? '' : typeof raw === 'string' ? raw : null;
    if (query === null) throw AppError.badRequest('An error occurred while loading the submitted data.'); // PocketBase: the body does not bind
    if (query === '') {
      throw AppError.validation('An error occurred while validating the submitted data.', { query: fieldError('validation_required', 'Cannot be blank') });
    }
    if ([...query].length > SQL_MAX_QUERY_LENGTH) {
      throw AppError.validation('An error occurred while validating the submitted data.', {
        query: fieldError('validation_length_too_long', `The length must be no more than ${SQL_MAX_QUERY_LENGTH}`, { max: SQL_MAX_QUERY_LENGTH, min: 0 }),
      });
    }
    const authId = String(req.auth?.record.id ?? '');
    const logData: Record<string, unknown> = { type: 'sqlConsole', query: query.length > 2000 ? `${query.slice(0, 2000)}…` : query, authId, write };
    try {
      const result = await app.db.runConsole(query, { write, timeoutMs, maxRows });
      app.logs.add(0, 'SQL console query', { ...logData, execTime: result.execTime, affectedRows: result.affectedRows, rows: result.rows.length });
      app.logger.info({ authId, execTime: result.execTime, affectedRows: result.affectedRows }, 'SQL console query');
      return result;
    } catch (err) {
      if (err instanceof AppError) throw err;
      // PostgreSQL unreachable: a 503 like any other request. (On SQLite "unavailable" means a read-only
      // file or connection, which here is the console refusing a write: the query's fault, a 400.)
      if (!(err instanceof ConsoleTimeout) && app.db.dialect.name === 'postgres' && app.db.dialect.classifyError(err).kind === 'unavailable') throw err;
      const message = err instanceof Error ? err.message : String(err);
      app.logs.add(4, 'SQL console query failed', { ...logData, error: message });
      app.logger.warn({ authId, error: message }, 'SQL console query failed');
      throw AppError.badRequest(`Failed to execute query. Raw error:\n${message}`);
    }
  });
}
