/**
 * The PostgreSQL backup format used when `pg_dump` is not available (or PLINTH_BACKUP_PG_FORMAT=json):
 * every table of the instance as JSON lines (`postgres_tables/<table>.jsonl`, one `row_to_json` per line),
 * read in ONE repeatable-read, read-only transaction (a consistent snapshot; writers are not blocked).
 * The schema is not dumped: a restore rebuilds it from Plinth's own definitions (internal tables, then each
 * collection's table or view from the dumped `_collections` rows, as `migrate-data` does) and loads the rows
 * with `json_populate_recordset`, so PostgreSQL itself converts every value back to its column's type. All
 * in one transaction into an empty database.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { ensureApiKeyTable } from '../auth/api-keys.js';
import { ensureTotpTable } from '../auth/totp.js';
import { createCollectionDdl } from '../collections/ddl.js';
import type { Collection } from '../collections/model.js';
import { CollectionStore, createInternalTables } from '../collections/store.js';
import type { Database, Executor } from '../db/dialect.js';
import { ident, openDatabase, sql } from '../db/index.js';
import { HookBus } from '../hooks/index.js';
import { BadArchiveError } from './zip.js';

export const PG_TABLES_DIR = 'postgres_tables';
const MANIFEST = '_manifest.json';
/** Tables outside the collections that belong to an instance (per-node or throw-away ones are left out). */
const INTERNAL_TABLES = ['_collections', '_params', '_migrations', '_totp', '_apiKeys', '_plinthKeys'];
const ROWS_PER_INSERT = 500;

interface Manifest {
  format: 'plinth-postgres-json-1';
  tables: Array<{ name: string; rows: number }>;
}

/** Writes the JSON-lines dump of `db` (whose collections are `collections`) into `dir`. */
export async function dumpJson(db: Database, collections: readonly Collection[], dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const existing = new Set(await db.tableNames());
  const tables = [
    ...INTERNAL_TABLES.filter((t) => existing.has(t)),
    ...collections.filter((c) => c.type !== 'view' && existing.has(c.name)).map((c) => c.name),
  ];
  const manifest: Manifest = { format: 'plinth-postgres-json-1', tables: [] };
  await db.transaction(async (tx) => {
    await tx.run(sql`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY`);
    for (const table of tables) {
      const out = createWriteStream(join(dir, `${table}.jsonl`), { flags: 'wx' });
      const failed = once(out, 'error').then(([err]) => {
        throw err;
      });
      let rows = 0;
      let after = '(0,0)';
      // Keyset paging on ctid: stable inside the snapshot, no sort, bounded memory.
      for (;;) {
        const page = await tx.all<{ j: string; c: string }>(
          sql`SELECT row_to_json(t)::text AS j, t.ctid::text AS c FROM ${ident(table)} t WHERE t.ctid > ${after}::tid ORDER BY t.ctid LIMIT 1000`,
        );
        if (page.length === 0) break;
        const ok = out.write(page.map((r) => r.j).join('\n') + '\n');
        if (!ok) await Promise.race([once(out, 'drain'), failed]);
        rows += page.length;
        after = page[page.length - 1]?.c as string;
      }
      out.end();
      await Promise.race([once(out, 'finish'), failed]);
      manifest.tables.push({ name: table, rows });
    }
  });
  await writeFile(join(dir, MANIFEST), JSON.stringify(manifest, null, 2));
}

async function* jsonLines(path: string): AsyncGenerator<string> {
  const rl = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  for await (const line of rl) if (line.trim() !== '') yield line;
}

/** Loads a JSON-lines dump from `dir` into the EMPTY PostgreSQL database at `url`. */
export async function restoreJson(url: string, dir: string, dataDir: string): Promise<void> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(join(dir, MANIFEST), 'utf8')) as Manifest;
    if (manifest.format !== 'plinth-postgres-json-1' || !Array.isArray(manifest.tables)) throw new Error('unknown format');
  } catch (err) {
    throw new BadArchiveError(`The backup's ${PG_TABLES_DIR}/${MANIFEST} is missing or invalid (${(err as Error).message}).`);
  }
  const names = manifest.tables.map((t) => t.name);
  if (!names.includes('_collections')) throw new BadArchiveError('The backup has no _collections table.');
  for (const n of names) if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(n)) throw new BadArchiveError(`Invalid table name "${n.slice(0, 80)}" in the backup.`);

  const db = await openDatabase({ url, dataDir, poolSize: 2 });
  try {
    if ((await db.tableNames()).length > 0)
      throw new BadArchiveError('The target PostgreSQL database is not empty: restore a backup only into a new, empty database.');
    await db.transaction(async (tx) => {
      await createInternalTables(tx);
      await ensureTotpTable(tx);
      await ensureApiKeyTable(tx);
      // The stored encryption key, so the secrets in `_params` and `_collections` open (util/secret-box.ts).
      if (names.includes('_plinthKeys')) await tx.run(sql`CREATE TABLE "_plinthKeys" (name TEXT PRIMARY KEY NOT NULL, "key" TEXT NOT NULL)`);
      const expected = manifest.tables.find((t) => t.name === '_collections')?.rows;
      if ((await loadTable(tx, dir, '_collections')) !== expected) throw new BadArchiveError('Row count mismatch in "_collections". Nothing was committed.');
      const store = new CollectionStore(tx as unknown as Database, new HookBus());
      await store.load(tx);
      const collections = store.all();
      for (const c of [...collections.filter((c) => c.type !== 'view'), ...collections.filter((c) => c.type === 'view')]) {
        for (const statement of createCollectionDdl(c, db.dialect)) await tx.run(statement);
      }
      for (const t of manifest.tables) {
        if (t.name === '_collections') continue;
        const n = await loadTable(tx, dir, t.name);
        if (n !== t.rows) throw new BadArchiveError(`Row count mismatch in "${t.name}": ${t.rows} in the backup, ${n} loaded. Nothing was committed.`);
      }
    });
  } finally {
    await db.close();
  }
}

async function loadTable(tx: Executor, dir: string, table: string): Promise<number> {
  let batch: string[] = [];
  let n = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const json = `[${batch.join(',')}]`;
    await tx.run(sql`INSERT INTO ${ident(table)} SELECT * FROM json_populate_recordset(NULL::${ident(table)}, ${json}::json)`);
    n += batch.length;
    batch = [];
  };
  for await (const line of jsonLines(join(dir, `${table}.jsonl`))) {
    batch.push(line);
    if (batch.length >= ROWS_PER_INSERT) await flush();
  }
  await flush();
  return n;
}
