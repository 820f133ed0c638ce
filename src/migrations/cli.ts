/** `plinth migrate up|down [N]|create NAME|collections`. */
import { App } from '../app.js';
import { createLogger } from '../util/logger.js';
import { migrateDown, migrateUp, writeBlankMigration, writeCollectionsSnapshot } from './migrations.js';

export const MIGRATE_HELP = `Apply, revert or create migrations.

Usage:
  plinth migrate up                   Apply all pending migrations
  plinth migrate down [N]             Revert the last N applied migrations (default 1)
  plinth migrate create NAME          Create a blank migration file
  plinth migrate collections          Write a snapshot of every collection as a migration

Flags:
  --dir            Data directory                              default ./plinth_data
  --db             Database URL (PostgreSQL; same as PLINTH_DATABASE_URL); SQLite in --dir when absent
  --migrationsDir  Migrations directory                        default plinth_migrations beside --dir
  --encryptionEnv  The environment variable holding the encryption keys  default PLINTH_ENCRYPTION_KEY
`;

export interface MigrateOptions {
  dataDir: string;
  migrationsDir: string;
  databaseUrl: string | undefined;
  /** The variable holding the keyring (`--encryptionEnv`); default PLINTH_ENCRYPTION_KEY. */
  encryptionEnv?: string;
}

export class MigrateUsageError extends Error {}

export async function runMigrateCommand(positional: string[], opts: MigrateOptions): Promise<number> {
  const [action, arg] = positional;
  if (action === 'create') {
    if (!arg) {
      process.stderr.write(`Error: missing migration name.\n\n${MIGRATE_HELP}`);
      return 2;
    }
    const file = writeBlankMigration(opts.migrationsDir, arg);
    process.stdout.write(`Created ${file}\n`);
    return 0;
  }
  if (!['up', 'down', 'collections'].includes(action ?? '')) {
    process.stderr.write(`Error: ${action ? `unknown migrate action "${action}"` : 'missing migrate action'}.\n\n${MIGRATE_HELP}`);
    return 2;
  }
  if (action !== 'down' && arg !== undefined) {
    process.stderr.write(`Error: "migrate ${action}" takes no further argument (got ${JSON.stringify(arg)}).\n`);
    return 2;
  }
  let count = 1;
  if (action === 'down' && arg !== undefined) {
    if (!/^\d{1,6}$/.test(arg) || Number(arg) < 1) {
      process.stderr.write('Error: "migrate down N" needs a positive whole number.\n');
      return 2;
    }
    count = Number(arg);
  }
  const app = await App.open({
    dataDir: opts.dataDir,
    migrationsDir: opts.migrationsDir,
    automigrate: false,
    applyMigrations: false,
    ...(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : {}),
    ...(opts.encryptionEnv ? { encryptionEnv: opts.encryptionEnv } : {}),
    logger: createLogger('warn'),
  });
  try {
    if (action === 'up') {
      const done = await migrateUp(app, opts.migrationsDir);
      process.stdout.write(done.length ? `Applied:\n${done.map((f) => `  ${f}`).join('\n')}\n` : 'No pending migrations.\n');
    } else if (action === 'down') {
      const done = await migrateDown(app, opts.migrationsDir, count);
      process.stdout.write(done.length ? `Reverted:\n${done.map((f) => `  ${f}`).join('\n')}\n` : 'Nothing to revert.\n');
    } else {
      const file = await writeCollectionsSnapshot(app, opts.migrationsDir);
      process.stdout.write(`Created ${file}\n`);
    }
    return 0;
  } finally {
    await app.close();
  }
}
