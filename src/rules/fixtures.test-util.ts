/**
 * Test fixtures shared by the rules tests: a small schema (users/teams/posts/tags/comments/members),
 * an in-memory SQLite database holding it, and helpers to run compiled filters. Not a test file itself.
 */
import type { AuthCollection, BaseCollection, Collection, Field, SchemaLookup } from '../collections/model.js';
import { openSqlite, type SqliteDatabase } from '../db/dialects/sqlite/sqlite-database.js';
import { sqliteDialect } from '../db/dialects/sqlite/sqlite-dialect.js';
import { ident, sql, type Sql } from '../db/sql.js';
import { compileFilter } from './compile.js';
import type { CompileOptions } from './context.js';
import { guestRequest, type RequestInfo } from './request-info.js';
import { compileSort } from './sort.js';

type FieldSpec = Partial<Field> & { name: string; type: Field['type'] };

function field(spec: FieldSpec): Field {
  return { id: spec.name, system: false, hidden: false, presentable: false, required: false, ...spec } as Field;
}

const base = (name: string, fields: FieldSpec[], rules: Partial<Collection> = {}): BaseCollection =>
  ({
    id: `pbc_${name}`,
    name,
    type: 'base',
    system: false,
    fields: [field({ name: 'id', type: 'text' }), ...fields.map(field)],
    indexes: [],
    listRule: '',
    viewRule: '',
    createRule: '',
    updateRule: '',
    deleteRule: '',
    created: '',
    updated: '',
    ...rules,
  }) as BaseCollection;

const auth = (name: string, id: string, fields: FieldSpec[], rules: Partial<Collection> = {}): AuthCollection =>
  ({
    ...base(name, [
      { name: 'email', type: 'email' },
      { name: 'emailVisibility', type: 'bool' },
      { name: 'verified', type: 'bool' },
      { name: 'password', type: 'password', hidden: true },
      { name: 'tokenKey', type: 'text', hidden: true },
      ...fields,
    ]),
    id,
    type: 'auth',
    ...rules,
  }) as AuthCollection;

export const teams = base('teams', [{ name: 'name', type: 'text' }], { listRule: null });
export const users = auth(
  'users',
  '_pb_users_auth_',
  [
    { name: 'name', type: 'text' },
    { name: 'role', type: 'select', values: ['admin', 'member'], maxSelect: 1 } as FieldSpec,
    { name: 'secret', type: 'text', hidden: true },
    { name: 'team', type: 'relation', collectionId: 'pbc_teams', maxSelect: 1 } as FieldSpec,
    { name: 'friends', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 10 } as FieldSpec,
  ],
  { listRule: 'verified = true' },
);
export const superusers = auth('_superusers', 'pbc_3142635823', []);
export const tags = base('tags', [{ name: 'name', type: 'text' }]);
export const posts = base('posts', [
  { name: 'title', type: 'text' },
  { name: 'views', type: 'number' },
  { name: 'published', type: 'bool' },
  { name: 'author', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 } as FieldSpec,
  { name: 'tags', type: 'relation', collectionId: 'pbc_tags', maxSelect: 5 } as FieldSpec,
  { name: 'categories', type: 'select', values: ['a', 'b', 'c'], maxSelect: 3 } as FieldSpec,
  { name: 'status', type: 'select', values: ['draft', 'live'], maxSelect: 1 } as FieldSpec,
  { name: 'meta', type: 'json' },
  { name: 'location', type: 'geoPoint' },
  { name: 'created', type: 'date' },
  { name: 'note', type: 'text', hidden: true },
]);
export const comments = base('comments', [
  { name: 'post', type: 'relation', collectionId: 'pbc_posts', maxSelect: 1 } as FieldSpec,
  { name: 'message', type: 'text' },
  { name: 'author', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 } as FieldSpec,
]);
export const members = base(
  'members',
  [{ name: 'user', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 } as FieldSpec, { name: 'role', type: 'text' }],
  { listRule: null },
);

export const ALL: readonly Collection[] = [teams, users, superusers, tags, posts, comments, members];

export const schema: SchemaLookup = {
  find: (idOrName) => ALL.find((c) => c.id === idOrName || c.name === idOrName),
  all: () => ALL,
};

export const NOW = new Date(Date.UTC(2024, 4, 15, 10, 30, 45, 123)); // 2024-05-15 10:30:45.123Z (a Wednesday)

const DDL = [
  sql`CREATE TABLE teams (id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '')`,
  sql`CREATE TABLE users (id TEXT PRIMARY KEY, email TEXT NOT NULL DEFAULT '', emailVisibility BOOLEAN NOT NULL DEFAULT FALSE, verified BOOLEAN NOT NULL DEFAULT FALSE, password TEXT NOT NULL DEFAULT '', tokenKey TEXT NOT NULL DEFAULT '', name TEXT NOT NULL DEFAULT '', role TEXT NOT NULL DEFAULT '', secret TEXT NOT NULL DEFAULT '', team TEXT NOT NULL DEFAULT '', friends JSON NOT NULL DEFAULT '[]')`,
  sql`CREATE TABLE _superusers (id TEXT PRIMARY KEY, email TEXT NOT NULL DEFAULT '', emailVisibility BOOLEAN NOT NULL DEFAULT FALSE, verified BOOLEAN NOT NULL DEFAULT FALSE, password TEXT NOT NULL DEFAULT '', tokenKey TEXT NOT NULL DEFAULT '')`,
  sql`CREATE TABLE tags (id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '')`,
  sql`CREATE TABLE posts (id TEXT PRIMARY KEY, title TEXT NOT NULL DEFAULT '', views NUMERIC NOT NULL DEFAULT 0, published BOOLEAN NOT NULL DEFAULT FALSE, author TEXT NOT NULL DEFAULT '', tags JSON NOT NULL DEFAULT '[]', categories JSON NOT NULL DEFAULT '[]', status TEXT NOT NULL DEFAULT '', meta JSON DEFAULT NULL, location JSON NOT NULL DEFAULT '{"lon":0,"lat":0}', created TEXT NOT NULL DEFAULT '', note TEXT NOT NULL DEFAULT '')`,
  sql`CREATE TABLE comments (id TEXT PRIMARY KEY, post TEXT NOT NULL DEFAULT '', message TEXT NOT NULL DEFAULT '', author TEXT NOT NULL DEFAULT '')`,
  sql`CREATE TABLE members (id TEXT PRIMARY KEY, user TEXT NOT NULL DEFAULT '', role TEXT NOT NULL DEFAULT '')`,
];

type Row = Record<string, string | number | boolean | null | unknown[] | Record<string, unknown>>;

const SEED: Record<string, Row[]> = {
  teams: [
    { id: 't1', name: 'red' },
    { id: 't2', name: 'blue' },
  ],
  users: [
    {
      id: 'u1',
      email: 'ann@example.com',
      emailVisibility: 1,
      verified: 1,
      name: 'Ann',
      role: 'admin',
      secret: 's3cret',
      team: 't1',
      friends: ['u2'],
      password: '$2a$hash1',
      tokenKey: 'tk1',
    },
    {
      id: 'u2',
      email: 'bob@example.com',
      emailVisibility: 0,
      verified: 1,
      name: 'Bob',
      role: 'member',
      secret: 'hunter2',
      team: 't2',
      friends: [],
      password: '$2a$hash2',
      tokenKey: 'tk2',
    },
    {
      id: 'u3',
      email: 'cid@example.com',
      emailVisibility: 1,
      verified: 0,
      name: 'Cid',
      role: 'member',
      secret: '',
      team: '',
      friends: ['u1', 'u2'],
      password: '$2a$hash3',
      tokenKey: 'tk3',
    },
  ],
  _superusers: [{ id: 'su1', email: 'root@example.com', verified: 1 }],
  tags: [
    { id: 'g1', name: 'news' },
    { id: 'g2', name: 'tech' },
    { id: 'g3', name: '100% real_deal' },
  ],
  posts: [
    {
      id: 'p1',
      title: 'Hello world',
      views: 10,
      published: 1,
      author: 'u1',
      tags: ['g1', 'g2'],
      categories: ['a', 'b'],
      status: 'live',
      meta: { a: { b: 1 }, list: [1, 2], s: 'x' },
      location: { lon: 23.32, lat: 42.69 },
      created: '2024-05-15 08:00:00.000Z',
      note: 'n1',
    },
    {
      id: 'p2',
      title: '',
      views: 0,
      published: 0,
      author: 'u2',
      tags: ['g2'],
      categories: ['a'],
      status: 'draft',
      meta: null,
      location: { lon: 0, lat: 0 },
      created: '2024-05-14 08:00:00.000Z',
      note: '',
    },
    {
      id: 'p3',
      title: '50% off_sale \\ backslash',
      views: 5.5,
      published: 1,
      author: 'u3',
      tags: [],
      categories: [],
      status: '',
      meta: { a: { b: 'x' }, s: '' },
      location: { lon: 24.75, lat: 42.15 },
      created: '2023-12-31 23:59:59.999Z',
      note: 'n3',
    },
    {
      id: 'p4',
      title: 'It\'s "quoted"',
      views: 100,
      published: 1,
      author: '',
      tags: ['g3', 'missing'],
      categories: ['c'],
      status: 'live',
      meta: { s: 'y' },
      location: { lon: -0.12, lat: 51.5 },
      created: '2024-01-01 00:00:00.000Z',
      note: '',
    },
  ],
  comments: [
    { id: 'c1', post: 'p1', message: 'great', author: 'u2' },
    { id: 'c2', post: 'p1', message: 'meh', author: 'u3' },
    { id: 'c3', post: 'p2', message: 'great', author: 'u1' },
  ],
  members: [
    { id: 'm1', user: 'u1', role: 'editor' },
    { id: 'm2', user: 'u2', role: 'viewer' },
  ],
};

/** A fresh in-memory database with the fixture schema and rows. */
export async function openFixtureDb(): Promise<SqliteDatabase> {
  const db = openSqlite({ filename: ':memory:' });
  for (const stmt of DDL) await db.run(stmt);
  for (const [table, rows] of Object.entries(SEED)) {
    for (const row of rows) {
      const cols = Object.keys(row);
      const vals = cols.map((c) => {
        const v = row[c];
        return v !== null && typeof v === 'object' ? JSON.stringify(v) : (v as string | number | boolean | null);
      });
      let q = sql`INSERT INTO ${ident(table)} (`;
      cols.forEach((c, i) => (q = i ? sql`${q}, ${ident(c)}` : sql`${q}${ident(c)}`));
      q = sql`${q}) VALUES (`;
      vals.forEach((v, i) => (q = i ? sql`${q}, ${v}` : sql`${q}${v}`));
      await db.run(sql`${q})`);
    }
  }
  return db;
}

/** An auth state for a fixture user, with values as the records layer would hand them over. */
export function authAs(id: string, collection: AuthCollection = users): RequestInfo['auth'] {
  const row = (SEED[collection.name] ?? []).find((r) => r.id === id);
  if (!row) throw new Error(`no fixture record ${id}`);
  const record: Record<string, unknown> = {};
  for (const f of collection.fields) {
    const v = row[f.name];
    record[f.name] = f.type === 'bool' ? Boolean(v) : (v ?? (f.type === 'relation' && (f as { maxSelect: number }).maxSelect > 1 ? [] : ''));
  }
  return { collection, record };
}

export const superuserRequest = (): RequestInfo => guestRequest({ auth: authAs('su1', superusers) });

export function options(over: Partial<CompileOptions> = {}): CompileOptions {
  return { collection: posts, schema, dialect: sqliteDialect, rootAlias: '_r', request: guestRequest(), mode: 'rule', now: NOW, ...over };
}

/** Compiled SQL text and params (for golden tests). */
export function compiled(filter: string, over: Partial<CompileOptions> = {}): { text: string; params: readonly unknown[] } {
  return sqliteDialect.compile(compileFilter(filter, options(over)));
}

/** Ids of the rows of `collection` matching `filter` (sorted, or in `sort` order when given). */
export async function ids(db: SqliteDatabase, filter: string, over: Partial<CompileOptions> = {}, sort?: string): Promise<string[]> {
  const opts = options(over);
  const where = compileFilter(filter, opts);
  const order: Sql = sort ? compileSort(sort, opts) : sql`${ident(opts.rootAlias, 'id')} ASC`;
  const rows = await db.all<{ id: string }>(
    sql`SELECT ${ident(opts.rootAlias, 'id')} AS id FROM ${ident(opts.collection.name)} AS ${ident(opts.rootAlias)} WHERE ${where} ORDER BY ${order}`,
  );
  return rows.map((r) => r.id);
}
