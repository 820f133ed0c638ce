/**
 * The filter language means the same on SQLite and PostgreSQL: the same records, written through the
 * API into an app on each dialect, are filtered and sorted with every kind of expression (LIKE with its
 * escapes, numbers against strings, booleans, multi-value `?=`/`:each`/`:length`, JSON paths, date
 * macros, strftime, geoDistance, relations and back-relations, `@collection`), and both must return the
 * same ids in the same order (text columns use the "C" collation on PostgreSQL, so even case folding in
 * `~` is ASCII-only on both, as SQLite's LIKE).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import PocketBase from 'pocketbase';
import { App } from '../../src/app.js';
import { silentLogger } from '../../src/util/logger.js';
import { createTempDatabase, type TempDatabase } from '../helpers/postgres.js';
import { addSuperuser, serveApp, SUPERUSER_EMAIL, SUPERUSER_PASSWORD } from '../helpers/server.js';

interface Side {
  app: App;
  pb: PocketBase;
  close(): Promise<void>;
}

async function open(dir: string, databaseUrl?: string): Promise<Side> {
  const app = await App.open({
    dataDir: join(dir, 'data'),
    migrationsDir: join(dir, 'm'),
    automigrate: false,
    ...(databaseUrl ? { databaseUrl } : {}),
    logger: silentLogger(),
  });
  await app.settings.update({ rateLimits: { enabled: false } });
  await addSuperuser(app);
  const { url, close } = await serveApp(app);
  const pb = new PocketBase(url);
  pb.autoCancellation(false);
  await pb.collection('_superusers').authWithPassword(SUPERUSER_EMAIL, SUPERUSER_PASSWORD);
  return { app, pb, close };
}

const OWNERS = [
  { id: 'owner000000000a', name: 'alice' },
  { id: 'owner000000000b', name: 'bob' },
  { id: 'owner000000000c', name: '' },
];

const ITEMS: Array<Record<string, unknown>> = [
  {
    id: 'item00000000001',
    title: 'abc',
    n: 5,
    flag: true,
    tags: ['a', 'b'],
    meta: { a: 1, nested: { x: 'y' }, list: [3, 4] },
    when: '2026-01-02 03:04:05.000Z',
    loc: { lon: 23.32, lat: 42.69 },
    owner: 'owner000000000a',
  },
  { id: 'item00000000002', title: 'ABD', n: 0, flag: false, tags: [], meta: null, when: '', loc: { lon: 0, lat: 0 }, owner: '' },
  {
    id: 'item00000000003',
    title: '50% off_now',
    n: -2.5,
    flag: true,
    tags: ['c'],
    meta: { a: 'text' },
    when: '2025-12-31 23:59:59.999Z',
    loc: { lon: -0.12, lat: 51.5 },
    owner: 'owner000000000b',
  },
  {
    id: 'item00000000004',
    title: 'back\\slash',
    n: 10,
    flag: false,
    tags: ['a', 'b', 'c'],
    meta: [1, 2, 3],
    when: '2030-06-15 12:00:00.000Z',
    loc: { lon: 23.4, lat: 42.7 },
    owner: 'owner000000000a',
  },
  {
    id: 'item00000000005',
    title: '',
    n: 2.5,
    flag: true,
    tags: ['b'],
    meta: { a: 2, nested: { x: 'z' } },
    when: '2026-01-02 00:00:00.000Z',
    loc: { lon: 139.7, lat: 35.7 },
    owner: 'owner000000000c',
  },
  {
    id: 'item00000000006',
    title: 'zed',
    n: 7,
    flag: false,
    tags: ['a'],
    meta: 'just a string',
    when: '1999-01-01 00:00:00.000Z',
    loc: { lon: 0, lat: 0 },
    owner: 'owner000000000b',
  },
  {
    id: 'item00000000007',
    title: 'Ärger',
    n: 1e6,
    flag: true,
    tags: ['c', 'a'],
    meta: { a: true },
    when: '2026-11-21 00:00:00.000Z',
    loc: { lon: 23.3, lat: 42.7 },
    owner: '',
  },
  {
    id: 'item00000000008',
    title: '5',
    n: 5,
    flag: false,
    tags: ['b', 'c'],
    meta: { a: 5, list: [] },
    when: '2026-03-01 10:00:00.000Z',
    loc: { lon: 2.35, lat: 48.85 },
    owner: 'owner000000000a',
  },
];

/** Expressions whose result must be identical on both dialects. */
const FILTERS = [
  '',
  'title ~ "ab"',
  'title ~ "AB"',
  'title !~ "b"',
  'title ~ "50%"',
  'title ~ "off_n"',
  'title ~ "f_n"',
  'title ~ "back\\\\slash"',
  'title ~ "a%c"',
  'title = ""',
  'title != ""',
  'title = "abc"',
  'title > "m"',
  'title ~ "ärger"',
  'title ~ "ÄRGER"',
  'title:lower = "abd"',
  'title:lower = "ärger"',
  'title:lower ~ "ab"',
  'n > 5',
  'n >= 2.5',
  'n = 0',
  'n != 0',
  'n < -1',
  'n > "4"',
  'n = "5"',
  'title = 5',
  'title = n',
  'n > 1 && flag = true',
  '(n > 1 && flag = true) || title = ""',
  'flag = true',
  'flag = false',
  'flag != true',
  'tags ?= "a"',
  'tags = "a"',
  'tags != "a"',
  'tags:each = "a"',
  'tags:each ?= "a"',
  'tags:length > 1',
  'tags:length = 0',
  'tags ?~ "b"',
  'meta.a = 1',
  'meta.a > 1',
  'meta.a = "text"',
  'meta.a = true',
  'meta.nested.x = "y"',
  'meta.nested.x ~ "z"',
  'meta.list.0 = 3',
  'meta.list.1 > 3',
  'meta = null',
  'meta != null',
  'meta.missing = null',
  'when > "2026-01-01"',
  'when = ""',
  'when != ""',
  'when < @now',
  'when > @todayStart',
  'when >= @yearStart',
  'when < @monthStart',
  '@now > when',
  'strftime("%Y", when) = "2026"',
  'strftime("%Y-%m-%d", when) = "2026-01-02"',
  'strftime("%m", when) = "01"',
  'strftime("%H:%M", when) = "03:04"',
  'strftime("%Y", when, "+1 year") = "2027"',
  'strftime("%w", when) = "5"',
  'strftime("%j", when) = "002"',
  'geoDistance(loc.lon, loc.lat, 23.32, 42.69) < 25',
  'geoDistance(loc.lon, loc.lat, 2.35, 48.85) < 1',
  'owner.name = "alice"',
  'owner.name ~ "o"',
  'owner.name = ""',
  'owner = ""',
  'owner != ""',
  'items_via_parent.title ?= "child"',
  '@collection.owners.name ?= "bob" && owner.name = "bob"',
  'id > "item00000000004"',
  'created != ""',
];

const SORTS = ['n,-title', '-n', 'title', '-when,id', 'flag,n', '-meta,id'];

describe('the same filters and sorts give the same records on SQLite and PostgreSQL', () => {
  let dir: string;
  let db: TempDatabase;
  let sqlite: Side;
  let postgres: Side;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'plinth-parity-'));
    db = await createTempDatabase();
    sqlite = await open(join(dir, 'sqlite'));
    postgres = await open(join(dir, 'pg'), db.url);
    for (const side of [sqlite, postgres]) {
      const owners = await side.pb.collections.create({ name: 'owners', type: 'base', fields: [{ name: 'name', type: 'text' }] });
      await side.pb.collections.create({
        name: 'items',
        type: 'base',
        fields: [
          { name: 'title', type: 'text' },
          { name: 'n', type: 'number' },
          { name: 'flag', type: 'bool' },
          { name: 'tags', type: 'select', values: ['a', 'b', 'c'], maxSelect: 3 },
          { name: 'meta', type: 'json' },
          { name: 'when', type: 'date' },
          { name: 'loc', type: 'geoPoint' },
          { name: 'owner', type: 'relation', collectionId: owners.id, maxSelect: 1 },
          { name: 'created', type: 'autodate', onCreate: true },
        ],
      });
      const items = side.app.collections.require('items');
      await side.pb.collections.update('items', {
        fields: [...items.fields, { name: 'parent', type: 'relation', collectionId: items.id, maxSelect: 1 }],
      });
      for (const o of OWNERS) await side.pb.collection('owners').create(o);
      for (const item of ITEMS) await side.pb.collection('items').create(item);
      await side.pb.collection('items').create({ id: 'item00000000009', title: 'child', parent: 'item00000000001', n: 3, tags: ['a'] });
    }
  });

  after(async () => {
    await sqlite?.close();
    await postgres?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const ids = async (side: Side, filter: string, sort = 'id') => (await side.pb.collection('items').getFullList({ filter, sort })).map((r) => r.id);

  for (const filter of FILTERS) {
    it(`filter: ${filter || '(none)'}`, async () => {
      const expected = await ids(sqlite, filter);
      assert.deepEqual(await ids(postgres, filter), expected);
    });
  }

  for (const sort of SORTS) {
    it(`sort: ${sort}`, async () => {
      assert.deepEqual(await ids(postgres, '', sort), await ids(sqlite, '', sort));
    });
  }

  it('records read back identically (every field type)', async () => {
    const a = await sqlite.pb.collection('items').getFullList({ sort: 'id', expand: 'owner,items_via_parent' });
    const b = await postgres.pb.collection('items').getFullList({ sort: 'id', expand: 'owner,items_via_parent' });
    const strip = (list: typeof a) =>
      list.map((r) => ({
        ...r,
        collectionId: undefined,
        created: undefined,
        expand: JSON.stringify(r.expand ?? {}).replace(/"created":"[^"]*"|"collectionId":"[^"]*"/g, ''),
      }));
    assert.deepEqual(strip(b), strip(a));
  });

  it('a COLLATE NOCASE unique index refuses a name differing only in case, with the same answer on both', async () => {
    for (const side of [sqlite, postgres]) {
      await side.pb.collections.create({
        name: 'handles',
        type: 'base',
        fields: [{ name: 'handle', type: 'text' }],
        indexes: ['CREATE UNIQUE INDEX idx_handles_handle ON handles (handle COLLATE NOCASE)'],
      });
      await side.pb.collection('handles').create({ handle: 'Bob' });
      const err = await side.pb
        .collection('handles')
        .create({ handle: 'bOB' })
        .then(
          () => null,
          (e: { status: number; response: { data: Record<string, { code: string }> } }) => e,
        );
      assert.equal(err?.status, 400);
      assert.equal(err?.response.data.handle?.code, 'validation_not_unique');
      await side.pb.collection('handles').create({ handle: 'Bobby' });
    }
  });

  it('case folding in ~ and :lower is ASCII-only on both (non-ASCII letters match only themselves)', async () => {
    assert.deepEqual(await ids(postgres, 'title ~ "ärger"'), []);
    assert.deepEqual(await ids(postgres, 'title ~ "Ärger"'), ['item00000000007']);
    assert.deepEqual(await ids(postgres, 'title ~ "äRGER"'), []);
  });
});
