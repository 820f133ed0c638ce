/**
 * The collection registry: collections live as rows of `_collections`, are cached in memory for every
 * request, and every change runs its DDL and the row update in one transaction, so a failed change leaves
 * neither the schema nor the data half-changed.
 */
import type { Database, Executor } from '../db/dialect.js';
import { sql, type Sql } from '../db/sql.js';
import { AppError, fieldError, type FieldError } from '../errors/index.js';
import type { CollectionChangeEvent, HookBus } from '../hooks/index.js';
import { alterCollectionDdl, createCollectionDdl, dropCollectionDdl } from './ddl.js';
import type { Collection, RuleName, SchemaLookup } from './model.js';
import { systemCollections } from './system-collections.js';
import { normalizeCollection, validateCollection } from './validate-collection.js';
import { inferViewFields } from './view-fields.js';
import { mapSecretPaths, SecretBox } from '../util/secret-box.js';
import { COLLECTION_SECRET_PATHS } from './secret-paths.js';

/** Columns of `_collections` that hold top-level keys; everything else goes into `options`. */
const COLUMN_KEYS = [
  'id',
  'system',
  'type',
  'name',
  'fields',
  'indexes',
  'listRule',
  'viewRule',
  'createRule',
  'updateRule',
  'deleteRule',
  'created',
  'updated',
] as const;

interface CollectionRow {
  id: string;
  system: number;
  type: string;
  name: string;
  fields: string;
  indexes: string;
  listRule: string | null;
  viewRule: string | null;
  createRule: string | null;
  updateRule: string | null;
  deleteRule: string | null;
  options: string;
  created: string;
  updated: string;
}

export type RuleValidator = (
  collection: Collection,
  rule: RuleName | 'authRule' | 'manageRule' | 'mfaRule',
  expr: string,
  schema: SchemaLookup,
) => FieldError | null;

/** Where a schema change came from; `cluster`: another node made it (this one only reloads). */
export type ChangeSource = 'api' | 'migration' | 'bootstrap' | 'cluster';

export interface CollectionChange extends CollectionChangeEvent {
  source: ChangeSource;
}

export class CollectionStore implements SchemaLookup {
  private byId = new Map<string, Collection>();
  private byName = new Map<string, Collection>();
  /** Bumped on every change, so derived caches (compiled rules) know to rebuild. */
  version = 0;
  /** Set by the rules module at start-up, so rules are checked against the schema when saved. */
  ruleValidator: RuleValidator | null = null;
  /**
   * Seals COLLECTION_SECRET_PATHS in stored rows and opens them on load (set by the app before bootstrap).
   * Without one (tools that only rebuild the schema: restore, migrate-data) rows pass through as stored.
   */
  box: SecretBox | null = null;

  constructor(
    private readonly db: Database,
    private readonly hooks: HookBus,
  ) {}

  find(idOrName: string): Collection | undefined {
    // Names match case-insensitively; most requests already spell them as stored, so try that first.
    return this.byId.get(idOrName) ?? this.byName.get(idOrName) ?? this.byName.get(idOrName.toLowerCase());
  }

  all(): readonly Collection[] {
    return [...this.byId.values()];
  }

  /** Finds a collection or answers 404 (the same answer a forbidden collection gets). */
  require(idOrName: string): Collection {
    const c = this.find(idOrName);
    // The same answer as a record the rules hide: an unknown collection reveals nothing either.
    if (!c) throw AppError.notFound();
    return c;
  }

  /** Creates the internal tables and the system collections on a fresh database, then loads the cache. */
  async bootstrap(): Promise<void> {
    await this.db.transaction((tx) => createInternalTables(tx));
    await this.load();
    const missing = systemCollections().filter((c) => !this.byId.has(c.id));
    if (missing.length) {
      await this.db.transaction(async (tx) => {
        for (const c of missing) await this.insert(tx, c);
      });
      this.db.schemaChanged();
      await this.load();
    }
  }

  /** Reloads every collection from the database (also used when another node changed the schema). */
  async load(exec: Executor = this.db): Promise<void> {
    const rows = await exec.all<CollectionRow>(sql`SELECT * FROM _collections ORDER BY created, name`);
    const byId = new Map<string, Collection>();
    const byName = new Map<string, Collection>();
    for (const row of rows) {
      const c = rowToCollection(row, this.box);
      byId.set(c.id, c);
      byName.set(c.name.toLowerCase(), c);
    }
    this.byId = byId;
    this.byName = byName;
    this.version++;
  }

  /** Validates and creates a collection with its table. */
  async create(input: unknown, source: ChangeSource = 'api', exec: Executor = this.db): Promise<Collection> {
    const collection = normalizeCollection(input, undefined, this);
    await this.validate(collection, undefined, 'Failed to create collection.');
    await exec.transaction(async (tx) => {
      if (collection.type === 'view') collection.fields = await inferViewFields(tx, collection, this);
      await this.insert(tx, collection);
    });
    await this.afterChange({ action: 'create', collection, tags: [collection.id, collection.name], source }, exec);
    return this.require(collection.id);
  }

  /** Validates and applies a change (partial body merged over the current definition), keeping data. */
  async update(idOrName: string, input: unknown, source: ChangeSource = 'api', exec: Executor = this.db): Promise<Collection> {
    const before = this.require(idOrName);
    const after = normalizeCollection(input, before, this);
    await this.validate(after, before, 'Failed to update collection.');
    await exec.transaction(async (tx) => {
      if (after.type === 'view') after.fields = await inferViewFields(tx, after, this);
      for (const stmt of alterCollectionDdl(before, after, this.db.dialect)) await runDdl(tx, stmt);
      await tx.run(sql`DELETE FROM _collections WHERE id = ${before.id}`);
      await tx.run(insertRow(after, this.box));
    });
    await this.afterChange({ action: 'update', collection: after, previous: before, tags: [after.id, after.name], source }, exec);
    return this.require(after.id);
  }

  /** Deletes a collection and its table; refused for system collections and for referenced ones. */
  async delete(idOrName: string, source: ChangeSource = 'api', exec: Executor = this.db): Promise<void> {
    const collection = this.require(idOrName);
    if (collection.system) throw AppError.badRequest('System collections cannot be deleted.');
    const referencedBy = this.all().filter((c) => c.id !== collection.id && c.fields.some((f) => f.type === 'relation' && f.collectionId === collection.id));
    if (referencedBy.length) {
      throw AppError.badRequest(
        `The collection is referenced by relation fields in: ${referencedBy.map((c) => c.name).join(', ')}. Remove those fields first.`,
      );
    }
    await exec.transaction(async (tx) => {
      for (const stmt of dropCollectionDdl(collection)) await runDdl(tx, stmt);
      await tx.run(sql`DELETE FROM _collections WHERE id = ${collection.id}`);
    });
    await this.afterChange({ action: 'delete', collection, tags: [collection.id, collection.name], source }, exec);
  }

  /**
   * Imports many collections at once (PUT /api/collections/import): creates the new ones, updates the
   * existing ones (matched by id, then name), and with `deleteMissing` deletes the others (except system).
   * All or nothing: any failure rolls the whole import back.
   */
  async import(list: unknown, deleteMissing: boolean, source: ChangeSource = 'api', exec: Executor = this.db): Promise<void> {
    // An empty list would delete every collection with deleteMissing: PocketBase refuses it too.
    if (!Array.isArray(list) || list.length === 0)
      throw AppError.validation('Failed to import collections.', { collections: fieldError('validation_required', 'Must be a list of collections.') });
    const snapshot = this.snapshot();
    const changes: CollectionChange[] = [];
    try {
      await exec.transaction(async (tx) => {
        if (deleteMissing) {
          // PocketBase deletes the missing collections first (an imported one may reuse a deleted name):
          // views, then collections no remaining one points a relation at.
          const importedKeys = new Set<string>();
          for (const item of list) {
            const { id, name } = (item ?? {}) as { id?: unknown; name?: unknown };
            const match = (typeof id === 'string' && this.byId.get(id)) || (typeof name === 'string' && this.find(name)) || undefined;
            if (match) importedKeys.add(match.id);
          }
          let missing = this.all().filter((c) => !importedKeys.has(c.id) && !c.system);
          while (missing.length) {
            const ids = new Set(missing.map((c) => c.id));
            const next =
              missing.find((c) => c.type === 'view') ??
              missing.find(
                (c) => !missing.some((o) => o.id !== c.id && ids.has(o.id) && o.fields.some((f) => f.type === 'relation' && f.collectionId === c.id)),
              );
            const victim = next ?? missing[0]!;
            await this.delete(victim.id, 'migration', tx);
            changes.push({ action: 'delete', collection: victim, tags: [victim.id], source });
            missing = missing.filter((c) => c.id !== victim.id);
          }
        }
        for (const [i, item] of list.entries()) {
          changes.push(await this.importOne(item, i, source, tx, deleteMissing));
        }
      });
    } catch (err) {
      this.restore(snapshot);
      this.db.schemaChanged();
      throw err;
    }
    const announce = async () => {
      for (const change of changes) await this.hooks.onCollectionChange.trigger(change);
    };
    if (exec === this.db) await announce();
    else exec.afterCommit(() => void announce().catch(() => undefined));
  }

  /** One item of an import: updates the collection it names (by id, then name) or creates it. */
  private async importOne(item: unknown, index: number, source: ChangeSource, tx: Executor, deleteMissing: boolean): Promise<CollectionChange> {
    const id = typeof (item as { id?: unknown })?.id === 'string' ? (item as { id: string }).id : undefined;
    const name = typeof (item as { name?: unknown })?.name === 'string' ? (item as { name: string }).name : undefined;
    const existing = (id && this.byId.get(id)) || (name && this.find(name)) || undefined;
    try {
      if (existing) {
        const input: Record<string, unknown> = { ...(item as object), id: existing.id };
        if (existing.type !== 'view') input.fields = mergeImportedFields(existing, input.fields, deleteMissing);
        const updated = await this.update(existing.id, input, 'migration', tx);
        return { action: 'update', collection: updated, previous: existing, tags: [updated.id], source };
      }
      const created = await this.create(item, 'migration', tx);
      return { action: 'create', collection: created, tags: [created.id], source };
    } catch (err) {
      if (err instanceof AppError) {
        throw AppError.validation('Failed to import collections.', { collections: { [String(index)]: err.toEnvelope() } });
      }
      throw err;
    }
  }

  private async validate(collection: Collection, before: Collection | undefined, message: string): Promise<void> {
    const errors = validateCollection(collection, {
      schema: this,
      existing: before,
      validateRule: this.ruleValidator ? (c, rule, expr) => this.ruleValidator!(c, rule, expr, this.withCandidate(c)) : undefined,
    });
    if (errors) throw AppError.validation(message, errors);
  }

  /** The schema as it would be with `candidate` saved: rules may reference the collection's new fields. */
  private withCandidate(candidate: Collection): SchemaLookup {
    return {
      find: (idOrName) => (idOrName === candidate.id || idOrName.toLowerCase() === candidate.name.toLowerCase() ? candidate : this.find(idOrName)),
      all: () => [...this.all().filter((c) => c.id !== candidate.id), candidate],
    };
  }

  private async insert(tx: Executor, collection: Collection): Promise<void> {
    for (const stmt of createCollectionDdl(collection, this.db.dialect)) await runDdl(tx, stmt);
    await tx.run(insertRow(collection, this.box));
  }

  /**
   * Refreshes the cache (inside a transaction: from the transaction, so later steps see the change)
   * and announces the change once it is committed.
   */
  private async afterChange(change: CollectionChange, exec: Executor): Promise<void> {
    this.db.schemaChanged();
    await this.load(exec);
    if (exec === this.db) await this.hooks.onCollectionChange.trigger(change);
    else exec.afterCommit(() => void this.hooks.onCollectionChange.trigger(change).catch(() => undefined));
  }

  private snapshot(): [Map<string, Collection>, Map<string, Collection>] {
    return [new Map(this.byId), new Map(this.byName)];
  }
  private restore([byId, byName]: [Map<string, Collection>, Map<string, Collection>]): void {
    this.byId = byId;
    this.byName = byName;
    this.version++;
  }
}

/**
 * PocketBase's field merge on import over an existing collection: the imported fields, plus every existing
 * field they leave out (only the system ones with `deleteMissing`). A left-out field that the import
 * re-declares by name with the same type keeps its id, so its column (and data) survive.
 */
function mergeImportedFields(existing: Collection, imported: unknown, deleteMissing: boolean): unknown {
  if (imported !== undefined && !Array.isArray(imported)) return imported; // let validation answer it
  const list: Array<Record<string, unknown>> = Array.isArray(imported) ? imported.map((f) => (f && typeof f === 'object' ? { ...(f as object) } : f)) : [];
  for (const f of existing.fields) {
    if (!f.system && deleteMissing) continue;
    if (list.some((x) => x && x.id === f.id)) continue;
    const sameName = list.find((x) => x && typeof x.name === 'string' && x.name.toLowerCase() === f.name.toLowerCase());
    if (sameName) {
      if (sameName.type === f.type) sameName.id = f.id;
      continue;
    }
    list.push({ ...f });
  }
  return list;
}

/** Runs one DDL statement, turning database refusals (e.g. a view depending on a dropped column) into a 400. */
async function runDdl(tx: Executor, stmt: Sql): Promise<void> {
  try {
    await tx.run(stmt);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw AppError.badRequest(`The schema change was refused by the database: ${message.slice(0, 300)}`);
  }
}

function insertRow(c: Collection, box: SecretBox | null): Sql {
  let options: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) if (!(COLUMN_KEYS as readonly string[]).includes(k)) options[k] = v;
  if (box) {
    options = structuredClone(options);
    mapSecretPaths(options, COLLECTION_SECRET_PATHS, (v) => box.seal(v));
  }
  return sql`INSERT INTO _collections (id, system, type, name, fields, indexes, "listRule", "viewRule", "createRule", "updateRule", "deleteRule", options, created, updated)
    VALUES (${c.id}, ${c.system}, ${c.type}, ${c.name}, ${JSON.stringify(c.fields)}, ${JSON.stringify(c.indexes)},
      ${c.listRule}, ${c.viewRule}, ${c.createRule}, ${c.updateRule}, ${c.deleteRule}, ${JSON.stringify(options)}, ${c.created}, ${c.updated})`;
}

function rowToCollection(row: CollectionRow, box: SecretBox | null): Collection {
  const options = JSON.parse(row.options || '{}') as Record<string, unknown>;
  if (box) {
    // Plain values (a PocketBase data dir, older Plinth) stay as they are; the start re-seals them.
    mapSecretPaths(options, COLLECTION_SECRET_PATHS, (v, path) => (SecretBox.isSealed(v) ? box.open(v, `collection "${row.name}" ${path}`) : v));
  }
  return {
    ...options,
    id: row.id,
    name: row.name,
    type: row.type,
    system: Boolean(row.system),
    fields: JSON.parse(row.fields),
    indexes: JSON.parse(row.indexes),
    listRule: row.listRule,
    viewRule: row.viewRule,
    createRule: row.createRule,
    updateRule: row.updateRule,
    deleteRule: row.deleteRule,
    created: row.created,
    updated: row.updated,
  } as Collection;
}

/** The schema's own tables: collection definitions, settings and other params, applied migrations. */
export async function createInternalTables(exec: Executor): Promise<void> {
  await exec.run(sql`CREATE TABLE IF NOT EXISTS _collections (
    id TEXT PRIMARY KEY NOT NULL, system BOOLEAN DEFAULT FALSE NOT NULL, type TEXT DEFAULT 'base' NOT NULL,
    name TEXT UNIQUE NOT NULL, fields TEXT DEFAULT '[]' NOT NULL, indexes TEXT DEFAULT '[]' NOT NULL,
    "listRule" TEXT DEFAULT NULL, "viewRule" TEXT DEFAULT NULL, "createRule" TEXT DEFAULT NULL,
    "updateRule" TEXT DEFAULT NULL, "deleteRule" TEXT DEFAULT NULL, options TEXT DEFAULT '{}' NOT NULL,
    created TEXT DEFAULT '' NOT NULL, updated TEXT DEFAULT '' NOT NULL)`);
  await exec.run(sql`CREATE TABLE IF NOT EXISTS _params (
    id TEXT PRIMARY KEY NOT NULL, value TEXT DEFAULT NULL, created TEXT DEFAULT '' NOT NULL, updated TEXT DEFAULT '' NOT NULL)`);
  await exec.run(sql`CREATE TABLE IF NOT EXISTS _migrations (file TEXT PRIMARY KEY NOT NULL, applied BIGINT NOT NULL)`);
}
