/** GET/PATCH /api/settings (superusers only); secrets are never returned. */
import type { FastifyInstance } from 'fastify';
import type { App } from '../../app.js';
import { bodyOf, requireSuperuser } from './helpers.js';

export function registerSettingsRoutes(server: FastifyInstance, app: App): void {
  server.get('/api/settings', async (req) => {
    requireSuperuser(req);
    return app.settings.redacted();
  });
  server.patch('/api/settings', async (req) => {
    requireSuperuser(req);
    await app.settings.update(bodyOf(req).data);
    return app.settings.redacted();
  });
}
