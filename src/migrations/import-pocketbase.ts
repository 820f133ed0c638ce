/**
 * `plinth import-pocketbase --from=pb_data [--dir=plinth_data]`: copies a PocketBase v0.23+ data
 * directory into a new Plinth data directory, for users who want the original left untouched (Plinth can
 * also open a pb_data in place: docs/migrating-from-pocketbase.md). The databases (data.db,
 * auxiliary.db) are copied with SQLite's online backup API, so the copy is consistent even while
 * PocketBase is running; every other file (storage/ with its .attrs sidecars and thumbs, backups/, …) is
 * copied as it is. Refuses a target that exists and is not empty, a source that is not a v0.23+ data
 * directory, and the source itself as the target; a failed copy removes what it wrote.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import BetterSqlite3 from 'better-sqlite3';

export const HELP = `Copy a PocketBase (v0.23+) data directory into a new Plinth data directory.

Usage:
  plinth import-pocketbase --from=pb_data [--dir=./plinth_data]

Flags:
  --from   The PocketBase data directory (holds data.db; PocketBase may keep running)
  --dir    The new Plinth data directory: must not exist or be empty     default ./plinth_data

The original is only read. To use a pb_data directory in place instead: plinth serve --dir=pb_data.
`;

const DATABASES = ['data.db', 'auxiliary.db'];
/** SQLite's side files: the backup API copies their committed content into the new database. */
const SIDE_FILE = /^(data|auxiliary)\.db(-wal|-shm|-journal)?$/;

class ImportError extends Error {}

export async function run(argv: string[]): Promise<number> {
  let values: { from?: string | undefined; dir?: string | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { from: { type: 'string' }, dir: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`Error: ${(err as Error).message}\n\n${HELP}`);
    return 1;
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  try {
    const summary = await importPocketBase(values.from, values.dir ?? './plinth_data');
    process.stdout.write(
      `Copied ${summary.from} to ${summary.to}: ${summary.databases.join(', ')} and ${summary.files} other file(s).\n` +
        `Start it with: plinth serve --dir=${summary.to}\n`,
    );
    return 0;
  } catch (err) {
    if (!(err instanceof ImportError)) throw err;
    process.stderr.write(`Error: ${err.message}\n`);
    return 1;
  }
}

export interface ImportSummary {
  from: string;
  to: string;
  databases: string[];
  files: number;
}

export async function importPocketBase(fromArg: string | undefined, toArg: string): Promise<ImportSummary> {
  if (!fromArg) throw new ImportError('--from=DIR is required: the PocketBase data directory (pb_data).');
  const from = resolve(fromArg);
  const to = resolve(toArg);
  if (!existsSync(join(from, 'data.db'))) throw new ImportError(`${from} is not a PocketBase data directory (no data.db).`);
  checkVersion(join(from, 'data.db'));
  if (from === to || !relative(from, to).startsWith('..')) throw new ImportError('--dir must be outside the PocketBase data directory.');
  const existed = existsSync(to);
  if (existed && (!statSync(to).isDirectory() || readdirSync(to).length > 0)) {
    throw new ImportError(`${to} exists and is not empty: choose a new directory (nothing was written).`);
  }
  mkdirSync(to, { recursive: true });
  const databases: string[] = [];
  let files = 0;
  try {
    for (const name of DATABASES) {
      if (!existsSync(join(from, name))) continue;
      const source = new BetterSqlite3(join(from, name), { readonly: true, fileMustExist: true });
      try {
        await source.backup(join(to, name));
      } finally {
        source.close();
      }
      databases.push(name);
    }
    cpSync(from, to, {
      recursive: true,
      errorOnExist: true,
      force: false,
      filter: (src) => {
        if (src === from) return true;
        if (relative(from, src) === basename(src) && SIDE_FILE.test(basename(src))) return false;
        if (statSync(src).isFile()) files++;
        return true;
      },
    });
  } catch (err) {
    // Leave nothing half-copied behind.
    if (existed) for (const entry of readdirSync(to)) rmSync(join(to, entry), { recursive: true, force: true });
    else rmSync(to, { recursive: true, force: true });
    throw new ImportError(`The copy failed and was removed: ${(err as Error).message}`);
  }
  return { from, to, databases, files };
}

/** A v0.23+ data directory: `_collections` with PocketBase's `fields` column (older ones had `schema`). */
function checkVersion(file: string): void {
  let db: BetterSqlite3.Database | undefined;
  try {
    db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
    const columns = (db.prepare("SELECT name FROM pragma_table_info('_collections')").all() as { name: string }[]).map((c) => c.name);
    if (columns.length === 0) throw new ImportError(`${file} has no _collections table: not a PocketBase data directory.`);
    if (!columns.includes('fields')) {
      throw new ImportError(
        `${file} is from PocketBase before v0.23: start it once with PocketBase v0.23 or later (which upgrades the data directory), then import.`,
      );
    }
  } catch (err) {
    if (err instanceof ImportError) throw err;
    throw new ImportError(`Cannot read ${file}: ${(err as Error).message}`);
  } finally {
    db?.close();
  }
}
