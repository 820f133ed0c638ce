/**
 * The `plinth` command: serve, superuser, migrate, migrate-data. PocketBase-compatible flags, parsed
 * strictly (args.ts): an unknown flag or a stray argument is an error (exit 2); a start-up failure is one
 * line (exit 1). A new subcommand is one `case` line in main()'s switch.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { App } from '../app.js';
import { buildServer, type ServerOptions } from '../http/server.js';
import { SUPERUSERS_COLLECTION_ID } from '../collections/model.js';
import { AppError, StartupError } from '../errors/index.js';
import { systemRequest } from '../records/system-request.js';
import { ident, sql } from '../db/sql.js';
import { createLogger } from '../util/logger.js';
import { maskUrlCredentials } from '../util/mask-url.js';
import { parseCommand, UsageError, type CommandSpec } from './args.js';
import { runMigrateCommand, MIGRATE_HELP } from '../migrations/cli.js';
import { installProcessGuards, loadHooks, type HooksLoader } from '../extend/index.js';
import type { ApplyRestore } from '../backups/index.js';
import type { MetricsOptions } from '../metrics/index.js';
import { listMigrationFiles, migrationStatus } from '../migrations/migrations.js';
import { bindPort, listenHandle, showAddress, systemErrorLine } from './startup.js';
import { startTracing, stopTracing } from '../tracing/index.js';
import { tracingConfigFromEnv } from './tracing-config.js';

const MAIN_HELP = `Plinth: a back end in one process, wire-compatible with PocketBase's Web API.

Usage:
  plinth <command> [flags]

Commands:
  serve       Start the web server (default http://127.0.0.1:8090)
  superuser   Manage superusers (upsert, create, delete)
  migrate     Apply, revert or create migrations
  migrate-data  Copy a SQLite instance into an empty PostgreSQL database
  typegen     Write TypeScript types for the collections (plinth-types.d.ts)
  hooks       Type-check the hook files (hooks check)
  backup      Create, list or restore backups (zip of the data; pg_dump on PostgreSQL)
  import-pocketbase  Copy a PocketBase data directory (pb_data) into a new Plinth one
  secrets     Status, rotation and decryption of the encrypted stored secrets (PLINTH_ENCRYPTION_KEY)
  doctor      Check the data dir, database, encryption key, SMTP, S3, clock and settings

Run "plinth <command> --help" for a command's flags.

  plinth --version   Print the version
`;

const SERVE_HELP = `Start the web server.

Usage:
  plinth serve [--http=127.0.0.1:8090] [--dir=./plinth_data] [--db=URL] [--migrationsDir=DIR] [--hooksDir=DIR] [--automigrate=false] [--dev]
               [--publicDir=DIR] [--indexFallback=false] [--sqlWrite] [--sqlTimeout=SECONDS] [--encryptionEnv=VAR] [--metrics=false]
               [--slowQueryMs=MS] [--slowQueryRequestIds]

Flags:
  --http           TCP address to listen on (host:port)          default 127.0.0.1:8090
  --dir            Data directory (SQLite file and files)        default ./plinth_data
  --db             Database URL (PostgreSQL; same as PLINTH_DATABASE_URL); SQLite in --dir when absent
  --migrationsDir  Migrations applied at start; automigrate writes here  default plinth_migrations beside --dir
  --automigrate    Write a migration file for every schema change made through the API (default true)
  --poolSize       PostgreSQL connections per node (same as PLINTH_DB_POOL_SIZE)  default 10
  --hooksDir       Hook files (TypeScript/JavaScript)             default plinth_hooks beside --dir
  --dev            Log every request; reload hook files when they change; rewrite plinth-types.d.ts
                   (beside --dir) after every schema change
  --publicDir      Static files served at / (PocketBase's pb_public)  default plinth_public beside --dir
  --indexFallback  Answer a missing path under / with index.html (SPA; true or false)  default true
  --sqlWrite       Let the SQL console (POST /api/sql) run writes; read-only without it
  --sqlTimeout     The SQL console's time limit in seconds             default 10
  --encryptionEnv  The environment variable holding the keys that encrypt stored secrets (PocketBase's flag)
                   default PLINTH_ENCRYPTION_KEY; see docs/security.md
  --metrics        Prometheus metrics at /api/metrics (true or false)  default false
  --slowQueryMs    Log statements taking at least this many ms (0: all; off: none)  default 500
  --slowQueryRequestIds  Name the request id on slow-query lines (costs every request ~10% CPU: for debugging)
  -h, --help       Show this help

Environment:
  OTEL_EXPORTER_OTLP_ENDPOINT  Send OpenTelemetry traces to this OTLP/HTTP collector (docs/tracing.md); off when unset
`;

const SUPERUSER_HELP = `Manage superusers.

Usage:
  plinth superuser upsert EMAIL PASSWORD [flags]   Create the superuser, or set its password
  plinth superuser create EMAIL PASSWORD [flags]   Create the superuser (error if it exists)
  plinth superuser delete EMAIL [flags]            Delete the superuser

Flags:
  --dir            Data directory (SQLite file and files)        default ./plinth_data
  --db             Database URL (PostgreSQL; same as PLINTH_DATABASE_URL); SQLite in --dir when absent
  --migrationsDir  Migrations applied first, as serve does       default plinth_migrations beside --dir
  --encryptionEnv  The environment variable holding the encryption keys  default PLINTH_ENCRYPTION_KEY
`;

/** Each command's flags (`--help`/`-h` always); each command's help lists all of them (main.test.ts checks). */
export const COMMANDS = {
  serve: {
    name: 'serve',
    flags: {
      http: 'string',
      dir: 'string',
      db: 'string',
      poolSize: 'string',
      migrationsDir: 'string',
      automigrate: 'string',
      hooksDir: 'string',
      dev: 'boolean',
      publicDir: 'string',
      indexFallback: 'string',
      sqlWrite: 'boolean',
      sqlTimeout: 'string',
      encryptionEnv: 'string',
      metrics: 'string',
      slowQueryMs: 'string',
      slowQueryRequestIds: 'boolean',
    },
  },
  superuser: { name: 'superuser', flags: { dir: 'string', db: 'string', migrationsDir: 'string', encryptionEnv: 'string' }, maxPositionals: 3 },
  migrate: { name: 'migrate', flags: { dir: 'string', db: 'string', migrationsDir: 'string', encryptionEnv: 'string' }, maxPositionals: 2 },
  'migrate-data': { name: 'migrate-data', flags: { from: 'string', to: 'string' } },
} satisfies Record<string, CommandSpec>;

/** The help texts of COMMANDS (migrate-data's lives with its lazily loaded module). */
export const HELP = { main: () => MAIN_HELP, serve: () => SERVE_HELP, superuser: () => SUPERUSER_HELP, migrate: () => MIGRATE_HELP };

type Flags = Record<string, string | true>;

function dataDir(flags: Flags): string {
  return resolve(typeof flags.dir === 'string' ? flags.dir : './plinth_data');
}

/** PocketBase keeps migrations beside the data dir; so does Plinth unless told otherwise. */
function migrationsDir(flags: Flags): string {
  return typeof flags.migrationsDir === 'string' ? resolve(flags.migrationsDir) : join(dataDir(flags), '..', 'plinth_migrations');
}

function databaseUrl(flags: Flags): { databaseUrl?: string } {
  const url = typeof flags.db === 'string' ? flags.db : process.env.PLINTH_DATABASE_URL;
  return url && url !== '' ? { databaseUrl: url } : {};
}

/** `--encryptionEnv=VAR` (PocketBase's flag): the variable holding the keyring instead of PLINTH_ENCRYPTION_KEY. */
function encryptionEnv(flags: Flags): { encryptionEnv?: string } {
  if (typeof flags.encryptionEnv !== 'string') return {};
  const name = flags.encryptionEnv;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new UsageError(`Invalid --encryptionEnv "${name}": expected an environment variable name.`);
  if (!process.env[name]) throw new UsageError(`--encryptionEnv=${name}: that environment variable is not set (or empty).`);
  return { encryptionEnv: name };
}

/** `--poolSize=N` or PLINTH_DB_POOL_SIZE: PostgreSQL connections per node (default 10). */
function poolSize(flags: Flags): { poolSize?: number } {
  const raw = typeof flags.poolSize === 'string' ? flags.poolSize : process.env.PLINTH_DB_POOL_SIZE;
  if (raw === undefined || raw === '') return {};
  if (!/^\d{1,4}$/.test(raw) || Number(raw) < 1 || Number(raw) > 1000)
    throw new UsageError(`Invalid pool size "${raw}": expected a whole number from 1 to 1000.`);
  return { poolSize: Number(raw) };
}

/** Time left for closing the databases after the connections still open at shutdown are cut. */
const CLOSE_RESERVE_MS = 2000;

/** PLINTH_SHUTDOWN_TIMEOUT: seconds from SIGTERM/SIGINT to a forced exit (default 10; keep it below the supervisor's). */
function shutdownTimeoutMs(): number {
  const raw = process.env.PLINTH_SHUTDOWN_TIMEOUT;
  if (raw === undefined || raw === '') return 10_000;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > 3600)
    throw new UsageError(`Invalid PLINTH_SHUTDOWN_TIMEOUT "${raw}": expected seconds, from 1 to 3600.`);
  return Math.round(seconds * 1000);
}

/** `--metrics=true|false` and `--slowQueryMs=N|off` (docs/operations.md). */
function metricsOptions(flags: Flags): MetricsOptions {
  if (flags.metrics !== undefined && !['true', 'false'].includes(String(flags.metrics))) throw new UsageError('--metrics takes true or false.');
  const out: MetricsOptions = { enabled: flags.metrics === 'true' };
  if (flags.slowQueryRequestIds === true) out.slowQueryRequestIds = true;
  const slow = flags.slowQueryMs;
  if (typeof slow === 'string') {
    if (slow === 'off') out.slowQueryMs = -1;
    else if (/^\d{1,7}$/.test(slow)) out.slowQueryMs = Number(slow);
    else throw new UsageError(`Invalid --slowQueryMs "${slow}": expected milliseconds (0 logs every statement) or off.`);
  }
  return out;
}

function parseHttp(value: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]*):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new UsageError(`Invalid --http address "${value}": expected host:port, e.g. 127.0.0.1:8090.`);
  return { host: (m[1] as string).replace(/^\[|\]$/g, '') || '0.0.0.0', port };
}

/** The package's version (package.json beside dist/). */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

async function serve(argv: string[]): Promise<number> {
  const { flags, help } = parseCommand(argv, COMMANDS.serve);
  if (help) {
    process.stdout.write(SERVE_HELP);
    return 0;
  }
  const { host, port: wanted } = parseHttp(typeof flags.http === 'string' ? flags.http : '127.0.0.1:8090');
  if (flags.automigrate !== undefined && !['true', 'false'].includes(String(flags.automigrate))) {
    throw new UsageError('--automigrate takes true or false.');
  }
  if (flags.indexFallback !== undefined && !['true', 'false'].includes(String(flags.indexFallback))) {
    throw new UsageError('--indexFallback takes true or false.');
  }
  /** PLINTH_STRIPE_API_BASE points the Stripe SDK at stripe-mock or a local stand-in (docs/payments.md). */
  const stripeApiBase = () => {
    const base = process.env.PLINTH_STRIPE_API_BASE;
    if (base === undefined || base === '') return {};
    if (!/^https?:\/\/[^/]+\/?$/.test(base)) throw new UsageError(`Invalid PLINTH_STRIPE_API_BASE "${base}": expected http(s)://host:port.`);
    return { payments: { stripe: { apiBase: base } } };
  };
  const sqlTimeout = typeof flags.sqlTimeout === 'string' ? Number(flags.sqlTimeout) : undefined;
  if (sqlTimeout !== undefined && !(Number.isFinite(sqlTimeout) && sqlTimeout > 0 && sqlTimeout <= 3600)) {
    throw new UsageError(`Invalid --sqlTimeout "${String(flags.sqlTimeout)}": expected seconds, from 0.1 to 3600.`);
  }
  const pool = poolSize(flags);
  const tracing = tracingConfigFromEnv();
  const keys = encryptionEnv(flags);
  shutdownTimeoutMs(); // a bad PLINTH_SHUTDOWN_TIMEOUT fails the start, not the shutdown
  const metrics = metricsOptions(flags);
  // The port first: when it is taken, nothing is created or migrated (see startup.ts).
  const bound = await bindPort(host, wanted);
  const port = (bound.address() as AddressInfo).port; // the one chosen, for --http=HOST:0
  const logger = createLogger();
  // Traces (docs/tracing.md): OpenTelemetry is loaded only here, only when an OTLP endpoint is set.
  if (tracing) await startTracing({ ...tracing, serviceVersion: version(), logger });
  const openApp = () =>
    App.open({
      dataDir: dataDir(flags),
      migrationsDir: migrationsDir(flags),
      automigrate: flags.automigrate !== 'false',
      ...databaseUrl(flags),
      ...pool,
      ...keys,
      metrics,
      ...(typeof flags.hooksDir === 'string' ? { hooksDir: resolve(flags.hooksDir) } : {}),
      ...stripeApiBase(),
      logger,
    });
  /** The app with its hook files loaded (a hook file that fails to load closes the app and fails the start). */
  const openWithHooks = async (): Promise<{ app: App; hooks: HooksLoader }> => {
    const opened = await openApp();
    try {
      return { app: opened, hooks: await loadHooks(opened, { dev: flags.dev === true }) };
    } catch (err) {
      await opened.close();
      throw err;
    }
  };
  let app: App;
  let hooks: HooksLoader;
  const serverOptions = (): ServerOptions => ({
    logRequests: flags.dev === true,
    routes: hooks.routes,
    ...(typeof flags.publicDir === 'string' ? { publicDir: resolve(flags.publicDir) } : {}),
    indexFallback: flags.indexFallback !== 'false',
    sqlConsole: { write: flags.sqlWrite === true, ...(sqlTimeout ? { timeoutMs: Math.round(sqlTimeout * 1000) } : {}) },
  });
  try {
    ({ app, hooks } = await openWithHooks());
  } catch (err) {
    bound.close();
    throw err;
  }
  installProcessGuards(logger);
  let server = await buildServer(app, serverOptions());
  if (flags.dev === true) (await import('../typegen/index.js')).watchTypes(app, join(app.config.dataDir, '..', 'plinth-types.d.ts'));
  await server.listen(listenHandle(bound));
  const address = `http://${showAddress(host, port)}`;
  if (hooks.files.length) logger.info({ dir: hooks.dir, files: hooks.files }, 'hook files loaded');
  await hooks.serve(address);
  // A backup restore re-opens everything (hook files included) in this process on the same address
  // (docs/backups.md).
  const restarter = async (apply: ApplyRestore) => {
    logger.info('restoring a backup: restarting');
    await server.close();
    await hooks.close();
    await app.close();
    let swapped: Awaited<ReturnType<typeof apply>> | undefined;
    try {
      swapped = await apply();
      ({ app, hooks } = await openWithHooks());
      await swapped.discard();
    } catch (err) {
      logger.error({ err }, 'restore failed; reopening the previous data');
      await swapped?.revert();
      ({ app, hooks } = await openWithHooks());
    }
    try {
      server = await buildServer(app, serverOptions());
      await server.listen({ host, port });
      await hooks.serve(address);
    } catch (err) {
      // Nothing is listening any more: exit so a supervisor starts a fresh process on the restored data.
      logger.error({ err }, 'cannot listen again after the restore');
      process.exit(1);
    }
    if (flags.dev === true) (await import('../typegen/index.js')).watchTypes(app, join(app.config.dataDir, '..', 'plinth-types.d.ts'));
    app.backups.restarter = restarter;
    logger.info('restarted after the restore');
  };
  app.backups.restarter = restarter;
  const status = await migrationStatus(app, app.config.migrationsDir);
  const fresh = app.migrationsAppliedAtStart;
  const files = listMigrationFiles(status.dir).length;
  // One write, so that whoever reads the pipe gets the whole banner at once.
  let banner = `Server started at ${address}\n├─ REST API: ${address}/api/\n├─ Data dir: ${app.config.dataDir}\n`;
  banner += `├─ Migrations: ${status.dir} (${files} file${files === 1 ? '' : 's'}; ${fresh.length} applied now, ${status.applied.length} applied in all)\n`;
  for (const file of fresh.slice(0, 10)) banner += `│    applied ${file}\n`;
  if (fresh.length > 10) banner += `│    … and ${fresh.length - 10} more\n`;
  if (tracing) banner += `├─ Traces: OTLP/HTTP to ${maskUrlCredentials(tracing.url)}\n`; // credentials stay out of logs
  banner += `└─ Dashboard: ${address}/_/\n`;
  // Secrets at rest are only as safe as the key's storage: say where it is when it is in the data.
  if (app.box.source !== 'env') banner += `\n${app.box.describe()}\n`;
  if (!app.mailer.enabled) {
    banner +=
      '\nMail is not configured: verification, password-reset, email-change, OTP and login-alert mails are not sent.\n' +
      '  Set up SMTP in the dashboard (Settings → Mail (SMTP)) to send them.\n';
  }
  const installToken = await server.installer.issue();
  if (installToken) {
    const linkHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
    const link = `http://${showAddress(linkHost, port)}/_/#/pbinstall/${installToken}`;
    banner +=
      `\nNo superuser yet. Open this one-time link (valid 30 minutes) to create the first one:\n  ${link}\n` +
      `or create one with:\n  npx plinth superuser upsert EMAIL PASSWORD --dir=${app.config.dataDir}\n`;
  }
  process.stdout.write(banner);

  // Graceful shutdown (docs/deploy.md): onTerminate hooks; then the port stops taking connections while the
  // requests in flight finish (realtime streams end at once) and, at the same time, the job workers stop
  // claiming and get their grace period; connections still open near the deadline are cut, so the databases
  // are always closed properly before it. Past the deadline the process exits 1 anyway.
  let closing = false;
  const shutdownMs = shutdownTimeoutMs();
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    const deadline = Date.now() + shutdownMs;
    logger.info({ signal, timeoutMs: shutdownMs }, 'shutting down');
    const force = setTimeout(() => {
      logger.error({ timeoutMs: shutdownMs }, 'shutdown did not finish in time: exiting');
      process.exit(1);
    }, shutdownMs);
    force.unref();
    let code = 0;
    try {
      await hooks.terminate(signal);
      const current = server;
      const cut = setTimeout(
        () => {
          logger.warn('shutdown: cutting the connections still open');
          current.server.closeAllConnections();
        },
        Math.max(0, deadline - Date.now() - CLOSE_RESERVE_MS),
      );
      cut.unref();
      await Promise.all([current.close(), app.jobs.close()]);
      clearTimeout(cut);
      await hooks.close();
      await app.close();
      await flushTraces();
    } catch (err) {
      logger.error({ err }, 'shutdown failed');
      code = 1;
    } finally {
      process.exit(code);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  return new Promise<number>(() => {}); // runs until a signal
}

/** Sends the spans still queued, for at most 3 s (an unreachable collector must not hold up the exit). */
async function flushTraces(): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([stopTracing(), new Promise<void>((r) => (timer = setTimeout(r, 3000)))]);
  clearTimeout(timer);
}

async function superuser(argv: string[]): Promise<number> {
  const { positional, flags, help } = parseCommand(argv, COMMANDS.superuser);
  const [action, email, password] = positional;
  if (help || !action) {
    process.stdout.write(SUPERUSER_HELP);
    return help ? 0 : 2;
  }
  if (!['upsert', 'create', 'delete'].includes(action)) throw new UsageError(`Unknown superuser action "${action}".\n\n${SUPERUSER_HELP}`);
  if (!email || (action !== 'delete' && !password)) throw new UsageError(`Missing arguments.\n\n${SUPERUSER_HELP}`);
  if (action === 'delete' && password !== undefined) throw new UsageError(`"superuser delete" takes only the EMAIL.\n\n${SUPERUSER_HELP}`);
  const app = await App.open({
    dataDir: dataDir(flags),
    migrationsDir: migrationsDir(flags),
    ...databaseUrl(flags),
    ...encryptionEnv(flags),
    logger: createLogger('warn'),
  });
  try {
    const collection = app.collections.require(SUPERUSERS_COLLECTION_ID);
    const row = await app.db.get<{ id: string }>(sql`SELECT id FROM ${ident(collection.name)} WHERE LOWER(email) = LOWER(${email}) LIMIT 1`);
    const req = systemRequest(app.collections);
    if (action === 'delete') {
      if (!row) throw new UsageError(`No superuser with email ${email}.`);
      await app.writer.delete(collection, row.id, req);
      process.stdout.write(`Deleted superuser ${email}.\n`);
    } else if (row && action === 'upsert') {
      await app.writer.update(collection, row.id, { data: { password, passwordConfirm: password } }, req);
      process.stdout.write(`Updated superuser ${email}.\n`);
    } else if (row) {
      throw new UsageError(`A superuser with email ${email} already exists (use "upsert" to change its password).`);
    } else {
      await app.writer.create(collection, { data: { email, password, passwordConfirm: password, verified: true } }, req);
      process.stdout.write(`Created superuser ${email}.\n`);
    }
    return 0;
  } finally {
    await app.close();
  }
}

async function migrate(argv: string[]): Promise<number> {
  const { positional, flags, help } = parseCommand(argv, COMMANDS.migrate);
  if (help) {
    process.stdout.write(MIGRATE_HELP);
    return 0;
  }
  return runMigrateCommand(positional, {
    dataDir: dataDir(flags),
    migrationsDir: migrationsDir(flags),
    databaseUrl: databaseUrl(flags).databaseUrl,
    ...encryptionEnv(flags),
  });
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-v' || command === 'version') {
    process.stdout.write(`plinth version ${version()}\n`);
    return 0;
  }
  try {
    switch (command) {
      case 'serve':
        return await serve(rest);
      case 'superuser':
        return await superuser(rest);
      case 'migrate':
        return await migrate(rest);
      case 'migrate-data':
        return await migrateDataCommand(rest);
      case 'backup':
        return await (await import('../backups/cli.js')).run(rest);
      case 'typegen':
        return await (await import('../typegen/cli.js')).run(rest);
      case 'hooks':
        return await (await import('../extend/cli.js')).run(rest);
      case 'doctor':
        return await (await import('./doctor.js')).run(rest);
      case 'import-pocketbase':
        return await (await import('../migrations/import-pocketbase.js')).run(rest);
      case 'secrets':
        return await (await import('./secrets.js')).run(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(MAIN_HELP);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`Unknown command "${command}".\n\n${MAIN_HELP}`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`Error: ${err.message}\n`);
      return 2;
    }
    if (err instanceof StartupError) {
      process.stderr.write(`Error: ${err.message}\n`);
      return 1;
    }
    if (err instanceof AppError) {
      const details = Object.keys(err.data).length ? `\n${JSON.stringify(err.data, null, 2)}` : '';
      process.stderr.write(`Error: ${err.message}${details}\n`);
      return 1;
    }
    // Any other file-system or network failure (EACCES, ENOSPC, …): its one line, not a stack trace.
    const line = systemErrorLine(err);
    if (line !== undefined) {
      process.stderr.write(`Error: ${line}\n`);
      return 1;
    }
    throw err;
  }
}

async function migrateDataCommand(argv: string[]): Promise<number> {
  const { migrateData, MIGRATE_DATA_HELP } = await import('../migrations/migrate-data.js');
  const { flags, help } = parseCommand(argv, COMMANDS['migrate-data']);
  if (help) {
    process.stdout.write(MIGRATE_DATA_HELP);
    return 0;
  }
  if (typeof flags.to !== 'string') throw new UsageError(`Missing --to=postgres://….\n\n${MIGRATE_DATA_HELP}`);
  const from = resolve(typeof flags.from === 'string' ? flags.from : 'plinth_data');
  // MigrateDataError is a StartupError: main() reports it as one line, exit code 1.
  const result = await migrateData({ from, to: flags.to });
  process.stdout.write(`Copied ${result.rows} rows in ${result.tables.length} tables; row counts verified.\n`);
  for (const t of result.tables) process.stdout.write(`  ${t.name}: ${t.rows}\n`);
  return 0;
}
