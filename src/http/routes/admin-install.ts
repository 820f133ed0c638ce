/**
 * First run: creating the first superuser from the browser, PocketBase-style.
 *
 * `plinth serve` on a database without superusers asks `server.installer.issue()` for a token and prints
 * `<address>/_/#/pbinstall/<token>` (the token sits in the URL fragment, which browsers never send, so
 * it reaches no log). The token is 40 random characters, lives only in this process's memory, expires
 * after 30 minutes, is used once, and is refused as soon as any superuser exists.
 *
 *   POST /api/install/validate {token}                                → 204, or 400 for a bad link
 *   POST /api/install {token, email, password, passwordConfirm}       → 204 and the superuser exists
 *   GET  /api/install                                                  → {needed}: no superuser exists yet
 *        (the login page then says where the link is printed and how to create one from the CLI)
 *
 * The UI then logs in with the normal `auth-with-password` endpoint.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { App } from '../../app.js';
import { SUPERUSERS_COLLECTION_ID } from '../../collections/model.js';
import { ident, sql } from '../../db/sql.js';
import { AppError } from '../../errors/index.js';
import { systemRequest } from '../../records/system-request.js';
import { randomString } from '../../util/random.js';
import { bodyOf } from './helpers.js';

declare module 'fastify' {
  interface FastifyInstance {
    installer: Installer;
  }
}

export const INSTALL_TOKEN_TTL_MS = 30 * 60 * 1000;
const INVALID = 'The install link is invalid or has expired. Restart "plinth serve" for a new one, or use "plinth superuser upsert".';

export class Installer {
  private token: string | null = null;
  private expires = 0;
  private busy = false;

  constructor(private readonly app: App) {}

  /** Whether no superuser exists yet. */
  async needed(): Promise<boolean> {
    const collection = this.app.collections.require(SUPERUSERS_COLLECTION_ID);
    const row = await this.app.db.get<{ n: number }>(sql`SELECT COUNT(*) AS n FROM ${ident(collection.name)}`);
    return !row?.n;
  }

  /** A fresh install token (replacing any earlier one), or null when a superuser already exists. */
  async issue(now = Date.now()): Promise<string | null> {
    if (!(await this.needed())) return null;
    this.token = randomString(40);
    this.expires = now + INSTALL_TOKEN_TTL_MS;
    return this.token;
  }

  /** True when `token` is the current, unexpired one (constant-time comparison). */
  matches(token: unknown, now = Date.now()): boolean {
    if (typeof token !== 'string' || !this.token || now > this.expires) return false;
    const a = Buffer.from(token);
    const b = Buffer.from(this.token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  async validate(token: unknown): Promise<void> {
    if (!this.matches(token) || !(await this.needed())) throw AppError.badRequest(INVALID);
  }

  /** Creates the first superuser; the token is spent only when that succeeds. */
  async install(body: Record<string, unknown>): Promise<void> {
    if (this.busy) throw AppError.badRequest('Another install request is in progress.');
    this.busy = true;
    try {
      await this.validate(body.token);
      const collection = this.app.collections.require(SUPERUSERS_COLLECTION_ID);
      await this.app.writer.create(
        collection,
        { data: { email: body.email, password: body.password, passwordConfirm: body.passwordConfirm, verified: true } },
        systemRequest(this.app.collections),
      );
      this.token = null;
      this.expires = 0;
    } finally {
      this.busy = false;
    }
  }
}

export function registerInstallRoutes(server: FastifyInstance, app: App): void {
  const installer = new Installer(app);
  server.decorate('installer', installer);
  server.get('/api/install', async () => ({ needed: await installer.needed() }));
  server.post('/api/install/validate', async (req, reply) => {
    await installer.validate(bodyOf(req).data.token);
    return reply.code(204).send();
  });
  server.post('/api/install', async (req, reply) => {
    await installer.install(bodyOf(req).data);
    return reply.code(204).send();
  });
}
