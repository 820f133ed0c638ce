/**
 * GET /api/plinth/migrations (superusers): the migrations folder this instance uses, the migrations
 * applied on its database and the files not applied yet. The dashboard shows it, so a folder shared
 * with another instance (whose collections would then be applied here) is visible.
 */
import type { FastifyInstance } from 'fastify';
import type { App } from '../../app.js';
import { migrationStatus } from '../../migrations/migrations.js';
import { requireSuperuser } from './helpers.js';

export function registerMigrationRoutes(server: FastifyInstance, app: App): void {
  server.get('/api/plinth/migrations', async (req) => {
    requireSuperuser(req);
    return migrationStatus(app, app.config.migrationsDir);
  });
}
