/**
 * A PocketBase v0.23+ data directory, both ways (issue 15 §3). The test builds one the way PocketBase lays
 * it out (test/helpers/pocketbase-data-dir.ts), opens it with Plinth in place and uses it over HTTP: the
 * superuser and user log in with their bcrypt passwords, a token PocketBase signed is accepted, records,
 * the OAuth2 link, settings, logs and files (with gocloud's `.attrs` sidecars and cached thumbs) are
 * served, and writes work. Then, with Plinth closed, the files are checked as PocketBase would read
 * them: every PocketBase table, column and index is byte-for-byte as it was, Plinth only added its own
 * tables (the list docs/migrating-from-pocketbase.md names), every index string in `_collections` still
 * matches PocketBase's index parser, and the database is intact. Also `plinth import-pocketbase`.
 * SQLite only: a pb_data directory is SQLite by nature.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import bcrypt from 'bcryptjs';
import { jwtVerify } from 'jose';
import { createCipheriv, randomBytes } from 'node:crypto';
import PocketBase from 'pocketbase';
import { App } from '../../src/app.js';
import type { AuthOptions } from '../../src/collections/model.js';
import { silentLogger } from '../../src/util/logger.js';
import { serveApp, type ServedApp } from '../helpers/server.js';
import { plinth } from '../helpers/cli.js';
import { buildPocketBaseDataDir, DEFINITIONS, PB, PB_INDEX_REGEX, PNG, pocketBaseToken, schemaOf } from '../helpers/pocketbase-data-dir.js';
import { run as importPocketBase } from '../../src/migrations/import-pocketbase.js';

/** Tables Plinth adds to a PocketBase data.db (docs/migrating-from-pocketbase.md lists the same). */
export const PLINTH_TABLES = [
  '_apiKeys',
  '_cronRuns',
  '_jobs',
  '_paymentCustomers',
  '_paymentEvents',
  '_totp',
  '_webhookAttempts',
  '_webhookInbound',
  '_webhookMessages',
  '_webhookOutbox',
  '_webhooks',
];

type SchemaRow = ReturnType<typeof schemaOf>[number];

function collectionsRows(file: string): Array<Record<string, unknown>> {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    return db.prepare('SELECT * FROM _collections ORDER BY id').all() as Array<Record<string, unknown>>;
  } finally {
    db.close();
  }
}

describe('a PocketBase data directory opened in place', () => {
  let root: string;
  let dir: string;
  let app: App;
  let served: ServedApp;
  let beforeMain: SchemaRow[];
  let beforeAux: SchemaRow[];
  let beforeCollections: Array<Record<string, unknown>>;
  let deletedId = '';

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'plinth-pbdata-'));
    dir = buildPocketBaseDataDir(root);
    beforeMain = schemaOf(join(dir, 'data.db'));
    beforeAux = schemaOf(join(dir, 'auxiliary.db'));
    beforeCollections = collectionsRows(join(dir, 'data.db'));
    app = await App.open({ dataDir: dir, migrationsDir: join(root, 'plinth_migrations'), logger: silentLogger() });
    served = await serveApp(app);
  });
  after(async () => {
    await served?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const client = () => {
    const pb = new PocketBase(served.url);
    pb.autoCancellation(false);
    return pb;
  };

  it('logs the superuser and the user in with their PocketBase (bcrypt) passwords', async () => {
    const admin = client();
    const auth = await admin.collection('_superusers').authWithPassword(PB.superuser.email, PB.superuser.password);
    assert.equal(auth.record.id, PB.superuser.id);
    const user = client();
    const u = await user.collection('users').authWithPassword(PB.user.email, PB.user.password);
    assert.equal(u.record.name, 'Ann');
    assert.equal(u.record.verified, true);
    // Going back: PocketBase verifies Plinth's token with the same key (tokenKey + the collection's secret).
    const { payload } = await jwtVerify(u.token, new TextEncoder().encode(PB.user.tokenKey + PB.usersSecret), { algorithms: ['HS256'] });
    assert.deepEqual([payload.id, payload.collectionId, payload.type, payload.refreshable], [PB.user.id, '_pb_users_auth_', 'auth', true]);
  });

  it("accepts tokens PocketBase signed (tokenKey + the collection's auth secret)", async () => {
    const userToken = await pocketBaseToken('user');
    const res = await fetch(`${served.url}/api/collections/users/records/${PB.user.id}`, { headers: { authorization: userToken } });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { email: string }).email, PB.user.email);
    const refresh = await fetch(`${served.url}/api/collections/users/auth-refresh`, { method: 'POST', headers: { authorization: userToken } });
    assert.equal(refresh.status, 200);
    const adminToken = await pocketBaseToken('superuser');
    const collections = await fetch(`${served.url}/api/collections?perPage=100`, { headers: { authorization: adminToken } });
    assert.equal(collections.status, 200);
    const names = ((await collections.json()) as { items: { name: string }[] }).items.map((c) => c.name).sort();
    assert.deepEqual(names, DEFINITIONS.map((d) => d.name).sort());
    const forged = await fetch(`${served.url}/api/collections?perPage=100`, { headers: { authorization: `${adminToken.slice(0, -2)}xx` } });
    assert.equal(forged.status, 401);
  });

  it('serves the records, the OAuth2 link, settings and logs', async () => {
    const guest = client();
    const posts = await guest.collection('posts').getFullList({ expand: 'author' });
    assert.equal(posts.length, 1);
    assert.equal(posts[0]?.title, PB.post.title);
    assert.equal(posts[0]?.views, 3);
    assert.equal(posts[0]?.photo, PB.post.photo);
    assert.equal(posts[0]?.created, '2025-01-02 03:04:05.678Z');
    const user = client();
    await user.collection('users').authWithPassword(PB.user.email, PB.user.password);
    const links = await user.collection('_externalAuths').getFullList();
    assert.deepEqual(
      links.map((l) => [l.provider, l.providerId]),
      [['github', '4242']],
    );
    const admin = client();
    await admin.collection('_superusers').authWithPassword(PB.superuser.email, PB.superuser.password);
    const settings = await admin.settings.getAll();
    assert.equal((settings.meta as { appName: string }).appName, PB.appName);
    const logs = await admin.logs.getList(1, 50);
    assert.ok(
      logs.items.some((l) => l.id === 'log0000000000a1'),
      "PocketBase's own log entry is listed",
    );
    const mfas = await admin.collection('_mfas').getFullList();
    assert.equal(mfas.length, 1);
  });

  it('serves the stored files and their thumbs, ignoring the .attrs sidecars', async () => {
    const file = await fetch(`${served.url}/api/files/posts/${PB.post.id}/${PB.post.photo}`);
    assert.equal(file.status, 200);
    assert.equal(file.headers.get('content-type'), 'image/png');
    assert.deepEqual(Buffer.from(await file.arrayBuffer()), PNG);
    const thumb = await fetch(`${served.url}/api/files/posts/${PB.post.id}/${PB.post.photo}?thumb=100x100`);
    assert.equal(thumb.status, 200);
    assert.equal(thumb.headers.get('content-type'), 'image/png');
    const attrs = await fetch(`${served.url}/api/files/posts/${PB.post.id}/${PB.post.photo}.attrs`);
    assert.equal(attrs.status, 404);
  });

  it('writes: a new record with a file, an update, a new collection with an index', async () => {
    const user = client();
    await user.collection('users').authWithPassword(PB.user.email, PB.user.password);
    const form = new FormData();
    form.append('title', 'Written by Plinth');
    form.append('author', PB.user.id);
    form.append('photo', new Blob([PNG], { type: 'image/png' }), 'new.png');
    const created = await user.collection('posts').create(form);
    await user.collection('posts').update(created.id, { views: 7 });
    const gone = new FormData();
    gone.append('title', 'deleted again');
    gone.append('author', PB.user.id);
    gone.append('photo', new Blob([PNG], { type: 'image/png' }), 'gone.png');
    deletedId = (await user.collection('posts').create(gone)).id;
    await user.collection('posts').delete(deletedId);
    const admin = client();
    await admin.collection('_superusers').authWithPassword(PB.superuser.email, PB.superuser.password);
    await admin.collections.create({
      name: 'notes',
      type: 'base',
      fields: [
        { name: 'body', type: 'text' },
        { name: 'pinned', type: 'bool' },
      ],
      indexes: ['CREATE INDEX `idx_notes_body` ON `notes` (`body`)'],
    });
    await admin.collection('notes').create({ body: 'hi', pinned: true });
    await admin.collection('users').update(PB.user.id, { name: 'Ann B.' });
    await client().collection('users').create({ email: 'bob@example.com', password: 'bob-password-1', passwordConfirm: 'bob-password-1' });
  });

  it("left PocketBase's tables, columns and indexes as they were and only added its own tables", async () => {
    await served.close();
    served = undefined as unknown as ServedApp;
    const afterMain = schemaOf(join(dir, 'data.db'));
    const key = (r: SchemaRow) => `${r.type}:${r.name}`;
    const afterByKey = new Map(afterMain.map((r) => [key(r), r]));
    for (const r of beforeMain) assert.deepEqual(afterByKey.get(key(r)), r, `${key(r)} changed`);
    const beforeKeys = new Set(beforeMain.map(key));
    const added = afterMain.filter((r) => !beforeKeys.has(key(r)));
    const addedTables = added
      .filter((r) => r.type === 'table')
      .map((r) => r.name)
      .sort();
    assert.deepEqual(addedTables, [...PLINTH_TABLES, 'notes'].sort(), 'tables Plinth added');
    for (const r of added.filter((r) => r.type !== 'table')) {
      assert.ok([...PLINTH_TABLES, 'notes'].includes(r.tbl), `${key(r)} on ${r.tbl}: an index on a PocketBase table`);
    }
    const afterAux = schemaOf(join(dir, 'auxiliary.db'));
    const auxByKey = new Map(afterAux.map((r) => [key(r), r]));
    for (const r of beforeAux) assert.deepEqual(auxByKey.get(key(r)), r, `auxiliary ${key(r)} changed`);
    assert.deepEqual(
      afterAux
        .filter((r) => r.type === 'table')
        .map((r) => r.name)
        .sort(),
      ['_logs', '_migrations'],
    );
  });

  it("encrypts PocketBase's plain-text secrets at the first start; `plinth secrets decrypt` gives them back as PocketBase stored them", () => {
    const raw = () => {
      const db = new BetterSqlite3(join(dir, 'data.db'), { readonly: true });
      try {
        const settings = (db.prepare("SELECT value FROM _params WHERE id = 'settings'").get() as { value: string }).value;
        const users = (db.prepare("SELECT options FROM _collections WHERE name = 'users'").get() as { options: string }).options;
        return { settings, users };
      } finally {
        db.close();
      }
    };
    const sealed = raw();
    assert.ok(!sealed.settings.includes(PB.smtpPassword) && !sealed.users.includes(PB.githubClientSecret));
    assert.match(JSON.parse(sealed.settings).smtp.password, /^enc:v1:/);
    assert.match(JSON.parse(sealed.users).oauth2.providers[0].clientSecret, /^enc:v1:/);
    assert.equal(app.settings.get().smtp.password, PB.smtpPassword, 'Plinth uses the secrets as PocketBase stored them');
    assert.equal((app.collections.require('users') as unknown as AuthOptions).oauth2.providers[0]?.clientSecret, PB.githubClientSecret);
    // Going back to PocketBase: the secrets as plain text again, the collection's options as they were.
    const env = { ...process.env };
    delete env.PLINTH_ENCRYPTION_KEY;
    const r = plinth(['secrets', 'decrypt', `--dir=${dir}`], 60_000, env);
    assert.equal(r.code, 0, r.err);
    const plain = raw();
    assert.equal(JSON.parse(plain.settings).smtp.password, PB.smtpPassword);
    const usersBefore = beforeCollections.find((c) => c.name === 'users') as { options: string };
    assert.deepEqual(JSON.parse(plain.users), JSON.parse(usersBefore.options));
  });

  it("kept PocketBase's collection definitions and wrote the new one in PocketBase's shape", () => {
    const rows = collectionsRows(join(dir, 'data.db'));
    const before = new Map(beforeCollections.map((r) => [r.id, r]));
    for (const row of rows) {
      const old = before.get(row.id);
      if (old) {
        assert.deepEqual(JSON.parse(String(row.fields)), JSON.parse(String(old.fields)), `${row.name}: fields`);
        assert.deepEqual(JSON.parse(String(row.indexes)), JSON.parse(String(old.indexes)), `${row.name}: indexes`);
        assert.deepEqual(JSON.parse(String(row.options)), JSON.parse(String(old.options)), `${row.name}: options`);
      }
      for (const index of JSON.parse(String(row.indexes)) as string[]) {
        const m = PB_INDEX_REGEX.exec(index);
        assert.ok(m, `${row.name}: PocketBase cannot parse ${index}`);
        assert.equal((m[4] as string).replace(/[`"[\]]/g, ''), row.name, `${index} is on its collection's table`);
      }
    }
    const notes = rows.find((r) => r.name === 'notes') as Record<string, unknown>;
    assert.equal(notes.type, 'base');
    assert.deepEqual(JSON.parse(String(notes.options)), {}, 'a base collection has no options');
    for (const field of JSON.parse(String(notes.fields)) as Record<string, unknown>[]) {
      for (const k of ['id', 'name', 'type', 'system', 'hidden', 'presentable']) assert.ok(k in field, `${String(field.name)} lacks ${k}`);
    }
    assert.ok(String(notes.id).startsWith('pbc_'));
  });

  it('left a database PocketBase can open: integrity, foreign keys, its migrations and rows', () => {
    const db = new BetterSqlite3(join(dir, 'data.db'), { readonly: true });
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      assert.deepEqual(db.pragma('foreign_key_check'), []);
      const files = (db.prepare('SELECT file FROM _migrations').all() as { file: string }[]).map((r) => r.file);
      assert.ok(files.includes('1640988000_init.go'));
      const ann = db.prepare('SELECT * FROM users WHERE id = ?').get(PB.user.id) as Record<string, unknown>;
      assert.equal(ann.name, 'Ann B.');
      assert.equal(ann.tokenKey, PB.user.tokenKey, "the token key is untouched, so PocketBase's tokens stay valid");
      assert.match(String(ann.password), /^\$2[aby]\$/, 'still a bcrypt hash PocketBase verifies');
      const bob = db.prepare("SELECT password FROM users WHERE email = 'bob@example.com'").get() as { password: string };
      assert.match(bob.password, /^\$2[aby]\$10\$/, 'a password set through Plinth is a bcrypt hash, as PocketBase writes them');
      assert.ok(bcrypt.compareSync('bob-password-1', bob.password));
      const post = db.prepare("SELECT * FROM posts WHERE title = 'Written by Plinth'").get() as Record<string, unknown>;
      assert.equal(post.views, 7);
      const stored = join(dir, 'storage', PB.postsId, String(post.id), String(post.photo));
      assert.ok(existsSync(stored), 'the file is where PocketBase looks');
      const attrs = JSON.parse(readFileSync(`${stored}.attrs`, 'utf8')) as Record<string, unknown>;
      assert.equal(attrs['user.content_type'], 'image/png', 'with the .attrs sidecar PocketBase serves it by');
      const deletedDir = join(dir, 'storage', PB.postsId, deletedId);
      assert.ok(!existsSync(deletedDir) || readdirSync(deletedDir).length === 0, 'a deleted file takes its sidecar along');
      const settings = JSON.parse((db.prepare("SELECT value FROM _params WHERE id = 'settings'").get() as { value: string }).value) as {
        meta: { appName: string };
      };
      assert.equal(settings.meta.appName, PB.appName);
    } finally {
      db.close();
    }
  });
});

describe('a PocketBase data directory whose settings PocketBase encrypted (--encryptionEnv)', () => {
  let root: string;
  let dir: string;
  const pbKey = 'pocketbase-key-of-32-characters!';
  const env = (extra: Record<string, string> = {}) => {
    const e: NodeJS.ProcessEnv = { ...process.env, ...extra };
    delete e.PLINTH_ENCRYPTION_KEY;
    return e;
  };
  const settingsRow = () => {
    const db = new BetterSqlite3(join(dir, 'data.db'), { readonly: true });
    try {
      return (db.prepare("SELECT value FROM _params WHERE id = 'settings'").get() as { value: string }).value;
    } finally {
      db.close();
    }
  };
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'plinth-pbenc-'));
    dir = buildPocketBaseDataDir(root);
    // As PocketBase's security.Encrypt stores it: base64(nonce | AES-256-GCM ciphertext | tag), keyed with the raw 32 characters.
    const db = new BetterSqlite3(join(dir, 'data.db'));
    try {
      const plain = (db.prepare("SELECT value FROM _params WHERE id = 'settings'").get() as { value: string }).value;
      const nonce = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', Buffer.from(pbKey), nonce);
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      db.prepare("UPDATE _params SET value = ? WHERE id = 'settings'").run(Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64'));
    } finally {
      db.close();
    }
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('without its key the start fails in one line (never default settings, never an empty SMTP password)', () => {
    const r = plinth(['serve', '--http=127.0.0.1:0', `--dir=${dir}`], 60_000, env());
    assert.equal(r.code, 1, r.err);
    const lines = r.err.trim().split('\n');
    assert.equal(lines.length, 1, r.err);
    assert.match(
      lines[0]!,
      /^Error: Cannot decrypt the settings: PocketBase encrypted them \(--encryptionEnv\), and PLINTH_ENCRYPTION_KEY is not set\. Start with --encryptionEnv=VAR/,
    );
    const wrong = plinth(
      ['secrets', 'status', `--dir=${dir}`, '--encryptionEnv=PB_ENCRYPTION_KEY'],
      60_000,
      env({ PB_ENCRYPTION_KEY: 'another-key-of-32-characters!!!!' }),
    );
    assert.equal(wrong.code, 1);
    assert.match(wrong.err, /no key in PB_ENCRYPTION_KEY opens them/);
  });

  it('with --encryptionEnv naming the variable of its key: read, and stored from then on as Plinth stores settings', async () => {
    const status = plinth(['secrets', 'status', `--dir=${dir}`, '--encryptionEnv=PB_ENCRYPTION_KEY'], 60_000, env({ PB_ENCRYPTION_KEY: pbKey }));
    assert.equal(status.code, 0, status.err);
    const app = await App.open({ dataDir: dir, migrationsDir: join(root, 'plinth_migrations'), encryptionKey: pbKey, logger: silentLogger() });
    try {
      assert.equal(app.settings.get().meta.appName, PB.appName);
      assert.equal(app.settings.get().smtp.password, PB.smtpPassword);
    } finally {
      await app.close();
    }
    const stored = JSON.parse(settingsRow()) as { meta: { appName: string }; smtp: { password: string } };
    assert.equal(stored.meta.appName, PB.appName);
    assert.match(stored.smtp.password, /^enc:v1:/);
    // Back to PocketBase: plain JSON, which PocketBase reads before trying to decrypt.
    const back = plinth(['secrets', 'decrypt', `--dir=${dir}`, '--encryptionEnv=PB_ENCRYPTION_KEY'], 60_000, env({ PB_ENCRYPTION_KEY: pbKey }));
    assert.equal(back.code, 0, back.err);
    assert.equal((JSON.parse(settingsRow()) as { smtp: { password: string } }).smtp.password, PB.smtpPassword);
  });
});

describe('plinth import-pocketbase', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'plinth-pbimport-'));
    buildPocketBaseDataDir(root);
  });
  after(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('copies the data dir (databases by online backup, files as they are) and leaves the original untouched', async () => {
    const from = join(root, 'pb_data');
    const to = join(root, 'plinth_data');
    // PocketBase still running: a committed write only in its WAL file, not yet checkpointed into data.db.
    const running = new BetterSqlite3(join(from, 'data.db'));
    running.pragma('wal_autocheckpoint = 0');
    running
      .prepare("INSERT INTO posts (id, title, author, photo, views, created, updated) VALUES ('pst0000000000b2', 'only in the WAL', '', '', 0, '', '')")
      .run();
    const beforeSchema = schemaOf(join(from, 'data.db'));
    const code = await importPocketBase([`--from=${from}`, `--dir=${to}`]);
    assert.equal(code, 0);
    const copy = new BetterSqlite3(join(to, 'data.db'), { readonly: true });
    assert.equal((copy.prepare("SELECT title FROM posts WHERE id = 'pst0000000000b2'").get() as { title: string } | undefined)?.title, 'only in the WAL');
    copy.close();
    assert.ok(!existsSync(join(to, 'data.db-wal')) || readFileSync(join(to, 'data.db-wal')).length === 0, 'the source WAL file is not copied');
    running.close();
    assert.deepEqual(schemaOf(join(to, 'data.db')), beforeSchema);
    assert.deepEqual(
      schemaOf(join(to, 'auxiliary.db')).map((r) => r.name),
      schemaOf(join(from, 'auxiliary.db')).map((r) => r.name),
    );
    assert.deepEqual(readFileSync(join(to, 'storage', PB.postsId, PB.post.id, PB.post.photo)), PNG);
    assert.ok(existsSync(join(to, 'storage', PB.postsId, PB.post.id, `thumbs_${PB.post.photo}`, `100x100_${PB.post.photo}`)));

    const app = await App.open({ dataDir: to, migrationsDir: join(root, 'plinth_migrations'), logger: silentLogger() });
    const served = await serveApp(app);
    try {
      const pb = new PocketBase(served.url);
      await pb.collection('users').authWithPassword(PB.user.email, PB.user.password);
      await pb.collection('posts').create({ title: 'only in the copy', author: PB.user.id });
      assert.equal((await pb.collection('posts').getFullList()).length, 3);
    } finally {
      await served.close();
    }
    const originalNow = new BetterSqlite3(join(from, 'data.db'), { readonly: true });
    assert.equal((originalNow.prepare('SELECT count(*) AS n FROM posts').get() as { n: number }).n, 2, "the copy's writes stay in the copy");
    originalNow.close();
    assert.deepEqual(schemaOf(join(from, 'data.db')), beforeSchema);
  });

  it('refuses a non-empty target, a missing or pre-v0.23 source, and bad flags (exit 1, nothing written)', async () => {
    const from = join(root, 'pb_data');
    const busy = join(root, 'busy');
    mkdirSync(busy);
    writeFileSync(join(busy, 'keep.txt'), 'x');
    assert.equal(await importPocketBase([`--from=${from}`, `--dir=${busy}`]), 1);
    assert.deepEqual(readFileSync(join(busy, 'keep.txt'), 'utf8'), 'x');
    assert.ok(!existsSync(join(busy, 'data.db')));
    assert.equal(await importPocketBase([`--from=${join(root, 'nope')}`, `--dir=${join(root, 'out1')}`]), 1);
    assert.ok(!existsSync(join(root, 'out1')));
    const old = join(root, 'old_pb');
    mkdirSync(old);
    const db = new BetterSqlite3(join(old, 'data.db'));
    db.exec('CREATE TABLE _collections (id TEXT PRIMARY KEY, name TEXT, schema JSON)');
    db.close();
    assert.equal(await importPocketBase([`--from=${old}`, `--dir=${join(root, 'out2')}`]), 1);
    assert.ok(!existsSync(join(root, 'out2')));
    assert.equal(await importPocketBase([`--dir=${join(root, 'out3')}`]), 1);
    assert.equal(await importPocketBase([`--from=${from}`, `--dir=${join(from, 'inside')}`]), 1, 'a target inside the source');
    assert.ok(!existsSync(join(from, 'inside')));
    const empty = join(root, 'empty');
    mkdirSync(empty);
    assert.equal(await importPocketBase([`--from=${from}`, `--dir=${empty}`]), 0, 'an existing empty folder is fine');
    assert.ok(existsSync(join(empty, 'data.db')) && existsSync(join(empty, 'auxiliary.db')));
    assert.equal(await importPocketBase([`--from=${from}`, '--bogus']), 1);
    assert.equal(await importPocketBase(['--help']), 0);
  });
});
