/**
 * PostgreSQL backups: a plain-SQL logical dump of the database made with `pg_dump` (a consistent snapshot
 * by design: one repeatable-read transaction, writers are not blocked), restored with `psql` into an EMPTY
 * database. Both tools are looked up on PATH (or PLINTH_PG_DUMP / PLINTH_PSQL); without them a PostgreSQL
 * backup is refused with a message saying what to install.
 */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { finished } from 'node:stream';
import { BadArchiveError } from './zip.js';

export class ToolMissingError extends Error {}

function tool(name: 'pg_dump' | 'psql'): string {
  const env = name === 'pg_dump' ? process.env.PLINTH_PG_DUMP : process.env.PLINTH_PSQL;
  return env && env !== '' ? env : name;
}

/** libpq takes the URL as is; the password never appears in messages. */
function hidePassword(text: string): string {
  return text.replace(/\/\/[^@/\s]*@/g, '//***@');
}

function run(cmd: string, args: string[], opts: { stdoutTo?: string; input?: string } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', opts.stdoutTo ? 'pipe' : 'ignore', 'pipe'], env: { ...process.env, PGCONNECT_TIMEOUT: '10' } });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      if (stderr.length < 4000) stderr += c.toString('utf8');
    });
    let out: ReturnType<typeof createWriteStream> | undefined;
    let outError: Error | undefined;
    if (opts.stdoutTo && child.stdout) {
      out = createWriteStream(opts.stdoutTo, { flags: 'wx' });
      out.on('error', (err) => {
        outError = err;
        // The pipe stops at the error: drain what is left, or the child's 'close' never comes.
        child.stdout?.resume();
        child.kill();
      });
      child.stdout.pipe(out);
    }
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT')
        reject(
          new ToolMissingError(
            `${cmd} was not found on PATH: install the PostgreSQL client tools (same major version as the server) or set PLINTH_PG_DUMP / PLINTH_PSQL.`,
          ),
        );
      else reject(err);
    });
    child.on('close', (code) => {
      const finish = (fileError?: Error | null) => {
        if (outError ?? fileError) reject(outError ?? fileError);
        else if (code === 0) resolve();
        else reject(new Error(`${cmd} failed (exit ${code}): ${hidePassword(stderr.trim()).slice(0, 1000)}`));
      };
      // finished() calls back on the file's finish or its error (a full disk): end(cb) would never call back
      // for a file that failed after the pipe had already ended it.
      if (out) finished(out, (err) => finish(err));
      else finish();
    });
  });
}

/** Dumps the database at `url` into `file` (plain SQL, no owners or privileges, so any role can restore it). */
export async function pgDump(url: string, file: string): Promise<void> {
  await run(tool('pg_dump'), ['--format=plain', '--no-owner', '--no-privileges', '--encoding=UTF8', `--dbname=${url}`], { stdoutTo: file });
}

/** Whether a plain-SQL dump creates Plinth's `_collections` table (read line by line, stopping at the first). */
async function isPlinthDump(file: string): Promise<boolean> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of lines) if (/^CREATE TABLE (public\.)?"?_collections"? \(/.test(line)) return true;
    return false;
  } finally {
    lines.close();
  }
}

/**
 * Loads a dump into the database at `url`, which must be empty (no tables in `public`): checked first,
 * then the whole file runs in one transaction with ON_ERROR_STOP, so a failure leaves it empty.
 */
export async function pgRestore(url: string, file: string): Promise<void> {
  if (!(await isPlinthDump(file))) {
    throw new BadArchiveError('The dump is not a Plinth backup (it creates no _collections table): nothing was restored.');
  }
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(`SELECT COUNT(*) AS n FROM pg_tables WHERE schemaname = 'public'`);
    if (Number(rows[0]?.n ?? 0) > 0) {
      throw new BadArchiveError('The target PostgreSQL database is not empty: restore a backup only into a new, empty database.');
    }
  } finally {
    await client.end();
  }
  await run(tool('psql'), ['--no-psqlrc', '--quiet', '--set=ON_ERROR_STOP=1', '--single-transaction', `--file=${file}`, `--dbname=${url}`]);
}
