/**
 * `plinth secrets status|rotate|decrypt` (docs/security.md): which key each stored secret is sealed with,
 * re-sealing every one with the first key of PLINTH_ENCRYPTION_KEY (one transaction), or writing the settings'
 * and collections' secrets back as plain text before going back to PocketBase. Opens the database only (no server).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openDatabase } from '../db/index.js';
import { StartupError } from '../errors/index.js';
import { resealSecrets, type SecretsReport } from '../secrets/index.js';
import { maskUrlCredentials } from '../util/mask-url.js';
import { DEFAULT_KEY_ENV, SecretBox, SecretKeyError } from '../util/secret-box.js';
import { parseCommand, UsageError, type CommandSpec } from './args.js';

export const SECRETS_COMMAND = {
  name: 'secrets',
  flags: { dir: 'string', db: 'string', encryptionEnv: 'string' },
  maxPositionals: 1,
} satisfies CommandSpec;

export const SECRETS_HELP = `Inspect and rotate the encryption of stored secrets (SMTP and S3 passwords, OAuth2 client
and token secrets of the collections, webhook signing secrets, authenticator-app secrets; docs/security.md).

Usage:
  plinth secrets status  [flags]   Which key each stored secret is encrypted with
  plinth secrets rotate  [flags]   Re-encrypt every stored secret with the first key of PLINTH_ENCRYPTION_KEY
                                   (settings, collections and webhook endpoints in one transaction)
  plinth secrets decrypt [flags]   Store the settings' and collections' secrets as plain text again, for going back
                                   to PocketBase (stop Plinth first: its next start encrypts them again)

PLINTH_ENCRYPTION_KEY holds one key or several, newest first: "new:KEY,old:KEY" (id:key, a key is 16+
characters). Without it, the key is the data dir's .encryption-key file (SQLite) or the _plinthKeys table.

Flags:
  --dir            Data directory (SQLite file and files)        default ./plinth_data
  --db             Database URL (PostgreSQL; same as PLINTH_DATABASE_URL); SQLite in --dir when absent
  --encryptionEnv  The environment variable holding the keys     default PLINTH_ENCRYPTION_KEY
`;

function summary(report: SecretsReport): string {
  const parts = Object.entries(report.byKey).map(([k, n]) => `${n} ${k === 'plain text' || k === 'pse1' ? k : `under key "${k}"`}`);
  return `${report.total} stored secret${report.total === 1 ? '' : 's'}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

export async function run(argv: string[]): Promise<number> {
  const { positional, flags, help } = parseCommand(argv, SECRETS_COMMAND);
  const [action] = positional;
  if (help || !action) {
    process.stdout.write(SECRETS_HELP);
    return help ? 0 : 2;
  }
  if (!['status', 'rotate', 'decrypt'].includes(action)) throw new UsageError(`Unknown secrets action "${action}".\n\n${SECRETS_HELP}`);
  const dataDir = resolve(typeof flags.dir === 'string' ? flags.dir : './plinth_data');
  const envUrl = process.env.PLINTH_DATABASE_URL;
  const url = typeof flags.db === 'string' ? flags.db : envUrl && envUrl !== '' ? envUrl : undefined;
  if (!url && !existsSync(join(dataDir, 'data.db')))
    throw new StartupError(`No Plinth database in ${dataDir} (give --dir=DIR, or --db=postgres://… for PostgreSQL).`);
  const keyEnv = typeof flags.encryptionEnv === 'string' ? flags.encryptionEnv : DEFAULT_KEY_ENV;
  if (flags.encryptionEnv !== undefined && !process.env[keyEnv]) throw new UsageError(`--encryptionEnv=${keyEnv}: that environment variable is not set.`);
  const db = await openDatabase({ url, dataDir, poolSize: 2 });
  try {
    // Before the key is loaded: loading makes one (a key file, a _plinthKeys table) where there is none, and a
    // mistyped --db would get a new key and an "every secret is encrypted" answer.
    if (!(await db.tableNames()).includes('_collections')) {
      throw new StartupError(`${url ? maskUrlCredentials(url) : join(dataDir, 'data.db')} is not a Plinth database (no _collections table).`);
    }
    const box = await SecretBox.load(db, dataDir, { name: keyEnv }).catch((err: unknown) => {
      throw err instanceof SecretKeyError ? err : new StartupError((err as Error).message, { cause: err });
    });
    if (action === 'status') {
      const report = await resealSecrets(db, box, { dryRun: true });
      process.stdout.write(`Keys (newest first): ${box.keyIds.map((id) => `"${id}"`).join(', ')}; new values are encrypted with "${box.primaryId}".\n`);
      process.stdout.write(`${summary(report)}.\n`);
      const stale = report.total - (report.byKey[box.primaryId] ?? 0);
      if (box.source !== 'env') process.stdout.write(`${box.describe()}\n`);
      process.stdout.write(
        stale === 0 ? 'Every stored secret is encrypted with the current key.\n' : `${stale} to re-encrypt: run "plinth secrets rotate" (or restart).\n`,
      );
      return 0;
    }
    const report = await resealSecrets(db, box, action === 'decrypt' ? { decrypt: true } : {});
    if (action === 'decrypt') {
      process.stdout.write(`${summary(report)}; ${report.changed} written back as plain text (webhook and authenticator-app secrets stay encrypted).\n`);
      return 0;
    }
    process.stdout.write(`${summary(report)}; ${report.changed} re-encrypted with key "${box.primaryId}".\n`);
    const unused = box.keyIds.filter((id) => id !== box.primaryId && id !== box.storedKeyId);
    if (unused.length)
      process.stdout.write(`No stored secret needs ${unused.map((id) => `"${id}"`).join(', ')} any more: remove it from ${keyEnv} on every node.\n`);
    if (box.source === 'env' && box.storedKeyAt)
      process.stdout.write(`The stored key (${box.storedKeyAt}) is no longer needed either; delete it once every node runs with ${keyEnv}.\n`);
    return 0;
  } catch (err) {
    if (err instanceof SecretKeyError) throw new StartupError(err.message, { cause: err });
    throw err;
  } finally {
    await db.close();
  }
}
