/**
 * `plinth typegen`: writes the schema's TypeScript types to a file (see generate.ts for what is in it).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { App } from '../app.js';
import { createLogger } from '../util/logger.js';
import { defaultTypesFile, writeTypes } from './index.js';

export const HELP = `Write TypeScript types for every collection (record shapes, select values, relations and
expand, auth fields, create/update inputs, TypedPocketBase for the pocketbase SDK, and the CollectionRecords
hook files use).

Usage:
  plinth typegen [--out=FILE] [--dir=./plinth_data] [--db=URL]

Flags:
  --out   Output file                          default plinth-types.d.ts beside --dir (the current directory)
  --dir   Data directory (SQLite)              default ./plinth_data
  --db    Database URL (PostgreSQL; same as PLINTH_DATABASE_URL); SQLite in --dir when absent

A .d.ts output needs neither pocketbase nor plinth installed when skipLibCheck is on; name the file .ts to get
a runtime Collections enum. "plinth serve --dev" rewrites plinth-types.d.ts after every schema change.
`;

/** Runs the command; returns the exit code (0 ok, 1 failure, 2 usage). */
export async function run(argv: string[]): Promise<number> {
  let values: { out?: string; dir?: string; db?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { out: { type: 'string' }, dir: { type: 'string' }, db: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`Error: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  for (const name of ['out', 'dir', 'db'] as const) {
    if (values[name] === '') {
      process.stderr.write(`Error: --${name} needs a value.\n`);
      return 2;
    }
  }
  const dataDir = resolve(values.dir ?? './plinth_data');
  const envUrl = process.env.PLINTH_DATABASE_URL;
  const databaseUrl = values.db ?? (envUrl && envUrl !== '' ? envUrl : undefined);
  if (!databaseUrl && !existsSync(join(dataDir, 'data.db'))) {
    process.stderr.write(`Error: no Plinth database in ${dataDir} (give --dir=DIR, or --db=postgres://… for PostgreSQL).\n`);
    return 1;
  }
  const out = resolve(values.out ?? defaultTypesFile(dataDir));
  let app: App;
  try {
    app = await App.open({ dataDir, ...(databaseUrl ? { databaseUrl } : {}), applyMigrations: false, automigrate: false, logger: createLogger('warn') });
  } catch (err) {
    process.stderr.write(`Error: could not open the database: ${(err as Error).message.split('\n')[0]}\n`);
    return 1;
  }
  try {
    const changed = writeTypes(app, out);
    const count = app.collections.all().length;
    process.stdout.write(`${changed ? 'Wrote' : 'Unchanged:'} ${out} (${count} collections)\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`Error: could not write ${out}: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await app.close();
  }
}
