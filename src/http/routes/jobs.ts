/**
 * The job queue's API (superusers only; see docs/jobs.md):
 *
 *   GET    /api/jobs              list envelope; filter/sort on id, name, key, status, attempts, maxAttempts,
 *                                lastError, lockedBy, runAt, created, updated, finished (times in ms)
 *   GET    /api/jobs/stats        {queued, running, done, failed, undefinedNames}
 *   GET    /api/jobs/:id          one job
 *   POST   /api/jobs/:id/retry    a failed job back to the queue, attempts reset
 *   DELETE /api/jobs/:id          discard (any status)
 */
import type { FastifyInstance } from 'fastify';
import type { App } from '../../app.js';
import { parseListParams } from '../../records/query.js';
import { param, query, requestInfo, requireSuperuser } from './helpers.js';

export function registerJobRoutes(server: FastifyInstance, app: App): void {
  server.get('/api/jobs', async (req) => {
    requireSuperuser(req);
    return app.jobs.list(parseListParams(query(req)), requestInfo(req));
  });
  server.get('/api/jobs/stats', async (req) => {
    requireSuperuser(req);
    return app.jobs.stats();
  });
  server.get('/api/jobs/:id', async (req) => {
    requireSuperuser(req);
    return app.jobs.get(param(req, 'id'));
  });
  server.post('/api/jobs/:id/retry', async (req) => {
    requireSuperuser(req);
    return app.jobs.retry(param(req, 'id'));
  });
  server.delete('/api/jobs/:id', async (req, reply) => {
    requireSuperuser(req);
    await app.jobs.discard(param(req, 'id'));
    return reply.code(204).send();
  });
}
