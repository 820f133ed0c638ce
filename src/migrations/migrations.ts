/**
 * Migrations: ES module files in `plinth_migrations/` exporting `up(app)` and `down(app)`.
 *
 * - Every schema change made through the API writes one (PocketBase's automigrate), already marked as
 *   applied here, so another instance reproduces the change with `plinth migrate up`.
 * - `serve` applies pending migrations at start, each in its own transaction, recorded in `_migrations`.
 * - Files hold collection JSON without token secrets (each instance keeps or generates its own).
 */
import { mkdirSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { App } from '../app.js';
import type { Collection } from '../collections/model.js';
import type { CollectionChange } from '../collections/store.js';
import type { Executor } from '../db/dialect.js';
import { sql } from '../db/sql.js';
import { AppError } from '../errors/index.js';
import { publicCollection } from '../collections/public.js';
import { formatDateTime } from '../util/datetime.js';

/** What a migration's `up`/`down` receive. */
export interface MigrationApi {
  /** Creates the collection, or replaces the definition of the one with the same id (data kept). */
  saveCollection(definition: Record<string, unknown>): Promise<void>;
  deleteCollection(idOrName: string): Promise<void>;
  /** Imports many at once; with deleteMissing, non-system collections not listed are deleted. */
  importCollections(definitions: unknown[], deleteMissing: boolean): Promise<void>;
  findCollection(idOrName: string): Collection | undefined;
}

export interface MigrationFile {
  file: string;
  path: string;
}

const FILE_RE = /^\d+_[\w-]+\.(js|mjs)$/;

export function listMigrationFiles(dir: string): MigrationFile[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => FILE_RE.test(f))
    .sort()
    .map((file) => ({ file, path: join(dir, file) }));
}

function api(app: App, tx: Executor): MigrationApi {
  return {
    saveCollection: async (definition) => {
      const id = typeof definition.id === 'string' ? definition.id : undefined;
      if (id && app.collections.find(id)) await app.collections.update(id, definition, 'migration', tx);
      else await app.collections.create(definition, 'migration', tx);
    },
    deleteCollection: async (idOrName) => {
      if (app.collections.find(idOrName)) await app.collections.delete(idOrName, 'migration', tx);
    },
    importCollections: (definitions, deleteMissing) => app.collections.import(definitions, deleteMissing, 'migration', tx),
    findCollection: (idOrName) => app.collections.find(idOrName),
  };
}

/** What `GET /api/plinth/migrations` answers: the folder, what ran (oldest first) and what has not yet. */
export interface MigrationStatus {
  dir: string;
  /** Every migration recorded as applied on this database (its file may be gone from `dir`). */
  applied: { file: string; applied: string }[];
  /** Files in `dir` not applied yet. */
  pending: string[];
}

export async function migrationStatus(app: App, dir: string): Promise<MigrationStatus> {
  const rows = await app.db.all<{ file: string; applied: number | string }>(sql`SELECT file, applied FROM _migrations ORDER BY applied, file`);
  const done = new Set(rows.map((r) => r.file));
  return {
    dir,
    applied: rows.map((r) => ({ file: r.file, applied: formatDateTime(new Date(Number(r.applied))) })),
    pending: listMigrationFiles(dir)
      .map((m) => m.file)
      .filter((f) => !done.has(f)),
  };
}

async function appliedSet(app: App): Promise<Set<string>> {
  const rows = await app.db.all<{ file: string }>(sql`SELECT file FROM _migrations`);
  return new Set(rows.map((r) => r.file));
}

async function load(path: string): Promise<{ up?: (a: MigrationApi) => unknown; down?: (a: MigrationApi) => unknown }> {
  return import(pathToFileURL(path).href);
}

/** The advisory lock that serializes applying migration files across PostgreSQL nodes. */
const MIGRATIONS_LOCK = 7201148910;

/** Applies every pending migration in order; returns the applied file names (not those another node applied meanwhile). */
export async function migrateUp(app: App, dir: string): Promise<string[]> {
  const applied = await appliedSet(app);
  const done: string[] = [];
  for (const m of listMigrationFiles(dir)) {
    if (applied.has(m.file)) continue;
    const mod = await load(m.path);
    if (typeof mod.up !== 'function') throw new Error(`Migration ${m.file} has no up() export.`);
    let appliedElsewhere = false;
    try {
      await app.db.transaction(async (tx) => {
        // PostgreSQL nodes starting together: one applies each file, the others wait for it and then skip it.
        if (app.db.dialect.name === 'postgres') {
          await tx.run(sql`SELECT pg_advisory_xact_lock(${MIGRATIONS_LOCK})`);
          appliedElsewhere = (await tx.get(sql`SELECT 1 AS x FROM _migrations WHERE file = ${m.file}`)) !== undefined;
          if (appliedElsewhere) return;
        }
        await mod.up!(api(app, tx));
        await tx.run(sql`INSERT INTO _migrations (file, applied) VALUES (${m.file}, ${Date.now()})`);
      });
    } finally {
      await app.collections.load(); // the committed schema, whether or not the migration went through
    }
    if (!appliedElsewhere) done.push(m.file);
  }
  return done;
}

/** Reverts the last `count` applied migrations (newest first). */
export async function migrateDown(app: App, dir: string, count = 1): Promise<string[]> {
  const rows = await app.db.all<{ file: string }>(sql`SELECT file FROM _migrations ORDER BY applied DESC, file DESC LIMIT ${count}`);
  const done: string[] = [];
  for (const { file } of rows) {
    const path = join(dir, file);
    if (!existsSync(path)) throw new Error(`Migration file ${file} is missing from ${dir}; cannot revert it.`);
    const mod = await load(path);
    if (typeof mod.down !== 'function') throw new Error(`Migration ${file} has no down() export.`);
    try {
      await app.db.transaction(async (tx) => {
        await mod.down!(api(app, tx));
        await tx.run(sql`DELETE FROM _migrations WHERE file = ${file}`);
      });
    } finally {
      await app.collections.load();
    }
    done.push(file);
  }
  return done;
}

/** Collection JSON for a migration file: public shape (no secrets). */
function snapshot(c: Collection): Record<string, unknown> {
  return publicCollection(c);
}

function timestamp(): string {
  return String(Math.floor(Date.now() / 1000));
}

function render(description: string, up: string, down: string): string {
  return `// ${description}\n// Generated by Plinth. Apply with \`plinth migrate up\`; revert with \`plinth migrate down\`.\n\n/** @param {import('plinth').MigrationApi} app */\nexport async function up(app) {\n${up}\n}\n\n/** @param {import('plinth').MigrationApi} app */\nexport async function down(app) {\n${down}\n}\n`;
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/\n/g, '\n  ');
}

let lastStamp = '';
let stampSeq = 0;
/**
 * Unique file names whose text order is their creation order, even for several changes within one
 * second: `<unix seconds><3-digit sequence>_<name>.js` (the sequence always present, so `…000_b` sorts
 * after `…999_a` of the previous second and before `…001_c` of the same one).
 */
function fileName(stem: string): string {
  const ts = timestamp();
  stampSeq = ts === lastStamp ? stampSeq + 1 : 0;
  lastStamp = ts;
  const safe = stem.replace(/[^\w-]/g, '_').slice(0, 80);
  return `${ts}${String(stampSeq).padStart(3, '0')}_${safe}.js`;
}

/** Writes a migration for an API schema change and records it as applied here. */
export async function writeChangeMigration(app: App, dir: string, change: CollectionChange): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const c = change.collection;
  let up: string;
  let down: string;
  if (change.action === 'create') {
    up = `  await app.saveCollection(${json(snapshot(c))});`;
    down = `  await app.deleteCollection(${JSON.stringify(c.id)});`;
  } else if (change.action === 'update') {
    up = `  await app.saveCollection(${json(snapshot(c))});`;
    down = `  await app.saveCollection(${json(snapshot(change.previous as Collection))});`;
  } else {
    up = `  await app.deleteCollection(${JSON.stringify(c.id)});`;
    down = `  await app.saveCollection(${json(snapshot(c))});`;
  }
  const file = fileName(`${change.action}d_${c.name}`);
  writeFileSync(join(dir, file), render(`${change.action} collection "${c.name}"`, up, down));
  await app.db.run(sql`INSERT INTO _migrations (file, applied) VALUES (${file}, ${Date.now()})`);
  return file;
}

/** `plinth migrate create NAME`: an empty migration to fill in. */
export function writeBlankMigration(dir: string, name: string): string {
  if (!/^[\w-]{1,80}$/.test(name)) throw AppError.badRequest('The migration name may only contain letters, digits, _ and -.');
  mkdirSync(dir, { recursive: true });
  const file = fileName(name);
  writeFileSync(join(dir, file), render(name, '  // your changes here', '  // revert them here'));
  return file;
}

/** `plinth migrate collections`: a snapshot of every collection, importable on an empty instance. */
export async function writeCollectionsSnapshot(app: App, dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const all = app.collections.all().map(snapshot);
  const file = fileName('collections_snapshot');
  writeFileSync(
    join(dir, file),
    render('snapshot of all collections', `  await app.importCollections(${json(all)}, false);`, '  // a snapshot cannot be reverted automatically'),
  );
  await app.db.run(sql`INSERT INTO _migrations (file, applied) VALUES (${file}, ${Date.now()})`);
  return file;
}

/** Hooks automigrate into the app: API schema changes write migration files. */
export function enableAutomigrate(app: App, dir: string): void {
  app.hooks.onCollectionChange.bind(
    async (event, next) => {
      const change = event as CollectionChange;
      if (change.source === 'api') await writeChangeMigration(app, dir, change);
      await next();
    },
    { id: 'automigrate' },
  );
}
