/**
 * GET/HEAD /api/health: liveness, with a little more for superusers (as PocketBase).
 * GET/HEAD /api/health/ready: readiness (Plinth's addition): the database answers a real query within a few
 * seconds and every migration file is applied; 503 `not_ready` naming what is wrong otherwise.
 * Load balancers and orchestrators: liveness probes on /api/health (restart when it stops answering),
 * readiness / target-group health checks on /api/health/ready (take out of rotation). docs/operations.md.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { App } from '../../app.js';
import { AppError, type FieldErrors } from '../../errors/index.js';
import { migrationStatus } from '../../migrations/migrations.js';
import { isSuperuser } from '../../rules/request-info.js';
import { clientIp } from '../rate-limit.js';
import { possibleProxyHeader } from '../proxy-headers.js';

/** A readiness check slower than this counts as failed (a database that answers in 3 s is not serving). */
const READY_TIMEOUT_MS = 3000;

export function registerHealthRoutes(server: FastifyInstance, app: App): void {
  const handler = async (req: FastifyRequest) => {
    const data: Record<string, unknown> = {};
    if (isSuperuser(req)) {
      const settings = app.settings.get();
      // PocketBase's fields (the dashboard warns about a proxy when possibleProxyHeader is set and
      // settings.trustedProxy.headers is empty), plus Plinth's smtpConfigured.
      data.canBackup = app.backups.canBackup();
      data.realIP = clientIp(req, settings);
      data.possibleProxyHeader = possibleProxyHeader(req, settings);
      data.smtpConfigured = app.mailer.enabled;
    }
    return { code: 200, message: 'API is healthy.', data };
  };
  server.get('/api/health', handler);
  server.get('/api/health/ready', async (req) => {
    const problems = await readinessProblems(app, isSuperuser(req));
    if (Object.keys(problems).length > 0) {
      const reasons = Object.values(problems).map((p) => (p as { message: string }).message);
      throw new AppError('not_ready', `Not ready: ${reasons.join(' ')}`, problems);
    }
    return { code: 200, message: 'API is ready.', data: { database: 'ok', migrations: 'ok' } };
  });
}

/**
 * What keeps the server from serving: `database` (unreachable, failing, too slow) and `migrations` (pending files).
 * The answer is public, so the pending files are named only to superusers (`withNames`): migration names carry
 * collection names (`…_created_payroll.js`), superuser-only ones included; everyone else gets the count.
 */
export async function readinessProblems(app: App, withNames = false): Promise<FieldErrors> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS);
  });
  try {
    // One real query on the database (the _migrations table), and the migrations folder.
    const status = await Promise.race([migrationStatus(app, app.config.migrationsDir), timeout]);
    if (status.pending.length === 0) return {};
    const shown = withNames ? ` (${status.pending.slice(0, 5).join(', ')}${status.pending.length > 5 ? ', …' : ''})` : '';
    return {
      migrations: {
        code: 'validation_migrations_pending',
        message: `${status.pending.length} migration file${status.pending.length === 1 ? ' is' : 's are'} not applied${shown}.`,
      },
    };
  } catch (err) {
    // The answer is public: it says what kind of failure, the log has the driver's message.
    const timedOut = err instanceof Error && err.message.startsWith('no answer within');
    const why = timedOut ? (err as Error).message : app.db.dialect.classifyError(err).kind === 'unavailable' ? 'unreachable' : 'a query failed';
    if (!timedOut) app.logger.warn({ err }, 'readiness check: the database query failed');
    return { database: { code: 'validation_database_unavailable', message: `The database is not answering (${why}).` } };
  } finally {
    clearTimeout(timer);
  }
}
