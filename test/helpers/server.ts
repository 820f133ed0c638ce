/**
 * Starts a real Plinth (App + HTTP server on an ephemeral loopback port, SQLite in a temp dir) for a
 * test, with a superuser (on PostgreSQL instead when PLINTH_TEST_DB=postgres), and hands back the URL, the app and a logged-in `pocketbase` SDK client.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import PocketBase from 'pocketbase';
import { App, type AppConfig } from '../../src/app.js';
import type { QueueTuning } from '../../src/jobs/index.js';
import type { WebhookOptions } from '../../src/webhooks/index.js';
import type { PaymentsOptions } from '../../src/payments/index.js';
import type { MetricsOptions } from '../../src/metrics/index.js';
import { buildServer, type ServerOptions } from '../../src/http/server.js';
import { SUPERUSERS_COLLECTION_ID } from '../../src/collections/model.js';
import { systemRequest } from '../../src/records/system-request.js';
import { silentLogger, type Logger } from '../../src/util/logger.js';
import { loadHooks, type HooksLoader, type LoadHooksOptions } from '../../src/extend/index.js';
import { createTempDatabase, type TempDatabase } from './postgres.js';

/** Which database the suite runs on: `PLINTH_TEST_DB=postgres` runs it on a throw-away PostgreSQL database per app. */
export const TEST_DIALECT: 'sqlite' | 'postgres' = process.env.PLINTH_TEST_DB === 'postgres' ? 'postgres' : 'sqlite';

/**
 * Opens an App for a test on the suite's dialect; `close` also drops its throw-away database. With
 * `database` (PostgreSQL runs; from createTempDatabase), the app opens that one and leaves it, for restarts.
 */
export async function openTestApp(
  config: Omit<AppConfig, 'databaseUrl' | 'logger'> & { logger?: Logger },
  database?: TempDatabase,
): Promise<App & { dropDatabase?: () => Promise<void> }> {
  let temp: TempDatabase | undefined = TEST_DIALECT === 'postgres' ? database : undefined;
  const owned = temp === undefined;
  if (TEST_DIALECT === 'postgres') temp ??= await createTempDatabase();
  const app = await App.open({ logger: silentLogger(), ...config, ...(temp ? { databaseUrl: temp.url, poolSize: 4 } : {}) });
  if (temp && owned) {
    const close = app.close.bind(app);
    app.close = async () => {
      await close();
      await temp!.drop();
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
  /** The hook-file loader, when started with `hooks` (see startServer). */
  hooks?: HooksLoader;
  close(): Promise<void>;
}

/** Adds the test superuser (SUPERUSER_EMAIL / SUPERUSER_PASSWORD) to `app`. */
export async function addSuperuser(app: App): Promise<void> {
  await app.writer.create(
    app.collections.require(SUPERUSERS_COLLECTION_ID),
    { data: { email: SUPERUSER_EMAIL, password: SUPERUSER_PASSWORD, passwordConfirm: SUPERUSER_PASSWORD } },
    systemRequest(app.collections),
  );
}

export interface ServedApp {
  url: string;
  server: FastifyInstance;
  /** Stops the HTTP server, then closes the app. */
  close(): Promise<void>;
}

/** Serves `app` over HTTP on an ephemeral loopback port. */
export async function serveApp(app: App, options: ServerOptions = {}): Promise<ServedApp> {
  const server = await buildServer(app, options);
  await server.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  return {
    url,
    server,
    async close() {
      await server.close();
      await app.close();
    },
  };
}

/**
 * `hooks`: load a hooks directory (`dir`, written by the test) after the app opened and before the
 * server is built, as `plinth serve` does; `onServe` fires once it listens. `jobs`: job queue timings.
 */
export async function startServer(
  opts: {
    bodyLimit?: number;
    settings?: Record<string, unknown>;
    hooks?: LoadHooksOptions & { dir: string };
    beforeHooks?: (app: App) => Promise<void>;
    jobs?: QueueTuning;
    logger?: Logger;
    /** Custom routes (default: those the hook files add, when `hooks` is given). */
    routes?: ServerOptions['routes'];
    hookTimeout?: number;
    webhooks?: WebhookOptions;
    /** Payments tuning (where the Stripe SDK connects: a stand-in, test/helpers/stripe-standin.ts). */
    payments?: PaymentsOptions;
    /** Metrics and slow-query log options (e.g. `slowQueryRequestIds`). */
    metrics?: MetricsOptions;
    /** Other server options (public dir, SQL console, …). */
    server?: Omit<ServerOptions, 'bodyLimit'>;
  } = {},
): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'plinth-test-'));
  const app = await openTestApp({
    dataDir: join(dir, 'data'),
    migrationsDir: join(dir, 'migrations'),
    ...(opts.hooks ? { hooksDir: opts.hooks.dir } : {}),
    ...(opts.jobs ? { jobs: opts.jobs } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.webhooks ? { webhooks: opts.webhooks } : {}),
    ...(opts.payments ? { payments: opts.payments } : {}),
    // Metrics on in the tests (off by default in production) so every HTTP test also exercises the counting.
    metrics: { enabled: true, ...opts.metrics },
  });
  await addSuperuser(app);
  // Tests log in many times in a few seconds; rate limiting has its own tests.
  await app.settings.update({ rateLimits: { enabled: false }, ...(opts.settings ?? {}) });
  await opts.beforeHooks?.(app);
  let hooks: HooksLoader | undefined;
  try {
    hooks = opts.hooks ? await loadHooks(app, opts.hooks) : undefined;
  } catch (err) {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const routes = opts.routes ?? hooks?.routes;
  const served = await serveApp(app, {
    ...opts.server,
    ...(opts.bodyLimit ? { bodyLimit: opts.bodyLimit } : {}),
    ...(routes ? { routes } : {}),
    ...(opts.hookTimeout !== undefined ? { hookTimeout: opts.hookTimeout } : {}),
  });
  await hooks?.serve(served.url);
  const url = served.url;
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
    ...(hooks ? { hooks } : {}),
    async close() {
      await hooks?.terminate();
      await served.server.close();
      await hooks?.close();
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
