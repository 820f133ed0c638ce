/**
 * The composition root: config → database → schema → services. No logic of its own; everything is
 * passed explicitly (no module-level singletons), so tests can open as many apps as they like.
 */
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AuthServices } from './auth/index.js';
import { BackupService } from './backups/index.js';
import { CollectionStore } from './collections/store.js';
import type { Database } from './db/dialect.js';
import { openDatabase } from './db/index.js';
import { sql } from './db/sql.js';
import { DatabaseCounters, joinCluster, LocalBus, PostgresBus, type ClusterBus, type SharedCounters } from './cluster/index.js';
import { FileService } from './files/index.js';
import { JobQueue, Scheduler, type QueueTuning } from './jobs/index.js';
import { HookBus } from './hooks/index.js';
import { LOG_LEVEL, LogStore } from './logs/log-store.js';
import { Mailer } from './mail/index.js';
import { Metrics, type MetricsOptions } from './metrics/index.js';
import { HttpClient } from './outbound/index.js';
import { RealtimeService } from './realtime/index.js';
import { RecordReader } from './records/query.js';
import { RecordWriter } from './records/write.js';
import { validateRule } from './rules/index.js';
import { SettingsStore } from './settings/index.js';
import { StartupError } from './errors/index.js';
import { enableAutomigrate, migrateUp } from './migrations/migrations.js';
import type { Logger } from './util/logger.js';
import type { PasswordAlgorithm } from './auth/passwords.js';
import { createLogger } from './util/logger.js';
import { DEFAULT_KEY_ENV, SecretBox, SecretKeyError } from './util/secret-box.js';
import { resealSecrets } from './secrets/index.js';
import { WebhookService, type WebhookOptions } from './webhooks/index.js';
import { PaymentService, type PaymentsOptions } from './payments/index.js';

export interface AppConfig {
  /** Data directory (SQLite file `data.db` lives here). */
  dataDir: string;
  /** Migrations directory; default: `plinth_migrations` beside the data dir. */
  migrationsDir?: string;
  /** Write a migration file for every schema change made through the API (default true). */
  automigrate?: boolean;
  /** Apply pending migration files at start (default true, as PocketBase's serve does). */
  applyMigrations?: boolean;
  /** `postgres://…` runs on PostgreSQL; absent (or `sqlite:`), SQLite in `dataDir/data.db`. */
  databaseUrl?: string;
  /** PostgreSQL connection pool size (default 10). */
  poolSize?: number;
  /** Hook files (docs/hooks.md); default: `plinth_hooks` beside the data dir. Loaded by src/extend/. */
  hooksDir?: string;
  /** Job queue timings (poll interval, lease, retention, shutdown grace); the defaults suit production. */
  jobs?: QueueTuning;
  /**
   * The keyring for secrets at rest (util/secret-box.ts, docs/security.md): `id:key,id:key` (newest first) or
   * one key. Default: the environment variable `encryptionEnv`; without either, a key file in the data dir
   * (SQLite) or a key row in the database (PostgreSQL).
   */
  encryptionKey?: string;
  /** The environment variable holding the keyring (PocketBase's `--encryptionEnv`); default PLINTH_ENCRYPTION_KEY. */
  encryptionEnv?: string;
  /** Webhook delivery tuning (retry schedule, timeout, auto-disable); the defaults are Svix's. */
  webhooks?: WebhookOptions;
  /**
   * How new password hashes are made. `auto` (default): bcrypt, as PocketBase makes them, when the data
   * directory came from PocketBase (its `1640988000_init.go` migration is recorded), so PocketBase can
   * still log those users in; argon2id otherwise. See docs/migrating-from-pocketbase.md.
   */
  passwordHash?: 'auto' | PasswordAlgorithm;
  /** Payments tuning: where the Stripe SDK connects (`stripe.apiBase`, for stripe-mock or a local stand-in), timeouts, retries. */
  payments?: PaymentsOptions;
  /**
   * Prometheus metrics at `/api/metrics` (default on; `enabled: false` takes them off the request path) and
   * the slow-query log (`slowQueryMs`, default 500; negative = off). See docs/operations.md.
   */
  metrics?: MetricsOptions;
  logger?: Logger;
}

/** Creates the data dir if needed; a path that cannot be a writable directory is a StartupError naming it. */
function prepareDataDir(dir: string): void {
  const refuse = (why: string, cause?: unknown) =>
    new StartupError(`Cannot use the data directory ${dir}: ${why}. Choose another with --dir=PATH.`, cause ? { cause } : {});
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') throw refuse('it (or a folder above it) is a file, not a directory', err);
    if (code === 'EACCES' || code === 'EPERM') throw refuse('permission denied creating it', err);
    if (code === 'EROFS') throw refuse('the file system is read-only', err);
    throw refuse((err as Error).message, err);
  }
  if (!statSync(dir).isDirectory()) throw refuse('it is not a directory');
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw refuse('it is not writable by this user', err);
  }
}

/** A database or migrations-folder failure while opening, as one line (the cause kept for debugging). */
function startupFailure(err: unknown, what: string): unknown {
  if (err instanceof StartupError) return err;
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  // Node system errors (fs) and SQLite's own (SQLITE_CANTOPEN, SQLITE_READONLY_DIRECTORY, …).
  if (/^(E[A-Z]+|SQLITE_\w+)$/.test(code)) return new StartupError(`${what}: ${String(e.message).split('\n')[0]} (${code})`, { cause: err });
  return err;
}

/** The PostgreSQL advisory lock held while a node sets the database up (App.open). */
const STARTUP_LOCK = 7201148911;

/** PocketBase's first system migration: recorded in `_migrations` of every data directory PocketBase made. */
const POCKETBASE_INIT_MIGRATION = '1640988000_init.go';

/** Whether the database was made by PocketBase (so it should stay readable by PocketBase). */
export async function isPocketBaseDatabase(db: Database): Promise<boolean> {
  const row = await db.get(sql`SELECT 1 AS one FROM _migrations WHERE file = ${POCKETBASE_INIT_MIGRATION}`);
  return row !== undefined;
}

export class App {
  readonly hooks: HookBus;
  readonly collections: CollectionStore;
  readonly settings: SettingsStore;
  readonly reader: RecordReader;
  readonly writer: RecordWriter;
  /** File storage (local directory or S3, from settings), thumbnails, background deletions. */
  readonly files: FileService;
  /** SSE subscriptions and server-side publishing (see realtime/index.ts). */
  readonly realtime: RealtimeService;
  /** Request logs, in `<dataDir>/auxiliary.db` (a database of their own). */
  readonly logs: LogStore;
  /** Outgoing mail over SMTP (settings.smtp). */
  readonly mailer: Mailer;
  /** Auth flows beyond password login: OTP, MFA, TOTP, emailed links, API keys (see auth/index.ts). */
  readonly auth: AuthServices;
  /** Scheduled jobs, each run once per schedule across a cluster (see jobs/index.ts). */
  readonly cron: Scheduler;
  /** Durable background jobs in `_jobs`, shared by every node of a cluster (see jobs/queue.ts, docs/jobs.md). */
  readonly jobs: JobQueue;
  /** The other nodes on the same PostgreSQL database (a no-op bus on SQLite); see cluster/index.ts. */
  readonly bus: ClusterBus;
  /** Rate-limit counters all nodes share (PostgreSQL only; one node counts in memory). */
  readonly sharedCounters: SharedCounters | undefined;
  /** Outbound HTTP for server code: fetch with the SSRF guard, timeouts, retries (see outbound/index.ts). */
  readonly http: HttpClient;
  /** The migration files `open` applied (oldest first); `plinth serve` reports them. */
  migrationsAppliedAtStart: string[] = [];
  /** Backups and restore (local folder or S3; see backups/index.ts). */
  readonly backups: BackupService;
  /** Signed outbound webhooks with guaranteed delivery, and verified inbound ones (see webhooks/, docs/webhooks.md). */
  readonly webhooks: WebhookService;
  /** Checkout, refunds, subscriptions and the provider webhook (see payments/, docs/payments.md). */
  readonly payments: PaymentService;
  /** Prometheus metrics and the slow-query log (see metrics/index.ts, docs/operations.md). */
  readonly metrics: Metrics;
  private secretBox: SecretBox | null = null;
  /** How many stored secrets `open` re-encrypted (plain text, or sealed with an older key). */
  secretsResealedAtStart = 0;

  private constructor(
    readonly config: Required<
      Omit<
        AppConfig,
        | 'databaseUrl'
        | 'logger'
        | 'applyMigrations'
        | 'poolSize'
        | 'jobs'
        | 'webhooks'
        | 'encryptionKey'
        | 'encryptionEnv'
        | 'passwordHash'
        | 'payments'
        | 'metrics'
      >
    > & { databaseUrl?: string },
    readonly db: Database,
    readonly logger: Logger,
    jobTuning: QueueTuning = {},
    webhookOptions: WebhookOptions = {},
    paymentsOptions: PaymentsOptions = {},
    metricsOptions: MetricsOptions = {},
  ) {
    const pgUrl = db.dialect.name === 'postgres' ? (config.databaseUrl as string) : undefined;
    this.bus = pgUrl ? new PostgresBus(pgUrl, db, (err, msg) => logger.error({ err }, msg)) : new LocalBus();
    this.sharedCounters = pgUrl ? new DatabaseCounters(db) : undefined;
    this.cron = new Scheduler(db, this.bus.nodeId, logger);
    this.jobs = new JobQueue(db, this.bus, logger, jobTuning);
    this.hooks = new HookBus((err, msg) => logger.error({ err }, msg));
    this.collections = new CollectionStore(db, this.hooks);
    this.collections.ruleValidator = (collection, _rule, expr, schema) => validateRule(expr, collection, schema, db.dialect);
    this.settings = new SettingsStore(db, this.hooks, () => this.box);
    this.reader = new RecordReader(db, this.collections, this.hooks);
    this.files = new FileService(config.dataDir, () => this.settings.get(), logger);
    this.files.bindHooks(this.hooks);
    this.writer = new RecordWriter(db, this.collections, this.hooks, this.reader, this.files);
    this.realtime = new RealtimeService({ db, collections: this.collections, hooks: this.hooks, logger });
    this.logs = new LogStore(join(config.dataDir, 'auxiliary.db'), () => this.settings.get().logs);
    this.http = new HttpClient({
      settings: () => this.settings.get().outbound,
      onRefused: (message) => logger.warn(message),
    });
    this.mailer = new Mailer(() => this.settings.get(), logger, this.hooks);
    this.backups = new BackupService(this);
    this.webhooks = new WebhookService(
      {
        db,
        bus: this.bus,
        hooks: this.hooks,
        collections: this.collections,
        jobs: this.jobs,
        http: this.http,
        mailer: this.mailer,
        logger,
        box: () => this.box,
      },
      // Deliveries are claimed like jobs: the same poll interval, lease and shutdown grace unless set.
      { pollMs: jobTuning.pollMs, leaseMs: jobTuning.leaseMs, shutdownGraceMs: jobTuning.shutdownGraceMs, ...webhookOptions },
    );
    this.payments = new PaymentService(
      {
        db,
        collections: this.collections,
        reader: this.reader,
        writer: this.writer,
        hooks: this.hooks,
        settings: this.settings,
        logger,
      },
      paymentsOptions,
    );
    this.metrics = new Metrics(
      {
        db,
        jobs: this.jobs,
        webhooks: this.webhooks,
        realtime: this.realtime,
        logger,
        slowQuerySink: (entry) => this.logs.add(LOG_LEVEL.warn, `Slow query (${entry.ms} ms)`, { type: 'slowQuery', ...entry }),
      },
      metricsOptions,
    );
    this.auth = new AuthServices({
      db,
      collections: this.collections,
      reader: this.reader,
      writer: this.writer,
      hooks: this.hooks,
      settings: () => this.settings.get(),
      mailer: this.mailer,
      logger,
      box: () => this.box,
    });
  }

  /** Encrypts secrets at rest (util/secret-box.ts); loaded when the app opens. */
  get box(): SecretBox {
    if (!this.secretBox) throw new Error('The secret box is not loaded yet.');
    return this.secretBox;
  }

  /** Opens (and on first run creates) the database, system collections and settings. */
  static async open(config: AppConfig): Promise<App> {
    prepareDataDir(config.dataDir);
    const db = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, poolSize: config.poolSize }).catch((err: unknown) => {
      throw startupFailure(err, `Cannot open the SQLite database in ${config.dataDir}`);
    });
    const logger = config.logger ?? createLogger();
    const full = {
      dataDir: config.dataDir,
      migrationsDir: config.migrationsDir ?? join(config.dataDir, '..', 'plinth_migrations'),
      hooksDir: config.hooksDir ?? join(config.dataDir, '..', 'plinth_hooks'),
      automigrate: config.automigrate ?? true,
      ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
    };
    const app = new App(full, db, logger, config.jobs, config.webhooks, config.payments, config.metrics);
    try {
      // Nodes of a cluster starting together set the database up one at a time (tables, system collections,
      // migrations): CREATE TABLE IF NOT EXISTS is not safe against a concurrent CREATE.
      await (db.exclusive ? db.exclusive(STARTUP_LOCK, () => app.setUp(config, full)) : app.setUp(config, full));
    } catch (err) {
      await app.close().catch(() => undefined); // nothing left open keeps the process alive
      if (err instanceof SecretKeyError) throw new StartupError(err.message, { cause: err });
      throw err;
    }
    return app;
  }

  /** Everything App.open does once the database is open (under the start-up lock on PostgreSQL). */
  private async setUp(config: AppConfig, full: App['config']): Promise<void> {
    const keyEnv = config.encryptionEnv ?? DEFAULT_KEY_ENV;
    this.secretBox = await SecretBox.load(this.db, config.dataDir, {
      name: config.encryptionKey !== undefined ? 'AppConfig.encryptionKey' : keyEnv,
      ...(config.encryptionKey !== undefined ? { value: config.encryptionKey } : {}),
    }).catch((err: unknown) => {
      throw err instanceof StartupError ? err : new StartupError((err as Error).message, { cause: err });
    });
    this.collections.box = this.secretBox;
    await this.collections.bootstrap().catch((err: unknown) => {
      throw startupFailure(err, `Cannot set up the database in ${config.dataDir}`);
    });
    // A data directory PocketBase made stays one PocketBase can use: bcrypt hashes, `.attrs` sidecars.
    const fromPocketBase = await isPocketBaseDatabase(this.db);
    const passwordHash = config.passwordHash ?? 'auto';
    this.writer.passwordAlgorithm = passwordHash === 'auto' ? (fromPocketBase ? 'bcrypt' : 'argon2id') : passwordHash;
    this.files.local.pocketbaseSidecars = fromPocketBase;
    await this.settings.load();
    // Every stored secret opens (else a one-line StartupError), and plain or older-key ones are re-sealed.
    this.secretsResealedAtStart = (await resealSecrets(this.db, this.secretBox)).resealed;
    if (this.secretsResealedAtStart > 0) {
      this.logger.info({ count: this.secretsResealedAtStart, key: this.secretBox.primaryId }, 'secrets: re-encrypted stored secrets with the current key');
    }
    await this.auth.init();
    if (config.applyMigrations ?? true) {
      this.migrationsAppliedAtStart = await migrateUp(this, full.migrationsDir).catch((err: unknown) => {
        throw startupFailure(err, `Cannot apply the migrations in ${full.migrationsDir}`);
      });
    }
    if (full.automigrate) enableAutomigrate(this, full.migrationsDir);
    await this.startCluster();
  }

  /** Joins the other nodes (PostgreSQL) and starts the built-in scheduled jobs. */
  private async startCluster(): Promise<void> {
    await this.bus.start();
    await this.sharedCounters?.init();
    joinCluster({
      bus: this.bus,
      hooks: this.hooks,
      collections: this.collections,
      settings: this.settings,
      reader: this.reader,
      realtime: this.realtime,
      logger: this.logger,
    });
    await this.cron.init();
    await this.jobs.init();
    await this.webhooks.init();
    await this.payments.init();
    // PocketBase's built-in jobs (request logs are per node and clean themselves up: logs/log-store.ts).
    // PocketBase's built-in jobs, under its ids and schedules (request logs are per node and also clean
    // themselves up: logs/log-store.ts; `__pbDBOptimize__` is PRAGMA optimize on SQLite, ANALYZE on PostgreSQL).
    this.cron.add('__pbLogsCleanup__', '0 */6 * * *', async () => void (await this.logs.cleanup()));
    this.cron.add('__pbDBOptimize__', '0 0 * * *', async () => {
      await this.db.run(this.db.dialect.name === 'sqlite' ? sql`PRAGMA optimize` : sql`ANALYZE`);
    });
    this.cron.add('__pbOTPCleanup__', '0 * * * *', async () => void (await this.auth.cleanupExpired('_otps')));
    this.cron.add('__pbMFACleanup__', '0 * * * *', async () => void (await this.auth.cleanupExpired('_mfas')));
    this.cron.add('__plinthHousekeeping__', '15 * * * *', async () => {
      await this.cron.prune();
      await this.jobs.prune();
      await this.webhooks.prune();
      await this.payments.prune();
      await this.sharedCounters?.prune();
    });
    this.backups.init();
    this.cron.start();
    await this.jobs.start();
  }

  async close(): Promise<void> {
    // Stop claiming first; running jobs get a grace period, the rest go back to the queue.
    await this.webhooks.close();
    await this.jobs.close();
    await this.cron.close();
    await this.bus.close();
    await this.realtime.close();
    await this.auth.settled();
    this.mailer.close();
    await this.hooks.settled();
    await this.files.settled();
    await this.logs.close();
    await this.db.close();
  }
}
