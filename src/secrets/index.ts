/**
 * Every secret stored at rest, in one place (docs/security.md): the settings row's SECRET_PATHS, each
 * collection's COLLECTION_SECRET_PATHS (OAuth2 client secrets, token secrets), each webhook endpoint's signing secrets
 * and each authenticator-app (TOTP) enrolment's shared secret.
 * `resealSecrets` opens all of them (a value no configured key opens is a SecretKeyError naming it and its
 * key id) and re-seals, in ONE transaction, those stored in plain text or under an older key. The app runs it
 * at every start (so plain-text secrets of a PocketBase data dir or an older Plinth get encrypted, and a new
 * first key in PLINTH_ENCRYPTION_KEY takes over); `plinth secrets rotate|status|decrypt` run it by hand.
 *
 * Rows are updated only when they still hold what was read (compare-and-set), so a node re-sealing at start
 * never overwrites a change another node made meanwhile. The plain text in memory does not change, so no
 * node has to reload anything.
 */
import { COLLECTION_SECRET_PATHS } from '../collections/secret-paths.js';
import type { Database, Executor } from '../db/dialect.js';
import { sql } from '../db/sql.js';
import { SECRET_PATHS } from '../settings/index.js';
import { mapSecretPaths, SecretBox } from '../util/secret-box.js';

export interface SecretsReport {
  /** Stored secrets found (non-empty values). */
  total: number;
  /** How many were re-sealed (or, with `decrypt`, written back as plain text). */
  changed: number;
  /** Stored secrets per key id before the run: a key id, `plain text`, or `pse1` (sealed before key ids). */
  byKey: Record<string, number>;
}

export interface ResealOptions {
  /** Only count (status): nothing is written. */
  dryRun?: boolean;
  /** Write settings and collection secrets back as plain text (before going back to PocketBase). */
  decrypt?: boolean;
}

const PLAIN = 'plain text';
const LEGACY = 'pse1';

export async function resealSecrets(db: Database, box: SecretBox, options: ResealOptions = {}): Promise<SecretsReport & { resealed: number }> {
  const tables = new Set(await db.tableNames());
  const report: SecretsReport = { total: 0, changed: 0, byKey: {} };
  const visit = (value: string, where: string, decryptable: boolean): string => {
    const id = SecretBox.keyIdOf(value);
    const label = id === null ? PLAIN : id === '' ? LEGACY : id;
    report.byKey[label] = (report.byKey[label] ?? 0) + 1;
    report.total++;
    const plain = id === null ? value : box.open(value, where);
    if (options.decrypt) {
      if (id === null || !decryptable) return value;
      report.changed++;
      return plain;
    }
    if (!box.isStale(value)) return value;
    report.changed++;
    return box.seal(plain);
  };
  await db.transaction(async (tx) => {
    if (tables.has('_params')) await resealSettings(tx, box, visit, options);
    if (tables.has('_collections')) await resealCollections(tx, visit, options);
    if (tables.has('_webhooks')) await resealWebhooks(tx, visit, options);
    if (tables.has('_totp')) await resealTotp(tx, visit, options);
  });
  return { ...report, resealed: options.dryRun ? 0 : report.changed };
}

type Visit = (value: string, where: string, decryptable: boolean) => string;

async function resealSettings(tx: Executor, box: SecretBox, visit: Visit, options: ResealOptions): Promise<void> {
  const row = await tx.get<{ value: string }>(sql`SELECT value FROM _params WHERE id = 'settings'`);
  if (!row || typeof row.value !== 'string') return;
  let parsed: unknown;
  let changed = false;
  try {
    parsed = JSON.parse(row.value);
  } catch {
    // PocketBase's --encryptionEnv row: stored from now on as Plinth stores settings (plain JSON, secrets sealed).
    const plain = box.openPocketBaseSettings(row.value);
    if (plain === null || options.decrypt) return;
    try {
      parsed = JSON.parse(plain);
    } catch {
      return;
    }
    changed = true;
  }
  mapSecretPaths(parsed, SECRET_PATHS, (v, path) => {
    const out = visit(v, `the setting ${path}`, true);
    changed ||= out !== v;
    return out;
  });
  if (changed && !options.dryRun) await tx.run(sql`UPDATE _params SET value = ${JSON.stringify(parsed)} WHERE id = 'settings' AND value = ${row.value}`);
}

async function resealCollections(tx: Executor, visit: Visit, options: ResealOptions): Promise<void> {
  const rows = await tx.all<{ id: string; name: string; options: string }>(sql`SELECT id, name, options FROM _collections ORDER BY created, id`);
  for (const row of rows) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(row.options || '{}');
    } catch {
      continue;
    }
    let changed = false;
    mapSecretPaths(parsed, COLLECTION_SECRET_PATHS, (v, path) => {
      const out = visit(v, `collection "${row.name}" ${path}`, true);
      changed ||= out !== v;
      return out;
    });
    if (changed && !options.dryRun) {
      await tx.run(sql`UPDATE _collections SET options = ${JSON.stringify(parsed)} WHERE id = ${row.id} AND options = ${row.options}`);
    }
  }
}

async function resealWebhooks(tx: Executor, visit: Visit, options: ResealOptions): Promise<void> {
  const rows = await tx.all<{ id: string; secrets: string }>(sql`SELECT id, secrets FROM "_webhooks" ORDER BY created, id`);
  for (const row of rows) {
    // Only Plinth reads webhook endpoints: `decrypt` leaves them sealed (the webhook service needs them so).
    const out = visit(row.secrets, `the signing secrets of webhook endpoint ${row.id}`, false);
    if (out !== row.secrets && !options.dryRun) await tx.run(sql`UPDATE "_webhooks" SET secrets = ${out} WHERE id = ${row.id} AND secrets = ${row.secrets}`);
  }
}

async function resealTotp(tx: Executor, visit: Visit, options: ResealOptions): Promise<void> {
  const rows = await tx.all<{ collectionRef: string; recordRef: string; secret: string }>(
    sql`SELECT "collectionRef", "recordRef", secret FROM _totp ORDER BY "collectionRef", "recordRef"`,
  );
  for (const row of rows) {
    if (row.secret === '') continue;
    // PocketBase has no TOTP: `decrypt` leaves these sealed, as the webhook secrets.
    const out = visit(row.secret, `the authenticator-app secret of record ${row.recordRef}`, false);
    if (out !== row.secret && !options.dryRun) {
      await tx.run(
        sql`UPDATE _totp SET secret = ${out} WHERE "collectionRef" = ${row.collectionRef} AND "recordRef" = ${row.recordRef} AND secret = ${row.secret}`,
      );
    }
  }
}
