/**
 * The composition root: config → database → schema → services. No logic of its own; everything is
 * passed explicitly (no module-level singletons), so tests can open as many apps as they like.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AuthServices } from './auth/index.js';
import { CollectionStore } from './collections/store.js';
import type { Database } from './db/dialect.js';
import { openDatabase } from './db/index.js';
import { sql } from './db/sql.js';
import { DatabaseCounters, joinCluster, LocalBus, PostgresBus, type ClusterBus, type SharedCounters } from './cluster/index.js';
import { FileService } from './files/index.js';
import { Scheduler } from './jobs/index.js';
import { HookBus } from './hooks/index.js';
import { LogStore } from './logs/log-store.js';
import { Mailer } from './mail/index.js';
import { HttpClient } from './outbound/index.js';
import { RealtimeService } from './realtime/index.js';
import { RecordReader } from './records/query.js';
import { RecordWriter } from './records/write.js';
import { validateRule } from './rules/index.js';
import { SettingsStore } from './settings/index.js';
import { enableAutomigrate, migrateUp } from './migrations/migrations.js';
import type { Logger } from './util/logger.js';
import { createLogger } from './util/logger.js';

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
  logger?: Logger;
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
  /** The other nodes on the same PostgreSQL database (a no-op bus on SQLite); see cluster/index.ts. */
  readonly bus: ClusterBus;
  /** Rate-limit counters all nodes share (PostgreSQL only; one node counts in memory). */
  readonly sharedCounters: SharedCounters | undefined;
  /** Outbound HTTP for server code: fetch with the SSRF guard, timeouts, retries (see outbound/index.ts). */
  readonly http: HttpClient;

  private constructor(
    readonly config: Required<Omit<AppConfig, 'databaseUrl' | 'logger' | 'applyMigrations' | 'poolSize'>> & { databaseUrl?: string },
    readonly db: Database,
    readonly logger: Logger,
  ) {
    const pgUrl = db.dialect.name === 'postgres' ? (config.databaseUrl as string) : undefined;
    this.bus = pgUrl ? new PostgresBus(pgUrl, db, (err, msg) => logger.error({ err }, msg)) : new LocalBus();
    this.sharedCounters = pgUrl ? new DatabaseCounters(db) : undefined;
    this.cron = new Scheduler(db, this.bus.nodeId, logger);
    this.hooks = new HookBus((err, msg) => logger.error({ err }, msg));
    this.collections = new CollectionStore(db, this.hooks);
    this.collections.ruleValidator = (collection, _rule, expr, schema) => validateRule(expr, collection, schema, db.dialect);
    this.settings = new SettingsStore(db, this.hooks);
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
    this.auth = new AuthServices({
      db,
      collections: this.collections,
      reader: this.reader,
      writer: this.writer,
      hooks: this.hooks,
      settings: () => this.settings.get(),
      mailer: this.mailer,
      logger,
    });
  }

  /** Opens (and on first run creates) the database, system collections and settings. */
  static async open(config: AppConfig): Promise<App> {
    mkdirSync(config.dataDir, { recursive: true });
    const db = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, poolSize: config.poolSize });
    const logger = config.logger ?? createLogger();
    const full = {
      dataDir: config.dataDir,
      migrationsDir: config.migrationsDir ?? join(config.dataDir, '..', 'plinth_migrations'),
      hooksDir: config.hooksDir ?? join(config.dataDir, '..', 'plinth_hooks'),
      automigrate: config.automigrate ?? true,
      ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
    };
    const app = new App(full, db, logger);
    await app.collections.bootstrap();
    await app.settings.load();
    await app.auth.init();
    if (config.applyMigrations ?? true) await migrateUp(app, full.migrationsDir);
    if (full.automigrate) enableAutomigrate(app, full.migrationsDir);
    await app.startCluster();
    return app;
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
      await this.sharedCounters?.prune();
    });
    this.cron.start();
  }

  async close(): Promise<void> {
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

