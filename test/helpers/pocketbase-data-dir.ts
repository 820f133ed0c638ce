/**
 * Builds a data directory the way PocketBase v0.23+ lays one out, without PocketBase: the system tables
 * and collections of its migrations (migrations/1640988000_init.go and the aux init), each collection's
 * table and indexes as PocketBase's collection sync creates them, its `_collections` JSON (fields with
 * PocketBase's ids, auth options), bcrypt password hashes, an OAuth2 link, MFA/OTP/auth-origin rows,
 * settings in `_params`, `auxiliary.db` with `_logs`, and `storage/` with gocloud's `.attrs` sidecar
 * files and a cached thumbnail. Used by test/e2e/pocketbase-data-dir.test.ts (SQLite by nature).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import bcrypt from 'bcryptjs';
import { SignJWT } from 'jose';

export const PB = {
  superuser: {
    id: 'sup0000000000a1',
    email: 'root@example.com',
    password: 'pb-root-password',
    tokenKey: 'SuperTokenKey0123456789abcdefghijklmnopqrstuvwxyzAB',
  },
  user: { id: 'usr0000000000a1', email: 'ann@example.com', password: 'ann-password-1', tokenKey: 'AnnTokenKey0123456789abcdefghijklmnopqrstuvwxyzABCD' },
  post: { id: 'pst0000000000a1', title: 'Hello from PocketBase', photo: 'photo_k3j4h5g6f7.png' },
  usersSecret: 'UsersAuthSecret0123456789abcdefghijklmnopqrstuvwxyz',
  superusersSecret: 'SuperAuthSecret0123456789abcdefghijklmnopqrstuvwxyz',
  postsId: 'pbc_1125843985',
  appName: 'Migrated from PocketBase',
  /** Secrets PocketBase (without --encryptionEnv) stores in plain text: Plinth encrypts them at start. */
  smtpPassword: 'pb-smtp-password-plain',
  githubClientSecret: 'pb-github-client-secret-plain',
};

/** A 1×1 PNG. */
export const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

const NOW = '2025-01-02 03:04:05.678Z';
const ID_COLUMN = "TEXT PRIMARY KEY DEFAULT ('r'||lower(hex(randomblob(7)))) NOT NULL";

const f = {
  id: () => ({
    autogeneratePattern: '[a-z0-9]{15}',
    hidden: false,
    id: 'text3208210256',
    max: 15,
    min: 15,
    name: 'id',
    pattern: '^[a-z0-9]+$',
    presentable: false,
    primaryKey: true,
    required: true,
    system: true,
    type: 'text',
  }),
  text: (name: string, id: string, o: Record<string, unknown> = {}) => ({
    autogeneratePattern: '',
    hidden: false,
    id,
    max: 0,
    min: 0,
    name,
    pattern: '',
    presentable: false,
    primaryKey: false,
    required: false,
    system: false,
    type: 'text',
    ...o,
  }),
  password: (o: Record<string, unknown> = {}) => ({
    cost: 0,
    hidden: true,
    id: 'password901924565',
    max: 0,
    min: 8,
    name: 'password',
    pattern: '',
    presentable: false,
    required: true,
    system: true,
    type: 'password',
    ...o,
  }),
  tokenKey: () => ({
    autogeneratePattern: '[a-zA-Z0-9]{50}',
    hidden: true,
    id: 'text2504183744',
    max: 60,
    min: 30,
    name: 'tokenKey',
    pattern: '',
    presentable: false,
    primaryKey: false,
    required: true,
    system: true,
    type: 'text',
  }),
  email: () => ({
    exceptDomains: null,
    hidden: false,
    id: 'email3885137012',
    name: 'email',
    onlyDomains: null,
    presentable: false,
    required: true,
    system: true,
    type: 'email',
  }),
  bool: (name: string, id: string) => ({ hidden: false, id, name, presentable: false, required: false, system: true, type: 'bool' }),
  autodate: (name: 'created' | 'updated', system = false) => ({
    hidden: false,
    id: name === 'created' ? 'autodate2990389176' : 'autodate3332085495',
    name,
    onCreate: true,
    onUpdate: name === 'updated',
    presentable: false,
    system,
    type: 'autodate',
  }),
  file: (name: string, id: string, o: Record<string, unknown> = {}) => ({
    hidden: false,
    id,
    maxSelect: 1,
    maxSize: 0,
    mimeTypes: [],
    name,
    presentable: false,
    protected: false,
    required: false,
    system: false,
    thumbs: [],
    type: 'file',
    ...o,
  }),
  relation: (name: string, id: string, collectionId: string) => ({
    cascadeDelete: false,
    collectionId,
    hidden: false,
    id,
    maxSelect: 1,
    minSelect: 0,
    name,
    presentable: false,
    required: false,
    system: false,
    type: 'relation',
  }),
  number: (name: string, id: string) => ({
    hidden: false,
    id,
    max: null,
    min: null,
    name,
    onlyInt: false,
    presentable: false,
    required: false,
    system: false,
    type: 'number',
  }),
};

const template = (subject: string) => ({ subject, body: `<p>${subject}</p>` });

function authOptions(secret: string, duration: number, providers: Array<Record<string, unknown>> = []) {
  return {
    authRule: '',
    manageRule: null,
    authAlert: { enabled: true, emailTemplate: template('Login from a new location') },
    oauth2: { enabled: false, mappedFields: { id: '', name: 'name', username: '', avatarURL: 'avatar' }, providers },
    passwordAuth: { enabled: true, identityFields: ['email'] },
    mfa: { enabled: false, duration: 1800, rule: '' },
    otp: { enabled: false, duration: 180, length: 8, emailTemplate: template('OTP for {APP_NAME}') },
    authToken: { duration, secret },
    passwordResetToken: { duration: 1800, secret: `${secret}-reset` },
    emailChangeToken: { duration: 1800, secret: `${secret}-email` },
    verificationToken: { duration: 259200, secret: `${secret}-verify` },
    fileToken: { duration: 180, secret: `${secret}-file` },
    verificationTemplate: template('Verify your {APP_NAME} email'),
    resetPasswordTemplate: template('Reset your {APP_NAME} password'),
    confirmEmailChangeTemplate: template('Confirm your {APP_NAME} new email address'),
  };
}

const OWNER = "@request.auth.id != '' && recordRef = @request.auth.id && collectionRef = @request.auth.collectionId";

interface Def {
  id: string;
  name: string;
  type: 'base' | 'auth';
  system: boolean;
  fields: Record<string, unknown>[];
  indexes: string[];
  rules: [string | null, string | null, string | null, string | null, string | null];
  options: Record<string, unknown>;
  /** Column SQL per field name, as PocketBase's collection sync writes them. */
  columns: Record<string, string>;
}

const T = "TEXT DEFAULT '' NOT NULL";
const B = 'BOOLEAN DEFAULT FALSE NOT NULL';

function refTable(id: string, name: string, extra: Record<string, unknown>[], extraCols: Record<string, string>, indexes: string[], deleteRule: boolean): Def {
  return {
    id,
    name,
    type: 'base',
    system: true,
    fields: [
      f.id(),
      f.text('collectionRef', 'text2090480493', { required: true, system: true }),
      f.text('recordRef', 'text1602912115', { required: true, system: true }),
      ...extra,
      f.autodate('created', true),
      f.autodate('updated', true),
    ],
    indexes,
    rules: [OWNER, OWNER, null, null, deleteRule ? OWNER : null],
    options: {},
    columns: { id: ID_COLUMN, collectionRef: T, recordRef: T, ...extraCols, created: T, updated: T },
  };
}

export const DEFINITIONS: Def[] = [
  refTable(
    'pbc_2279338944',
    '_mfas',
    [f.text('method', 'text1582905952', { required: true, system: true })],
    { method: T },
    ['CREATE INDEX `idx_mfas_collectionRef_recordRef` ON `_mfas` (collectionRef,recordRef)'],
    false,
  ),
  refTable(
    'pbc_1638494021',
    '_otps',
    [f.password({ cost: 8, min: 0, name: 'password' }), f.text('sentTo', 'text3866985172', { hidden: true, system: true })],
    { password: T, sentTo: T },
    ['CREATE INDEX `idx_otps_collectionRef_recordRef` ON `_otps` (collectionRef, recordRef)'],
    false,
  ),
  refTable(
    'pbc_2281828961',
    '_externalAuths',
    [f.text('provider', 'text2462348188', { required: true, system: true }), f.text('providerId', 'text1044722854', { required: true, system: true })],
    { provider: T, providerId: T },
    [
      'CREATE UNIQUE INDEX `idx_externalAuths_record_provider` ON `_externalAuths` (collectionRef, recordRef, provider)',
      'CREATE UNIQUE INDEX `idx_externalAuths_collection_provider` ON `_externalAuths` (collectionRef, provider, providerId)',
    ],
    true,
  ),
  refTable(
    'pbc_4275539003',
    '_authOrigins',
    [f.text('fingerprint', 'text4228609354', { required: true, system: true })],
    { fingerprint: T },
    ['CREATE UNIQUE INDEX `idx_authOrigins_unique_pairs` ON `_authOrigins` (collectionRef, recordRef, fingerprint)'],
    true,
  ),
  {
    id: 'pbc_3142635823',
    name: '_superusers',
    type: 'auth',
    system: true,
    fields: [
      f.id(),
      f.password(),
      f.tokenKey(),
      f.email(),
      f.bool('emailVisibility', 'bool1547992806'),
      f.bool('verified', 'bool256245529'),
      f.autodate('created', true),
      f.autodate('updated', true),
    ],
    indexes: [
      'CREATE UNIQUE INDEX `idx_tokenKey_pbc_3142635823` ON `_superusers` (`tokenKey`)',
      "CREATE UNIQUE INDEX `idx_email_pbc_3142635823` ON `_superusers` (`email`) WHERE `email` != ''",
    ],
    rules: [null, null, null, null, null],
    options: authOptions(PB.superusersSecret, 86400),
    columns: { id: ID_COLUMN, password: T, tokenKey: T, email: T, emailVisibility: B, verified: B, created: T, updated: T },
  },
  {
    id: '_pb_users_auth_',
    name: 'users',
    type: 'auth',
    system: false,
    fields: [
      f.id(),
      f.password(),
      f.tokenKey(),
      f.email(),
      f.bool('emailVisibility', 'bool1547992806'),
      f.bool('verified', 'bool256245529'),
      f.text('name', 'text1579384326', { max: 255 }),
      f.file('avatar', 'file376926767', { mimeTypes: ['image/jpeg', 'image/png', 'image/svg+xml', 'image/gif', 'image/webp'] }),
      f.autodate('created'),
      f.autodate('updated'),
    ],
    indexes: [
      'CREATE UNIQUE INDEX `idx_tokenKey__pb_users_auth_` ON `users` (`tokenKey`)',
      "CREATE UNIQUE INDEX `idx_email__pb_users_auth_` ON `users` (`email`) WHERE `email` != ''",
    ],
    rules: ['id = @request.auth.id', 'id = @request.auth.id', '', 'id = @request.auth.id', 'id = @request.auth.id'],
    options: authOptions(PB.usersSecret, 604800, [
      {
        name: 'github',
        clientId: 'pb-github-client',
        clientSecret: PB.githubClientSecret,
        authURL: '',
        tokenURL: '',
        userInfoURL: '',
        displayName: '',
        pkce: null,
        extra: null,
      },
    ]),
    columns: { id: ID_COLUMN, password: T, tokenKey: T, email: T, emailVisibility: B, verified: B, name: T, avatar: T, created: T, updated: T },
  },
  {
    id: PB.postsId,
    name: 'posts',
    type: 'base',
    system: false,
    fields: [
      f.id(),
      f.text('title', 'text724990059', { required: true }),
      f.relation('author', 'relation3182418120', '_pb_users_auth_'),
      f.file('photo', 'file1385431998', { thumbs: ['100x100'] }),
      f.number('views', 'number3805467153'),
      f.autodate('created'),
      f.autodate('updated'),
    ],
    indexes: ['CREATE INDEX `idx_posts_title` ON `posts` (`title`)'],
    rules: ['', '', "@request.auth.id != ''", 'author = @request.auth.id', 'author = @request.auth.id'],
    options: {},
    columns: { id: ID_COLUMN, title: T, author: T, photo: T, views: 'NUMERIC DEFAULT 0 NOT NULL', created: T, updated: T },
  },
];

function attrs(contentType: string, body: Buffer, originalName: string): string {
  return JSON.stringify({
    'user.cache_control': '',
    'user.content_disposition': '',
    'user.content_encoding': '',
    'user.content_language': '',
    'user.content_type': contentType,
    'user.metadata': { 'original-filename': originalName },
    md5: createHash('md5').update(body).digest('base64'),
  });
}

/** Writes `<root>/pb_data` and returns its path. */
export function buildPocketBaseDataDir(root: string): string {
  const dir = join(root, 'pb_data');
  mkdirSync(dir, { recursive: true });
  const db = new BetterSqlite3(join(dir, 'data.db'));
  db.pragma('journal_mode = WAL');
  db.exec(`
    CREATE TABLE _params (id ${ID_COLUMN}, value JSON DEFAULT NULL, created TEXT DEFAULT (strftime('%Y-%m-%d %H:%M:%fZ')) NOT NULL, updated TEXT DEFAULT (strftime('%Y-%m-%d %H:%M:%fZ')) NOT NULL);
    CREATE TABLE _collections (
      id ${ID_COLUMN}, system BOOLEAN DEFAULT FALSE NOT NULL, type TEXT DEFAULT "base" NOT NULL, name TEXT UNIQUE NOT NULL,
      fields JSON DEFAULT "[]" NOT NULL, indexes JSON DEFAULT "[]" NOT NULL,
      listRule TEXT DEFAULT NULL, viewRule TEXT DEFAULT NULL, createRule TEXT DEFAULT NULL, updateRule TEXT DEFAULT NULL, deleteRule TEXT DEFAULT NULL,
      options JSON DEFAULT "{}" NOT NULL,
      created TEXT DEFAULT (strftime('%Y-%m-%d %H:%M:%fZ')) NOT NULL, updated TEXT DEFAULT (strftime('%Y-%m-%d %H:%M:%fZ')) NOT NULL);
    CREATE INDEX IF NOT EXISTS idx__collections_type on _collections (type);
    CREATE TABLE _migrations (file VARCHAR(255) PRIMARY KEY NOT NULL, applied INTEGER NOT NULL);
  `);
  const insertCollection = db.prepare(
    'INSERT INTO _collections (id, system, type, name, fields, indexes, listRule, viewRule, createRule, updateRule, deleteRule, options, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  for (const d of DEFINITIONS) {
    const cols = Object.entries(d.columns)
      .map(([name, type]) => `\`${name}\` ${type}`)
      .join(', ');
    db.exec(`CREATE TABLE \`${d.name}\` (${cols})`);
    for (const index of d.indexes) db.exec(index);
    insertCollection.run(
      d.id,
      d.system ? 1 : 0,
      d.type,
      d.name,
      JSON.stringify(d.fields),
      JSON.stringify(d.indexes),
      ...d.rules,
      JSON.stringify(d.options),
      NOW,
      NOW,
    );
  }
  const settings = {
    meta: { appName: PB.appName, appURL: 'http://localhost:8090', senderName: 'Support', senderAddress: 'support@example.com', hideControls: false },
    logs: { maxDays: 7, minLevel: 0, logIP: true, logAuthId: false },
    smtp: { enabled: false, port: 587, host: 'smtp.example.com', username: 'pb-mailer', password: PB.smtpPassword, authMethod: '', tls: false, localName: '' },
    s3: { enabled: false, bucket: '', region: '', endpoint: '', accessKey: '', secret: '', forcePathStyle: false },
    backups: { cron: '', cronMaxKeep: 3, s3: { enabled: false, bucket: '', region: '', endpoint: '', accessKey: '', secret: '', forcePathStyle: false } },
    batch: { enabled: false, maxRequests: 50, timeout: 3, maxBodySize: 0 },
    rateLimits: { enabled: false, rules: [] },
    trustedProxy: { headers: [], useLeftmostIP: false },
  };
  db.prepare('INSERT INTO _params (id, value, created, updated) VALUES (?, ?, ?, ?)').run('settings', JSON.stringify(settings), NOW, NOW);
  const applied = db.prepare('INSERT INTO _migrations (file, applied) VALUES (?, ?)');
  for (const file of [
    '1640988000_init.go',
    '1717233556_v0.23_migrate.go',
    '1717233557_v0.23_migrate2.go',
    '1717233558_v0.23_migrate3.go',
    '1717233559_v0.23_migrate4.go',
  ])
    applied.run(file, 1735787045678000);

  const hash = (password: string, cost = 10) => bcrypt.hashSync(password, cost);
  db.prepare('INSERT INTO _superusers (id, password, tokenKey, email, emailVisibility, verified, created, updated) VALUES (?, ?, ?, ?, 0, 1, ?, ?)').run(
    PB.superuser.id,
    hash(PB.superuser.password),
    PB.superuser.tokenKey,
    PB.superuser.email,
    NOW,
    NOW,
  );
  db.prepare(
    'INSERT INTO users (id, password, tokenKey, email, emailVisibility, verified, name, avatar, created, updated) VALUES (?, ?, ?, ?, 0, 1, ?, ?, ?, ?)',
  ).run(PB.user.id, hash(PB.user.password), PB.user.tokenKey, PB.user.email, 'Ann', '', NOW, NOW);
  db.prepare('INSERT INTO posts (id, title, author, photo, views, created, updated) VALUES (?, ?, ?, ?, 3, ?, ?)').run(
    PB.post.id,
    PB.post.title,
    PB.user.id,
    PB.post.photo,
    NOW,
    NOW,
  );
  db.prepare('INSERT INTO _externalAuths (id, collectionRef, recordRef, provider, providerId, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    'ext0000000000a1',
    '_pb_users_auth_',
    PB.user.id,
    'github',
    '4242',
    NOW,
    NOW,
  );
  db.prepare('INSERT INTO _authOrigins (id, collectionRef, recordRef, fingerprint, created, updated) VALUES (?, ?, ?, ?, ?, ?)').run(
    'org0000000000a1',
    '_pb_users_auth_',
    PB.user.id,
    'a1b2c3d4e5f6',
    NOW,
    NOW,
  );
  db.prepare('INSERT INTO _mfas (id, collectionRef, recordRef, method, created, updated) VALUES (?, ?, ?, ?, ?, ?)').run(
    'mfa0000000000a1',
    '_pb_users_auth_',
    PB.user.id,
    'password',
    NOW,
    NOW,
  );
  db.prepare('INSERT INTO _otps (id, collectionRef, recordRef, password, sentTo, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    'otp0000000000a1',
    '_pb_users_auth_',
    PB.user.id,
    hash('12345678', 8),
    PB.user.email,
    NOW,
    NOW,
  );
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();

  const aux = new BetterSqlite3(join(dir, 'auxiliary.db'));
  aux.pragma('journal_mode = WAL');
  aux.exec(`
    CREATE TABLE _logs (id ${ID_COLUMN}, level INTEGER DEFAULT 0 NOT NULL, message TEXT DEFAULT "" NOT NULL, data JSON DEFAULT "{}" NOT NULL,
      created TEXT DEFAULT (strftime('%Y-%m-%d %H:%M:%fZ')) NOT NULL);
    CREATE INDEX idx_logs_level on _logs (level);
    CREATE INDEX idx_logs_message on _logs (message);
    CREATE INDEX idx_logs_created_hour on _logs (strftime('%Y-%m-%d %H:00:00', created));
    CREATE TABLE _migrations (file VARCHAR(255) PRIMARY KEY NOT NULL, applied INTEGER NOT NULL);
  `);
  // A recent entry: older ones than settings.logs.maxDays are cleaned up at start, by PocketBase too.
  const recent = new Date(Date.now() - 3600_000).toISOString().replace('T', ' ');
  aux
    .prepare('INSERT INTO _logs (id, level, message, data, created) VALUES (?, 0, ?, ?, ?)')
    .run('log0000000000a1', 'GET /api/health', '{"status":200}', recent);
  aux.prepare('INSERT INTO _migrations (file, applied) VALUES (?, ?)').run('1640988000_aux_init.go', 1735787045678000);
  aux.pragma('wal_checkpoint(TRUNCATE)');
  aux.close();

  const recordDir = join(dir, 'storage', PB.postsId, PB.post.id);
  mkdirSync(join(recordDir, `thumbs_${PB.post.photo}`), { recursive: true });
  writeFileSync(join(recordDir, PB.post.photo), PNG);
  writeFileSync(join(recordDir, `${PB.post.photo}.attrs`), attrs('image/png', PNG, 'photo.png'));
  writeFileSync(join(recordDir, `thumbs_${PB.post.photo}`, `100x100_${PB.post.photo}`), PNG);
  writeFileSync(join(recordDir, `thumbs_${PB.post.photo}`, `100x100_${PB.post.photo}.attrs`), attrs('image/png', PNG, `100x100_${PB.post.photo}`));
  return dir;
}

/** An auth token signed the way PocketBase signs one: HS256, key = the record's tokenKey + the collection's auth secret. */
export async function pocketBaseToken(who: 'user' | 'superuser', durationSeconds = 3600): Promise<string> {
  const rec = who === 'user' ? PB.user : PB.superuser;
  const collectionId = who === 'user' ? '_pb_users_auth_' : 'pbc_3142635823';
  const secret = who === 'user' ? PB.usersSecret : PB.superusersSecret;
  return new SignJWT({ collectionId, id: rec.id, refreshable: true, type: 'auth' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setExpirationTime(Math.floor(Date.now() / 1000) + durationSeconds)
    .sign(new TextEncoder().encode(rec.tokenKey + secret));
}

/** Every schema object of a SQLite file: [type, name, sql]. */
export function schemaOf(file: string): Array<{ type: string; name: string; tbl: string; sql: string | null }> {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    return db.prepare("SELECT type, name, tbl_name AS tbl, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name").all() as never;
  } finally {
    db.close();
  }
}

/** PocketBase's index parser (tools/dbutils/index.go): what an index string in `_collections.indexes` must match. */
export const PB_INDEX_REGEX = /^\s*create\s+(unique\s+)?\s*index\s*(if\s+not\s+exists\s+)?(\S*)\s+on\s+(\S*)\s*\(([\s\S]*)\)(?:\s*where\s+([\s\S]*))?\s*$/i;
