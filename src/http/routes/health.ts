/** GET/HEAD /api/health: liveness, with a little more for superusers (as PocketBase). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { App } from '../../app.js';
import { isSuperuser } from '../../rules/request-info.js';
import { clientIp } from '../rate-limit.js';
import { possibleProxyHeader } from '../proxy-headers.js';

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
}
