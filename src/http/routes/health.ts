/** GET/HEAD /api/health: liveness, with a little more for superusers (as PocketBase). */
import type { FastifyInstance } from 'fastify';
import type { App } from '../../app.js';
import { isSuperuser } from '../../rules/request-info.js';

export function registerHealthRoutes(server: FastifyInstance, app: App): void {
  const handler = async (req: import('fastify').FastifyRequest) => {
    const data: Record<string, unknown> = {};
    if (isSuperuser(req)) {
      data.canBackup = app.backups.canBackup();
      data.realIP = req.ip;
      data.possibleProxyHeader = ['x-forwarded-for', 'x-real-ip', 'cf-connecting-ip', 'fly-client-ip'].find((h) => req.headers[h]) ?? '';
    }
    return { code: 200, message: 'API is healthy.', data };
  };
  server.get('/api/health', handler);
}
