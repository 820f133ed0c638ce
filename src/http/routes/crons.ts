/** PocketBase's cron API: list the scheduled jobs, and run one now. Superusers only. */
import type { FastifyInstance } from 'fastify';
import type { App } from '../../app.js';
import { requireSuperuser } from './helpers.js';

export function registerCronRoutes(server: FastifyInstance, app: App): void {
  server.get('/api/crons', async (req) => {
    requireSuperuser(req);
    return app.cron.list();
  });

  server.post<{ Params: { id: string } }>('/api/crons/:id', async (req, reply) => {
    requireSuperuser(req);
    app.cron.runNow(req.params.id);
    return reply.code(204).send();
  });
}
