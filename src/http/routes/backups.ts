/**
 * PocketBase's backups API: `GET/POST /api/backups`, `POST /api/backups/upload`, `GET /api/backups/{key}`
 * (download with a superuser file token in `?token=`), `DELETE /api/backups/{key}` and
 * `POST /api/backups/{key}/restore`. All but the download need a superuser; the download checks its token.
 */
import type { FastifyInstance } from 'fastify';
import type { App } from '../../app.js';
import { SUPERUSERS_COLLECTION_ID } from '../../collections/model.js';
import { AppError } from '../../errors/index.js';
import { bodyOf, param, query, requireSuperuser } from './helpers.js';
import { resolveFileToken } from './files.js';

/** Largest backup accepted by `POST /api/backups/upload` (the body is buffered). */
export const BACKUP_UPLOAD_LIMIT = 512 * 1024 * 1024;

export function registerBackupRoutes(server: FastifyInstance, app: App): void {
  server.get('/api/backups', async (req) => {
    requireSuperuser(req);
    return app.backups.list();
  });

  server.post('/api/backups', async (req, reply) => {
    requireSuperuser(req);
    if (!app.backups.canBackup()) throw AppError.badRequest('Try again later - another backup/restore process has already been started.');
    const name = await app.backups.checkNewName(bodyOf(req).data.name);
    await app.backups.create(name);
    return reply.code(204).send();
  });

  server.post('/api/backups/upload', { bodyLimit: BACKUP_UPLOAD_LIMIT }, async (req, reply) => {
    requireSuperuser(req);
    const file = bodyOf(req).files.find((f) => f.field === 'file');
    if (!file) {
      throw AppError.validation('An error occurred while validating the submitted data.', {
        file: { code: 'validation_required', message: 'Missing required value.' },
      });
    }
    await app.backups.upload(file.filename, file.data);
    return reply.code(204).send();
  });

  server.get('/api/backups/:key', async (req, reply) => {
    const token = query(req).token ?? '';
    const auth = token ? await resolveFileToken(app, req, token) : null;
    if (!auth || auth.collection.id !== SUPERUSERS_COLLECTION_ID) throw AppError.forbidden('Insufficient permissions to access the resource.');
    const key = param(req, 'key');
    const { stream, size } = await app.backups.read(key);
    return reply
      .header('content-type', 'application/zip')
      .header('content-length', String(size))
      .header('content-disposition', `attachment; filename="${key}"`)
      .header('cache-control', 'no-store')
      .send(stream);
  });

  server.delete('/api/backups/:key', async (req, reply) => {
    requireSuperuser(req);
    await app.backups.delete(param(req, 'key'));
    return reply.code(204).send();
  });

  server.post('/api/backups/:key/restore', async (req, reply) => {
    requireSuperuser(req);
    await app.backups.restore(param(req, 'key'));
    return reply.code(204).send();
  });
}
