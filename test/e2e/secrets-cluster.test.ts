/**
 * Key rotation on a PostgreSQL cluster, in the order docs/security.md gives: two nodes on one database; the
 * new key reaches every node second in the list, then first (the first node restarted that way re-encrypts
 * every stored secret while the other still runs and keeps following settings changes), then the old key
 * goes. A node that lacks the key another node encrypts with keeps the settings it has, and cannot start.
 * Always on PostgreSQL, whatever PLINTH_TEST_DB says: a cluster needs a shared database.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { App } from '../../src/app.js';
import { sql } from '../../src/db/sql.js';
import { StartupError } from '../../src/errors/index.js';
import { silentLogger, type Logger } from '../../src/util/logger.js';
import pino from 'pino';
import { createTempDatabase, type TempDatabase } from '../helpers/postgres.js';

const OLD = 'old:the old cluster key 0123';
const NEW = 'new:the new cluster key 4567';
const NEWER = 'newer:the newer cluster key 89';

async function within(ms: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > ms) throw new Error(`not true within ${ms} ms`);
    await sleep(20);
  }
}

describe('key rotation on a PostgreSQL cluster', () => {
  let db: TempDatabase;
  let dir: string;
  const open: App[] = [];
  const node = async (name: string, encryptionKey: string, logger: Logger = silentLogger()): Promise<App> => {
    const app = await App.open({
      dataDir: join(dir, name, 'data'),
      migrationsDir: join(dir, 'migrations'),
      databaseUrl: db.url,
      poolSize: 3,
      encryptionKey,
      logger,
    });
    open.push(app);
    return app;
  };
  const stop = async (app: App) => {
    open.splice(open.indexOf(app), 1);
    await app.close();
  };
  /** The key ids of the stored secrets: settings, then collections (OAuth2 and token secrets). */
  const storedIds = async (app: App) => {
    const row = await app.db.get<{ value: string }>(sql`SELECT value FROM _params WHERE id = 'settings'`);
    const options = await app.db.all<{ options: string }>(sql`SELECT options FROM _collections ORDER BY id`);
    const text = [row?.value ?? '', ...options.map((o) => o.options)].join('\n');
    return [...text.matchAll(/enc:v1:([\w.-]+):/g)].map((m) => m[1]);
  };
  const all = (n: number, id: string) => Array(n).fill(id);

  before(async () => {
    db = await createTempDatabase();
    dir = mkdtempSync(join(tmpdir(), 'plinth-secrets-cluster-'));
  });
  after(async () => {
    for (const app of open.splice(0)) await app.close().catch(() => undefined);
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('deploy with both keys (new second), then new first, then drop the old: no node ever fails to read', async () => {
    let a = await node('a', OLD);
    let b = await node('b', OLD);
    await a.settings.update({ smtp: { password: 'pw-1' }, s3: { secret: 's3-1' } });
    await within(3000, () => b.settings.get().smtp.password === 'pw-1');
    const count = (await storedIds(a)).length;
    assert.ok(count >= 12, 'two settings secrets and the token secrets of two auth collections');
    assert.deepEqual(await storedIds(a), all(count, 'old'));

    // 1. Every node learns the new key, second: nothing is re-encrypted yet.
    await stop(a);
    a = await node('a', `${OLD},${NEW}`);
    assert.equal(a.secretsResealedAtStart, 0);
    await stop(b);
    b = await node('b', `${OLD},${NEW}`);
    assert.deepEqual(await storedIds(b), all(count, 'old'));

    // 2. New key first, one node at a time: the first re-encrypts everything; the other still reads every change.
    await stop(a);
    a = await node('a', `${NEW},${OLD}`);
    assert.equal(a.secretsResealedAtStart, count);
    assert.deepEqual(await storedIds(a), all(count, 'new'));
    await a.settings.update({ smtp: { password: 'pw-2' } });
    await within(3000, () => b.settings.get().smtp.password === 'pw-2');
    assert.equal(b.settings.get().s3.secret, 's3-1');
    await stop(b);
    b = await node('b', `${NEW},${OLD}`);
    assert.equal(b.secretsResealedAtStart, 0);

    // 3. The old key goes.
    await stop(a);
    a = await node('a', NEW);
    assert.equal(a.settings.get().smtp.password, 'pw-2');
    await stop(b);
    b = await node('b', NEW);
    assert.equal(b.settings.get().s3.secret, 's3-1');
  });

  it('a node without the key in use keeps its settings on a change it cannot read, and cannot start', async () => {
    const logs: Array<{ msg: string; err?: { message?: string } }> = [];
    const behind = await node('c', NEW, pino({ level: 'error' }, { write: (line: string) => void logs.push(JSON.parse(line)) }));
    const both = await node('d', `${NEWER},${NEW}`); // re-encrypts everything with "newer" at start
    assert.ok(both.secretsResealedAtStart >= 12);
    await both.settings.update({ smtp: { password: 'pw-3' }, meta: { appName: 'Changed' } });
    await within(3000, async () => (await storedIds(both)).every((id) => id === 'newer'));
    await within(3000, () => logs.some((l) => l.msg === 'cluster: applying a message failed' && /key "newer"/.test(l.err?.message ?? '')));
    assert.equal(behind.settings.get().smtp.password, 'pw-2', 'it keeps what it had: not the defaults, not an empty password');
    assert.equal(behind.settings.get().meta.appName, 'Plinth');
    await assert.rejects(
      App.open({ dataDir: join(dir, 'e', 'data'), databaseUrl: db.url, poolSize: 2, encryptionKey: NEW, logger: silentLogger() }),
      (err: unknown) => err instanceof StartupError && /it was encrypted with key "newer", which is not configured/.test(err.message),
    );
  });
});
