/**
 * The composition root: config → database → schema → services. No logic of its own; everything is
 * passed explicitly (no module-level singletons), so tests can open as many apps as they like.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CollectionStore } from './collections/store.js';
import type { Database } from './db/dialect.js';
import { openSqlite } from './db/dialects/sqlite/sqlite-database.js';
import { HookBus } from './hooks/index.js';
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
  /** A database URL (PostgreSQL, later); SQLite in dataDir when absent. */
  databaseUrl?: string;
  logger?: Logger;
}

export class App {
  readonly hooks: HookBus;
  readonly collections: CollectionStore;
  readonly settings: SettingsStore;
  readonly reader: RecordReader;
  readonly writer: RecordWriter;

  private constructor(
    readonly config: Required<Omit<AppConfig, 'databaseUrl' | 'logger' | 'applyMigrations'>> & { databaseUrl?: string },
    readonly db: Database,
    readonly logger: Logger,
  ) {
    this.hooks = new HookBus((err, msg) => logger.error({ err }, msg));
    this.collections = new CollectionStore(db, this.hooks);
    this.collections.ruleValidator = (collection, _rule, expr, schema) => validateRule(expr, collection, schema, db.dialect);
    this.settings = new SettingsStore(db, this.hooks);
    this.reader = new RecordReader(db, this.collections);
    this.writer = new RecordWriter(db, this.collections, this.hooks, this.reader);
  }

  /** Opens (and on first run creates) the database, system collections and settings. */
  static async open(config: AppConfig): Promise<App> {
    if (config.databaseUrl && !config.databaseUrl.startsWith('sqlite:')) {
      throw new Error('Only SQLite is supported in this version; PostgreSQL support is planned (see the issues).');
    }
    mkdirSync(config.dataDir, { recursive: true });
    const db = openSqlite({ filename: join(config.dataDir, 'data.db') });
    const logger = config.logger ?? createLogger();
    const full = {
      dataDir: config.dataDir,
      migrationsDir: config.migrationsDir ?? join(config.dataDir, '..', 'plinth_migrations'),
      automigrate: config.automigrate ?? true,
      ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
    };
    const app = new App(full, db, logger);
    await app.collections.bootstrap();
    await app.settings.load();
    if (config.applyMigrations ?? true) await migrateUp(app, full.migrationsDir);
    if (full.automigrate) enableAutomigrate(app, full.migrationsDir);
    return app;
  }

  async close(): Promise<void> {
    await this.hooks.settled();
    await this.db.close();
  }
}
