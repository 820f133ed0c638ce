/**
 * Starts a real Plinth (App + HTTP server on an ephemeral loopback port, SQLite in a temp dir) for a
 * test, with a superuser (on PostgreSQL instead when PLINTH_TEST_DB=postgres), and hands back the URL, the app and a logged-in `pocketbase` SDK client.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import PocketBase from 'pocketbase';
import { App, type AppConfig } from '../../src/app.js';
import { buildServer } from '../../src/http/server.js';
import { SUPERUSERS_COLLECTION_ID } from '../../src/collections/model.js';
import { systemRequest } from '../../src/records/system-request.js';
import { silentLogger } from '../../src/util/logger.js';
import { createTempDatabase, type TempDatabase } from './postgres.js';

/** Which database the suite runs on: `PLINTH_TEST_DB=postgres` runs it on a throw-away PostgreSQL database per app. */
export const TEST_DIALECT: 'sqlite' | 'postgres' = process.env.PLINTH_TEST_DB === 'postgres' ? 'postgres' : 'sqlite';

/** Opens an App for a test on the suite's dialect; `close` also drops its throw-away database. */
export async function openTestApp(config: Omit<AppConfig, 'databaseUrl' | 'logger'>): Promise<App & { dropDatabase?: () => Promise<void> }> {
  let temp: TempDatabase | undefined;
  if (TEST_DIALECT === 'postgres') temp = await createTempDatabase();
  const app = await App.open({ logger: silentLogger(), ...config, ...(temp ? { databaseUrl: temp.url, poolSize: 4 } : {}) });
  if (temp) {
    const close = app.close.bind(app);
    app.close = async () => {
      await close();
      await temp.drop();
    };
  }
  return app;
}

export const SUPERUSER_EMAIL = 'admin@example.com';
export const SUPERUSER_PASSWORD = 'correct-horse-battery';

export interface TestServer {
  url: string;
  app: App;
  dir: string;
  /** An SDK client already authenticated as the superuser. */
  admin: PocketBase;
  /** A fresh, unauthenticated SDK client. */
  client(): PocketBase;
  /** Raw fetch against the server (path starting with /). */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

export async function startServer(opts: { bodyLimit?: number; settings?: Record<string, unknown> } = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'plinth-test-'));
  const app = await openTestApp({ dataDir: join(dir, 'data'), migrationsDir: join(dir, 'migrations') });
  const superusers = app.collections.require(SUPERUSERS_COLLECTION_ID);
  await app.writer.create(
    superusers,
    { data: { email: SUPERUSER_EMAIL, password: SUPERUSER_PASSWORD, passwordConfirm: SUPERUSER_PASSWORD } },
    systemRequest(app.collections),
  );
  // Tests log in many times in a few seconds; rate limiting has its own tests.
  await app.settings.update({ rateLimits: { enabled: false }, ...(opts.settings ?? {}) });
  const server = await buildServer(app, opts.bodyLimit ? { bodyLimit: opts.bodyLimit } : {});
  await server.listen({ host: '127.0.0.1', port: 0 });
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  const admin = new PocketBase(url);
  admin.autoCancellation(false);
  await admin.collection('_superusers').authWithPassword(SUPERUSER_EMAIL, SUPERUSER_PASSWORD);
  return {
    url,
    app,
    dir,
    admin,
    client() {
      const pb = new PocketBase(url);
      pb.autoCancellation(false);
      return pb;
    },
    fetch: (path, init) => fetch(url + path, init),
    async close() {
      await server.close();
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
