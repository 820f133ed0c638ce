/**
 * `plinth doctor`: checks an installation and says what is wrong and what to do (docs/deploy.md#plinth-doctor).
 * The data dir (exists, readable and writable, free disk, file permissions), the database (reachable, SQLite's
 * integrity check and WAL size, PostgreSQL's version, Plinth's tables, migrations applied), the encryption key
 * (present, opens every stored secret), SMTP (connect + EHLO, and AUTH when configured, without sending), S3
 * (one signed list request per configured bucket), clock skew (against PostgreSQL's clock and the S3
 * endpoint's Date header) and settings sanity (application URL, trusted proxy, rate limits, a superuser).
 *
 * It only reads: it opens no App (no migrations, no cron, no key created), and works while `plinth serve`
 * runs. One line per check (ok / warn / FAIL, with the fix), or `--json`; exit code 1 when a check FAILs.
 */
import { accessSync, constants, existsSync, readdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Database } from '../db/dialect.js';
import { sql, type Sql } from '../db/sql.js';
import { sqliteDialect } from '../db/dialects/sqlite/sqlite-dialect.js';
import { defaultSettings, type S3Settings, type Settings } from '../settings/settings.js';
import { listMigrationFiles } from '../migrations/migrations.js';
import { smtpConnection } from '../mail/index.js';
import { maskUrlCredentials } from '../util/mask-url.js';
import { DEFAULT_KEY_ENV, parseKeyring, SecretBox } from '../util/secret-box.js';
import { parseCommand, type CommandSpec } from './args.js';

export const DOCTOR_HELP = `Check an installation: data dir, database, encryption key, SMTP, S3, clock and settings.

Usage:
  plinth doctor [--dir=./plinth_data] [--db=URL] [--migrationsDir=DIR] [--json]

Prints one line per check (ok, warn or FAIL, with what to do) and exits 1 when a check FAILs. It only
reads, so it can run beside a running server.

Flags:
  --dir            Data directory                                 default ./plinth_data
  --db             PostgreSQL URL (same as PLINTH_DATABASE_URL); SQLite in --dir when absent
  --migrationsDir  Migration files                                default plinth_migrations beside --dir
  --json           One JSON object: { ok, failures, warnings, checks: [{ name, status, message, fix? }] }
  -h, --help       Show this help
`;

export const DOCTOR_COMMAND = {
  name: 'doctor',
  flags: { dir: 'string', db: 'string', migrationsDir: 'string', json: 'boolean' },
} satisfies CommandSpec;

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  message: string;
  /** What to do about a warn or a fail. */
  fix?: string;
}

export interface DoctorOptions {
  dataDir: string;
  databaseUrl?: string | undefined;
  migrationsDir: string;
  env?: NodeJS.ProcessEnv;
  /** Time allowed for each network check (default 5 s). */
  timeoutMs?: number;
}

/** Free space under which the data dir FAILs / warns. */
const DISK_FAIL_BYTES = 100 * 1024 ** 2;
const DISK_WARN_BYTES = 1024 ** 3;
/** A WAL this big means checkpoints cannot finish (a reader that never lets go). */
const WAL_WARN_BYTES = 256 * 1024 ** 2;
/** Clock skew: warn above, FAIL above (S3 refuses signatures past 15 minutes; tokens and cron drift long before). */
const SKEW_WARN_MS = 2000;
const SKEW_FAIL_MS = 60_000;
const MIN_POSTGRES = 150000;

const ok = (name: string, message: string): CheckResult => ({ name, status: 'ok', message });
const warn = (name: string, message: string, fix: string): CheckResult => ({ name, status: 'warn', message, fix });
const fail = (name: string, message: string, fix: string): CheckResult => ({ name, status: 'fail', message, fix });

function errorText(err: unknown): string {
  const e = err as { message?: unknown; code?: unknown };
  const message = typeof e?.message === 'string' && e.message ? e.message.split('\n')[0] : String(err);
  return typeof e?.code === 'string' && !String(message).includes(e.code) ? `${message} (${e.code})` : String(message);
}

function formatBytes(n: number): string {
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(0)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(0)} MB`;
  return `${(n / 1024 ** 3).toFixed(1)} GB`;
}

/** Runs every check; never throws (a check that cannot run is itself a result). */
export async function runDoctor(options: DoctorOptions): Promise<CheckResult[]> {
  const env = options.env ?? process.env;
  const timeoutMs = options.timeoutMs ?? 5000;
  const results: CheckResult[] = [];
  const dir = resolve(options.dataDir);
  const postgresUrl = options.databaseUrl && !options.databaseUrl.startsWith('sqlite:') ? options.databaseUrl : undefined;

  const dirUsable = checkDataDir(dir, results);
  if (dirUsable) {
    await checkDisk(dir, results);
    checkPermissions(dir, results);
  }

  // The database.
  let db: Database | undefined;
  try {
    db = postgresUrl ? await openPostgresChecked(postgresUrl, results, timeoutMs) : dirUsable ? openSqliteChecked(dir, results) : undefined;
    if (!db && !postgresUrl && !dirUsable) results.push(warn('database', 'not checked: the data dir is not usable', 'fix the data dir first'));
    if (db) await checkDatabaseContents(db, results, options.migrationsDir, dir, env, timeoutMs, postgresUrl !== undefined);
    else {
      for (const name of ['encryption key', 'smtp', 's3', 'clock', 'settings'])
        results.push(warn(name, 'not checked: the database cannot be read', 'fix the database first'));
    }
  } finally {
    await db?.close().catch(() => undefined);
  }
  return results;
}

function checkDataDir(dir: string, results: CheckResult[]): boolean {
  const name = 'data dir';
  if (!existsSync(dir)) {
    results.push(fail(name, `${dir} does not exist`, 'point --dir at the data directory (plinth serve creates it on first start)'));
    return false;
  }
  if (!statSync(dir).isDirectory()) {
    results.push(fail(name, `${dir} is not a directory`, 'point --dir at the data directory'));
    return false;
  }
  try {
    readdirSync(dir);
  } catch (err) {
    results.push(fail(name, `${dir} cannot be read: ${errorText(err)}`, `give the user running Plinth access: chown -R <user> ${dir}`));
    return false;
  }
  const probe = join(dir, `.plinth-doctor-${process.pid}`);
  try {
    writeFileSync(probe, '');
    unlinkSync(probe);
  } catch (err) {
    results.push(
      fail(name, `${dir} is not writable: ${errorText(err)}`, `give the user running Plinth write access: chown -R <user> ${dir} (or mount it read-write)`),
    );
    return false;
  }
  results.push(ok(name, `${dir} is a readable, writable directory`));
  return true;
}

async function checkDisk(dir: string, results: CheckResult[]): Promise<void> {
  const name = 'disk space';
  try {
    const s = await statfs(dir);
    const free = s.bavail * s.bsize;
    const total = s.blocks * s.bsize;
    const share = total > 0 ? free / total : 1;
    const text = `${formatBytes(free)} free of ${formatBytes(total)} (${Math.round(share * 100)}%)`;
    if (free < DISK_FAIL_BYTES) results.push(fail(name, text, 'free disk space now: SQLite writes and backups fail on a full disk'));
    else if (free < DISK_WARN_BYTES || share < 0.05)
      results.push(warn(name, text, 'free disk space or grow the volume (backups need about the size of the data)'));
    else results.push(ok(name, text));
  } catch (err) {
    results.push(warn(name, `cannot measure: ${errorText(err)}`, 'check the volume with df'));
  }
}

/**
 * The files Plinth keeps in the data dir: readable and writable by this user (FAIL otherwise); not readable by
 * every local user (the databases hold password hashes and token keys; warn); the key file private.
 */
function checkPermissions(dir: string, results: CheckResult[]): void {
  const name = 'file permissions';
  const problems: string[] = [];
  const fixes: string[] = [];
  let failed = false;
  const uid = process.getuid?.();
  const dirOpen = (statSync(dir).mode & 0o005) === 0o005; // others may list and enter it
  const exposed: string[] = [];
  for (const file of ['data.db', 'data.db-wal', 'auxiliary.db', '.encryption-key']) {
    const path = join(dir, file);
    if (!existsSync(path)) continue;
    const st = statSync(path);
    try {
      accessSync(path, constants.R_OK | constants.W_OK);
    } catch {
      failed = true;
      problems.push(`${file} is not readable and writable by this user`);
      fixes.push(`chown <user> ${path}`);
      continue;
    }
    if (uid !== undefined && uid !== 0 && st.uid !== uid) problems.push(`${file} belongs to uid ${st.uid}, not to this user (${uid})`);
    if (file === '.encryption-key' && (st.mode & 0o077) !== 0) {
      problems.push(`.encryption-key is readable by others (mode ${(st.mode & 0o777).toString(8)})`);
      fixes.push(`chmod 600 ${path}`);
    } else if (dirOpen && (st.mode & 0o004) !== 0) exposed.push(file);
  }
  if (exposed.length) {
    problems.push(`${exposed.join(', ')} ${exposed.length === 1 ? 'is' : 'are'} readable by every user of this machine`);
    fixes.push(`chmod 700 ${dir} (the systemd unit's UMask=0027 and StateDirectoryMode=0750 do this)`);
  }
  if (problems.length === 0) results.push(ok(name, 'the databases and the key file are private'));
  else if (failed) results.push(fail(name, problems.join('; '), fixes.join('; ')));
  else results.push(warn(name, problems.join('; '), fixes.length ? fixes.join('; ') : 'run doctor as the user that runs plinth serve'));
}

function openSqliteChecked(dir: string, results: CheckResult[]): Database | undefined {
  const file = join(dir, 'data.db');
  if (!existsSync(file)) {
    results.push(fail('database', `no SQLite database in ${dir} (data.db is missing)`, 'point --dir at the data dir, or --db at PostgreSQL'));
    return undefined;
  }
  try {
    return new ReadOnlySqlite(file) as unknown as Database;
  } catch (err) {
    results.push(fail('database', `data.db cannot be opened: ${errorText(err)}`, 'check the file permissions and that it is a Plinth data dir'));
    return undefined;
  }
}

/**
 * A read-only SQLite connection with the few Database methods doctor uses: Plinth's own SqliteDatabase would
 * open a writer and set the journal mode.
 */
class ReadOnlySqlite {
  readonly dialect = { name: 'sqlite' as const };
  readonly conn: BetterSqlite3.Database;
  constructor(readonly file: string) {
    this.conn = new BetterSqlite3(file, { readonly: true, fileMustExist: true, timeout: 5000 });
  }
  async all<T>(query: Sql): Promise<T[]> {
    const { text, params } = sqliteDialect.compile(query);
    return this.conn.prepare(text).all(...params) as T[];
  }
  async get<T>(query: Sql): Promise<T | undefined> {
    return (await this.all<T>(query))[0];
  }
  async close(): Promise<void> {
    this.conn.close();
  }
}

async function openPostgresChecked(url: string, results: CheckResult[], timeoutMs: number): Promise<Database | undefined> {
  const name = 'database';
  const shown = maskUrlCredentials(url);
  if (!/^postgres(ql)?:\/\//.test(url)) {
    results.push(fail(name, `unsupported database URL ${shown}`, 'use postgres://user:password@host:5432/db, or leave --db out for SQLite'));
    return undefined;
  }
  const { PostgresDatabase } = await import('../db/dialects/postgres/postgres-database.js');
  const db = new PostgresDatabase({ url, poolSize: 2, connectTimeoutMs: timeoutMs, statementTimeoutMs: 60_000 });
  try {
    const row = await db.get<{ v: string; version: string }>(sql`SELECT current_setting('server_version_num') AS v, version() AS version`);
    const num = Number(row?.v);
    const short = String(row?.version ?? '').split(' on ')[0];
    if (num < MIN_POSTGRES) {
      results.push(fail(name, `${shown}: ${short} is too old`, 'Plinth needs PostgreSQL 15 or newer: upgrade the server'));
      return db;
    }
    results.push(ok(name, `${shown} is reachable: ${short}`));
    return db;
  } catch (err) {
    await db.close().catch(() => undefined);
    const text = errorText(err);
    const fix = /password authentication|no pg_hba|role .* does not exist/i.test(text)
      ? 'check the user and password in the URL, and pg_hba.conf'
      : /database .* does not exist/i.test(text)
        ? 'create the database (createdb) or fix its name in the URL'
        : 'check the host and port in the URL, that PostgreSQL runs and that the network (firewall, security group) lets this host in';
    results.push(fail(name, `cannot connect to ${shown}: ${text}`, fix));
    return undefined;
  }
}

async function tableExists(db: Database | ReadOnlySqlite, table: string): Promise<boolean> {
  if (db.dialect.name === 'sqlite') return (await db.get(sql`SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = ${table}`)) !== undefined;
  const row = await db.get<{ t: string | null }>(sql`SELECT to_regclass(${`public."${table}"`})::text AS t`);
  return row?.t != null;
}

async function checkDatabaseContents(
  dbIn: Database | ReadOnlySqlite,
  results: CheckResult[],
  migrationsDir: string,
  dir: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
  postgres: boolean,
): Promise<void> {
  const db = dbIn as Database;
  if (!postgres) {
    const sqliteOk = await checkSqlite(dbIn as ReadOnlySqlite, dir, results);
    if (!sqliteOk) {
      for (const name of ['migrations', 'encryption key', 'smtp', 's3', 'clock', 'settings'])
        results.push(warn(name, 'not checked: the database cannot be read', 'fix the database first'));
      return;
    }
  }
  if (!(await tableExists(dbIn, '_collections'))) {
    results.push(
      warn(
        'tables',
        "the database has none of Plinth's tables yet",
        'plinth serve creates them on first start (or check --db / --dir point at the right database)',
      ),
    );
    return;
  }
  await checkMigrations(db, migrationsDir, results);
  const raw = await db.get<{ value: string }>(sql`SELECT value FROM _params WHERE id = ${'settings'}`).catch(() => undefined);
  let stored: unknown = {};
  try {
    stored = raw ? JSON.parse(raw.value) : {};
  } catch {
    results.push(fail('settings', 'the stored settings are not valid JSON', 'save the settings again in the dashboard (Settings)'));
  }
  const box = await checkEncryptionKey(dbIn, dir, env, stored, results, postgres);
  const settings = mergeOverDefaults(defaultSettings(), openSealed(stored, box)) as Settings;
  const skews: { source: string; ms: number }[] = [];
  if (postgres) skews.push({ source: 'PostgreSQL', ms: await postgresSkew(db) });
  await checkSmtp(settings, results, timeoutMs);
  await checkS3('s3', 'file storage', settings.s3, results, timeoutMs, skews);
  await checkS3('backups s3', 'backups', settings.backups.s3, results, timeoutMs, skews);
  checkClock(skews, results);
  checkSettings(settings, results);
  const superusers = await db.get<{ n: number | string }>(sql`SELECT COUNT(*) AS n FROM _superusers`).catch(() => undefined);
  if (superusers === undefined) results.push(fail('superuser', 'the _superusers table cannot be read', 'start plinth serve once to create it'));
  else if (Number(superusers.n) === 0)
    results.push(
      warn('superuser', 'no superuser yet: nobody can use the dashboard', `plinth superuser upsert EMAIL PASSWORD --dir=${dir}${postgres ? ' --db=…' : ''}`),
    );
  else results.push(ok('superuser', `${superusers.n} superuser${Number(superusers.n) === 1 ? '' : 's'}`));
}

async function checkSqlite(db: ReadOnlySqlite, dir: string, results: CheckResult[]): Promise<boolean> {
  const name = 'database';
  try {
    const conn = db.conn;
    const rows = conn.pragma('integrity_check') as { integrity_check: string }[];
    const problems = rows.map((r) => r.integrity_check).filter((r) => r !== 'ok');
    const mode = String(conn.pragma('journal_mode', { simple: true }));
    const walFile = join(dir, 'data.db-wal');
    const wal = existsSync(walFile) ? statSync(walFile).size : 0;
    const size = statSync(db.file).size;
    if (problems.length) {
      results.push(
        fail(
          name,
          `data.db fails SQLite's integrity check: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? ` (+${problems.length - 3} more)` : ''}`,
          'stop the server and restore the latest backup (plinth backup restore), or recover with sqlite3 .recover',
        ),
      );
      return false;
    }
    const text = `SQLite data.db: integrity ok, ${formatBytes(size)}, journal ${mode}, WAL ${formatBytes(wal)}`;
    if (wal > WAL_WARN_BYTES)
      results.push(warn(name, text, 'the WAL is not being checkpointed: look for a long-running reader (an open SQL console, a backup tool) and restart it'));
    else if (mode !== 'wal') results.push(warn(name, text, 'plinth serve switches data.db to WAL on start; something changed it back'));
    else results.push(ok(name, text));
  } catch (err) {
    const text = errorText(err);
    results.push(
      fail(
        name,
        `data.db cannot be read: ${text}`,
        /not a database|malformed/i.test(text)
          ? 'restore the latest backup (plinth backup restore)'
          : 'check the file permissions and that it is a Plinth data dir',
      ),
    );
    return false;
  }
  const aux = join(dir, 'auxiliary.db');
  if (existsSync(aux)) {
    try {
      const conn = new BetterSqlite3(aux, { readonly: true, fileMustExist: true, timeout: 5000 });
      try {
        const res = String(conn.pragma('quick_check', { simple: true }));
        if (res !== 'ok')
          results.push(
            warn('request logs', `auxiliary.db fails the quick check: ${res}`, 'stop the server and delete auxiliary.db (it holds only request logs)'),
          );
        else results.push(ok('request logs', `auxiliary.db ok, ${formatBytes(statSync(aux).size)}`));
      } finally {
        conn.close();
      }
    } catch (err) {
      results.push(
        warn('request logs', `auxiliary.db cannot be read: ${errorText(err)}`, 'stop the server and delete auxiliary.db (it holds only request logs)'),
      );
    }
  }
  return true;
}

async function checkMigrations(db: Database, migrationsDir: string, results: CheckResult[]): Promise<void> {
  const name = 'migrations';
  try {
    const rows = await db.all<{ file: string }>(sql`SELECT file FROM _migrations`);
    const applied = new Set(rows.map((r) => r.file));
    const files = listMigrationFiles(migrationsDir);
    const pending = files.filter((f) => !applied.has(f.file)).map((f) => f.file);
    if (pending.length)
      results.push(
        warn(
          name,
          `${pending.length} of ${files.length} file${files.length === 1 ? '' : 's'} in ${migrationsDir} not applied: ${pending.slice(0, 3).join(', ')}${pending.length > 3 ? ', …' : ''}`,
          'plinth serve applies them at start; or run plinth migrate up',
        ),
      );
    else results.push(ok(name, `${rows.length} applied; ${files.length ? `all ${files.length} files in ${migrationsDir}` : `no files in ${migrationsDir}`}`));
  } catch (err) {
    results.push(fail(name, `the _migrations table cannot be read: ${errorText(err)}`, 'start plinth serve once (it creates it), or check --db'));
  }
}

/** The box the server would use, found without creating anything; and whether every sealed secret opens. */
async function checkEncryptionKey(
  db: Database | ReadOnlySqlite,
  dir: string,
  env: NodeJS.ProcessEnv,
  stored: unknown,
  results: CheckResult[],
  postgres: boolean,
): Promise<SecretBox | undefined> {
  const name = 'encryption key';
  const sealed: string[] = [];
  collectSealed(stored, sealed);
  if (await tableExists(db, '_webhooks')) {
    const rows = await (db as Database).all<{ secrets: string }>(sql`SELECT secrets FROM "_webhooks"`).catch(() => []);
    for (const r of rows) if (SecretBox.isSealed(r.secrets)) sealed.push(r.secrets);
  }
  if (await tableExists(db, '_totp')) {
    const rows = await (db as Database).all<{ secret: string }>(sql`SELECT secret FROM _totp`).catch(() => []);
    for (const r of rows) if (SecretBox.isSealed(r.secret)) sealed.push(r.secret);
  }
  const fromEnv = env.PLINTH_ENCRYPTION_KEY;
  let box: SecretBox | undefined;
  let source: string;
  if (fromEnv !== undefined && fromEnv !== '') {
    try {
      parseKeyring(fromEnv);
    } catch (err) {
      results.push(fail(name, errorText(err), 'set it to a long random value, e.g. openssl rand -hex 32 (the same on every node); docs/security.md'));
      return undefined;
    }
    source = 'PLINTH_ENCRYPTION_KEY';
  } else if (!postgres) {
    source = `${join(dir, '.encryption-key')}`;
    if (!existsSync(join(dir, '.encryption-key'))) {
      if (sealed.length)
        results.push(
          fail(
            name,
            `${sealed.length} stored secret${sealed.length === 1 ? '' : 's'} but no key: neither PLINTH_ENCRYPTION_KEY nor ${source}`,
            'restore .encryption-key from where the data dir came from, or set the PLINTH_ENCRYPTION_KEY it used',
          ),
        );
      else results.push(ok(name, 'no secrets stored yet; plinth serve creates the key file on first start'));
      return undefined;
    }
  } else {
    source = 'the _plinthKeys table';
    if (!(await tableExists(db, '_plinthKeys'))) {
      if (sealed.length)
        results.push(
          fail(name, `${sealed.length} stored secrets but no key in the database and no PLINTH_ENCRYPTION_KEY`, 'set the PLINTH_ENCRYPTION_KEY the nodes use'),
        );
      else
        results.push(
          warn(name, 'no key yet (created on first start, inside the database)', 'set PLINTH_ENCRYPTION_KEY on every node to keep the key out of the database'),
        );
      return undefined;
    }
  }
  try {
    box = await SecretBox.load(db as Database, dir, { name: DEFAULT_KEY_ENV, value: fromEnv ?? '' });
  } catch (err) {
    results.push(
      fail(name, `the key in ${source} cannot be used: ${errorText(err)}`, 'restore the key (or set PLINTH_ENCRYPTION_KEY to the value in use before)'),
    );
    return undefined;
  }
  let bad = 0;
  for (const s of sealed) {
    try {
      box.open(s);
    } catch {
      bad++;
    }
  }
  if (bad)
    results.push(
      fail(
        name,
        `${bad} of ${sealed.length} stored secret${sealed.length === 1 ? '' : 's'} do not open with the key from ${source}`,
        'set PLINTH_ENCRYPTION_KEY back to the value they were sealed with (the same on every node), or enter those secrets again',
      ),
    );
  else if (postgres && source === 'the _plinthKeys table')
    results.push(
      warn(
        name,
        `key in ${source}; ${sealed.length} secret${sealed.length === 1 ? '' : 's'} open with it`,
        'set PLINTH_ENCRYPTION_KEY so a dump of the database does not carry its own key',
      ),
    );
  else results.push(ok(name, `key from ${source}; ${sealed.length} stored secret${sealed.length === 1 ? '' : 's'} open with it`));
  return box;
}

function collectSealed(value: unknown, out: string[]): void {
  if (typeof value === 'string') {
    if (SecretBox.isSealed(value)) out.push(value);
  } else if (Array.isArray(value)) for (const v of value) collectSealed(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) collectSealed(v, out);
}

/** The settings with sealed values opened (a value that does not open stays as it is; the key check said so). */
function openSealed(value: unknown, box: SecretBox | undefined): unknown {
  if (typeof value === 'string' && box && SecretBox.isSealed(value)) {
    try {
      return box.open(value);
    } catch {
      return value;
    }
  }
  if (Array.isArray(value)) return value.map((v) => openSealed(v, box));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, openSealed(v, box)]));
  return value;
}

function mergeOverDefaults(base: unknown, over: unknown): unknown {
  if (typeof base !== 'object' || base === null || Array.isArray(base)) return over === undefined || typeof over !== typeof base ? base : over;
  if (typeof over !== 'object' || over === null || Array.isArray(over)) return base;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over as Record<string, unknown>)) out[k] = k in out ? mergeOverDefaults(out[k], v) : v;
  return out;
}

async function checkSmtp(settings: Settings, results: CheckResult[], timeoutMs: number): Promise<void> {
  const name = 'smtp';
  const smtp = settings.smtp;
  if (!smtp.enabled) {
    results.push(
      warn(name, 'not configured: verification, password-reset, OTP and alert mails are not sent', 'set it up in the dashboard: Settings → Mail (SMTP)'),
    );
    return;
  }
  const where = `${smtp.host}:${smtp.port}`;
  const { createTransport } = await import('nodemailer');
  const transport = createTransport({
    ...smtpConnection(smtp),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs * 2,
    logger: false,
  });
  try {
    await transport.verify();
    results.push(ok(name, `${where} answers EHLO${smtp.username ? ` and accepts the login of ${smtp.username}` : ''} (nothing sent)`));
  } catch (err) {
    const e = err as { code?: string; responseCode?: number };
    const text = errorText(err);
    const fix =
      e.code === 'EAUTH'
        ? 'check the SMTP username, password and auth method in Settings → Mail (SMTP)'
        : e.code === 'ESOCKET' && /wrong version number|ssl/i.test(text)
          ? 'the TLS setting does not match the port: implicit TLS is usually 465, STARTTLS 587'
          : 'check the SMTP host and port in Settings → Mail (SMTP), and that outbound connections to it are allowed';
    results.push(fail(name, `${where}: ${text}`, fix));
  } finally {
    transport.close();
  }
}

/** One signed `ListObjectsV2` (max-keys=1) on the bucket: credentials, bucket and endpoint in one request. */
async function checkS3(
  name: string,
  what: string,
  s3: S3Settings,
  results: CheckResult[],
  timeoutMs: number,
  skews: { source: string; ms: number }[],
): Promise<void> {
  if (!s3.enabled) {
    results.push(ok(name, `off (${what} on the local disk)`));
    return;
  }
  if (!s3.bucket) {
    results.push(fail(name, `enabled for ${what} but no bucket is set`, 'set the bucket in Settings → Files storage / Backups'));
    return;
  }
  const [{ S3Client }, { signRequest, EMPTY_SHA256, canonicalQuery }] = await Promise.all([import('../files/s3/client.js'), import('../files/s3/sigv4.js')]);
  let target: { url: string; host: string; path: string };
  const region = s3.region.trim() || 'us-east-1';
  try {
    target = new S3Client({ ...s3, timeoutMs }).objectUrl('');
  } catch (err) {
    results.push(fail(name, `the endpoint ${s3.endpoint} is not usable: ${errorText(err)}`, 'use https://host[:port] as the endpoint'));
    return;
  }
  const query = { 'list-type': '2', 'max-keys': '1' };
  const headers = signRequest(
    { method: 'GET', host: target.host, path: target.path, query, payloadHash: EMPTY_SHA256 },
    { accessKey: s3.accessKey, secret: s3.secret, region },
  );
  const sent = Date.now();
  let res: Response;
  try {
    res = await fetch(`${target.url}?${canonicalQuery(query)}`, { headers, signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    results.push(fail(name, `${target.url}: ${errorText(cause ?? err)}`, 'check the endpoint and that outbound HTTPS to it is allowed'));
    return;
  }
  const received = Date.now();
  const date = res.headers.get('date');
  // HTTP dates have whole seconds: the server's clock is somewhere in [date, date + 1 s).
  if (date && !Number.isNaN(Date.parse(date))) {
    const mid = (sent + received) / 2;
    const server = Date.parse(date);
    const skew = mid < server ? mid - server : mid > server + 1000 ? mid - (server + 1000) : 0;
    skews.push({ source: `${what} S3 endpoint`, ms: skew });
  }
  const body = await res.text().catch(() => '');
  const code = /<Code>([^<]+)<\/Code>/.exec(body)?.[1] ?? `HTTP ${res.status}`;
  if (res.ok) {
    results.push(ok(name, `bucket ${s3.bucket} at ${new URL(target.url).origin} can be listed (${what})`));
    return;
  }
  const fix =
    code === 'NoSuchBucket'
      ? 'create the bucket, or fix its name and region'
      : code === 'RequestTimeTooSkewed'
        ? "fix this machine's clock (NTP)"
        : res.status === 403 || code === 'SignatureDoesNotMatch' || code === 'InvalidAccessKeyId'
          ? 'check the access key and secret, and that the key may list the bucket (s3:ListBucket)'
          : res.status >= 300 && res.status < 400
            ? 'the region or addressing style is wrong: set the region the bucket is in, or force path-style'
            : 'check the endpoint, region and bucket';
  results.push(fail(name, `bucket ${s3.bucket}: ${code}`, fix));
}

/** This machine's clock minus PostgreSQL's, measured around one round trip. */
async function postgresSkew(db: Database): Promise<number> {
  const sent = Date.now();
  const row = await db.get<{ ms: string | number }>(sql`SELECT (extract(epoch from clock_timestamp()) * 1000)::float8 AS ms`);
  const received = Date.now();
  return (sent + received) / 2 - Number(row?.ms);
}

function checkClock(skews: { source: string; ms: number }[], results: CheckResult[]): void {
  const name = 'clock';
  if (skews.length === 0) {
    results.push(ok(name, 'nothing to compare with (SQLite, no S3)'));
    return;
  }
  const worst = skews.reduce((a, b) => (Math.abs(b.ms) > Math.abs(a.ms) ? b : a));
  const text = skews.map((s) => `${Math.abs(s.ms) < 1000 ? `${Math.round(s.ms)} ms` : `${(s.ms / 1000).toFixed(1)} s`} off ${s.source}`).join(', ');
  const fix = 'run NTP on every host (timedatectl set-ntp true, chrony): tokens, cron runs and S3 signatures depend on it';
  if (Math.abs(worst.ms) > SKEW_FAIL_MS) results.push(fail(name, text, fix));
  else if (Math.abs(worst.ms) > SKEW_WARN_MS) results.push(warn(name, text, fix));
  else results.push(ok(name, text));
}

function checkSettings(s: Settings, results: CheckResult[]): void {
  let url: URL | undefined;
  try {
    url = new URL(s.meta.appURL);
  } catch {
    url = undefined;
  }
  const local = url && /^(localhost|127\.\d+\.\d+\.\d+|\[::1\]|0\.0\.0\.0)$/.test(url.hostname);
  if (!url) results.push(fail('app url', `"${s.meta.appURL}" is not a URL`, 'set Settings → Application → URL to the address users open'));
  else if (local)
    results.push(
      warn(
        'app url',
        `${s.meta.appURL}: links in mails (verification, password reset) point at this machine`,
        'set Settings → Application → URL to the public address',
      ),
    );
  else if (url.protocol !== 'https:')
    results.push(warn('app url', `${s.meta.appURL} is not https`, 'serve it over TLS (docs/deploy.md#tls) and use the https:// URL'));
  else results.push(ok('app url', s.meta.appURL));

  const proxy = s.trustedProxy;
  if (proxy.headers.length === 0)
    results.push(
      ok('trusted proxy', 'no proxy headers trusted: client IPs are the connecting address (behind a load balancer, set trustedProxy.headers: docs/deploy.md)'),
    );
  else if (proxy.useLeftmostIP)
    results.push(
      warn(
        'trusted proxy',
        `${proxy.headers.join(', ')} trusted, leftmost IP: a client can choose its own IP unless the proxy replaces the header`,
        'use the rightmost IP (useLeftmostIP off) unless your proxy overwrites the header',
      ),
    );
  else results.push(ok('trusted proxy', `${proxy.headers.join(', ')} trusted (rightmost IP)`));

  const rl = s.rateLimits;
  if (!rl.enabled)
    results.push(
      warn('rate limits', 'off: password guessing and API floods are not slowed', 'turn them on in Settings → Rate limiting (the default limits *:auth)'),
    );
  else if (!rl.rules.some((r) => /auth/i.test(r.label)))
    results.push(
      warn(
        'rate limits',
        `${rl.rules.length} rule${rl.rules.length === 1 ? '' : 's'}, none for the auth endpoints`,
        'add a rule such as *:auth (2 requests per 3 s)',
      ),
    );
  else results.push(ok('rate limits', `on, ${rl.rules.length} rule${rl.rules.length === 1 ? '' : 's'}`));
}

/** The report as text: one line per check, then a summary line. */
export function formatReport(results: CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length));
  let out = '';
  for (const r of results) {
    const label = r.status === 'fail' ? 'FAIL' : r.status;
    out += `${label.padEnd(4)}  ${r.name.padEnd(width)}  ${r.message}${r.fix ? ` → ${r.fix}` : ''}\n`;
  }
  const failures = results.filter((r) => r.status === 'fail').length;
  const warnings = results.filter((r) => r.status === 'warn').length;
  out += `\n${failures ? `${failures} check${failures === 1 ? '' : 's'} failed` : 'No failures'}, ${warnings} warning${warnings === 1 ? '' : 's'}.\n`;
  return out;
}

export async function run(argv: string[]): Promise<number> {
  const { flags, help } = parseCommand(argv, DOCTOR_COMMAND);
  if (help) {
    process.stdout.write(DOCTOR_HELP);
    return 0;
  }
  const dataDir = resolve(typeof flags.dir === 'string' ? flags.dir : './plinth_data');
  const url = typeof flags.db === 'string' ? flags.db : process.env.PLINTH_DATABASE_URL;
  const results = await runDoctor({
    dataDir,
    databaseUrl: url && url !== '' ? url : undefined,
    migrationsDir: typeof flags.migrationsDir === 'string' ? resolve(flags.migrationsDir) : join(dataDir, '..', 'plinth_migrations'),
  });
  const failures = results.filter((r) => r.status === 'fail').length;
  if (flags.json === true) {
    const warnings = results.filter((r) => r.status === 'warn').length;
    process.stdout.write(`${JSON.stringify({ ok: failures === 0, failures, warnings, checks: results }, null, 2)}\n`);
  } else process.stdout.write(formatReport(results));
  return failures ? 1 : 0;
}
