/** GET/PATCH /api/settings and POST /api/settings/test/s3 (superusers only); secrets are never returned. */
import type { FastifyInstance } from 'fastify';
import type { App } from '../../app.js';
import { AppError, fieldError } from '../../errors/index.js';
import { refuseSelfLockout } from '../superuser-ips.js';
import type { SettingsUpdateRequestEvent } from '../../hooks/index.js';
import { bodyOf, requestInfo, requireSuperuser, runHooked } from './helpers.js';
import { registerAppleSecretRoute } from './settings-apple.js';
import { registerTestEmailRoute } from './settings-test-email.js';

export function registerSettingsRoutes(server: FastifyInstance, app: App): void {
  server.get('/api/settings', async (req, reply) => {
    requireSuperuser(req);
    const hook = app.hooks.onSettingsListRequest;
    if (hook.length === 0) return app.settings.redacted();
    return runHooked(app, reply, hook, { tags: [], request: requestInfo(req) }, async () => ({ status: 200, body: app.settings.redacted() }));
  });
  server.patch('/api/settings', async (req, reply) => {
    requireSuperuser(req);
    const update = async (patch: Record<string, unknown>) => {
      refuseSelfLockout(req, app.settings.get(), patch);
      await app.settings.update(patch);
      return app.settings.redacted();
    };
    const hook = app.hooks.onSettingsUpdateRequest;
    if (hook.length === 0) return update(bodyOf(req).data);
    const e: SettingsUpdateRequestEvent = { tags: [], request: requestInfo(req), patch: bodyOf(req).data };
    return runHooked(app, reply, hook, e, async (ev) => ({ status: 200, body: await update(ev.patch) }));
  });
  // Writes and deletes a small object with the stored S3 settings: 204, or 400 with the service's reason.
  server.post('/api/settings/test/s3', async (req, reply) => {
    requireSuperuser(req);
    const filesystem = bodyOf(req).data.filesystem;
    if (filesystem !== 'storage' && filesystem !== 'backups') {
      throw AppError.validation('Failed to test the S3 filesystem.', {
        filesystem: fieldError('validation_in_invalid', 'Must be a valid value.'),
      });
    }
    const settings = app.settings.get();
    const config = filesystem === 'storage' ? settings.s3 : settings.backups.s3;
    try {
      await app.files.testS3(config);
    } catch (err) {
      throw AppError.badRequest(`Failed to upload a test file. Raw error: ${(err as Error).message.slice(0, 500)}`);
    }
    return reply.code(204).send();
  });
  registerTestEmailRoute(server, app);
  registerAppleSecretRoute(server, app);
}
