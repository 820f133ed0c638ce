/**
 * The collections API: runtime schema changes run real DDL in a transaction and keep data; migrations are
 * written for every API change and replay on another instance.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ClientResponseError } from 'pocketbase';
import { startServer, type TestServer } from '../helpers/server.js';
import { openTestApp } from '../helpers/server.js';

let s: TestServer;

describe('collections API', () => {
  before(async () => {
    s = await startServer();
  });
  after(async () => {
    await s.close();
  });

  describe('a fresh install', () => {
    it('has _superusers and users with their well-known ids', async () => {
      const all = await s.admin.collections.getFullList();
      const byName = new Map(all.map((c) => [c.name, c]));
      assert.equal(byName.get('_superusers')?.id, 'pbc_3142635823');
      assert.equal(byName.get('users')?.id, '_pb_users_auth_');
      assert.equal(byName.get('users')?.type, 'auth');
      for (const name of ['_externalAuths', '_mfas', '_otps', '_authOrigins']) assert.ok(byName.has(name), name);
      const users = byName.get('users')!;
      assert.equal(users.listRule, 'id = @request.auth.id');
      assert.equal(users.createRule, '');
      assert.equal(JSON.stringify(users).includes('"secret"'), false, 'token secrets are never returned');
    });

    it('lists collections with filter and sort', async () => {
      const res = await s.admin.collections.getList(1, 50, { filter: "type = 'auth' && system = false", sort: '-name' });
      assert.deepEqual(
        res.items.map((c) => c.name),
        ['users'],
      );
    });

    it('serves scaffolds for every type', async () => {
      const sc = await s.admin.collections.getScaffolds();
      assert.deepEqual(Object.keys(sc).sort(), ['auth', 'base', 'view']);
    });
  });

  describe('schema changes keep data', () => {
    it('adds, renames and removes fields, changes options and renames the collection', async () => {
      const pb = s.admin;
      const created = await pb.collections.create({
        name: 'books',
        type: 'base',
        fields: [
          { name: 'title', type: 'text' },
          { name: 'pages', type: 'number' },
          { name: 'genre', type: 'select', values: ['a', 'b'], maxSelect: 2 },
        ],
        listRule: '',
        viewRule: '',
      });
      const rec = await pb.collection('books').create({ title: 'Dune', pages: 412, genre: ['a', 'b'] });

      const fields = created.fields
        .map((f: Record<string, unknown>) => (f.name === 'title' ? { ...f, name: 'name' } : f.name === 'genre' ? { ...f, maxSelect: 1 } : f))
        .filter((f: Record<string, unknown>) => f.name !== 'pages');
      fields.push({ name: 'isbn', type: 'text' });
      const updated = await pb.collections.update('books', { name: 'library', fields });
      assert.equal(updated.name, 'library');
      assert.equal(updated.id, created.id, 'the id survives a rename');

      const after = await pb.collection('library').getOne(rec.id);
      assert.equal(after.name, 'Dune', 'renamed field keeps its data');
      assert.equal('pages' in after, false);
      assert.equal(after.isbn, '');
      assert.equal(after.genre, 'b', 'a list turned single keeps its last value');
      await assert.rejects(pb.collection('books').getList(), (e: ClientResponseError) => e.status === 404);
    });

    it('refuses invalid definitions with field errors and changes nothing', async () => {
      await assert.rejects(
        s.admin.collections.create({ name: 'bad name!', type: 'base', fields: [] }),
        (e: ClientResponseError) => e.status === 400 && 'name' in e.response.data,
      );
      await assert.rejects(
        s.admin.collections.create({
          name: 'dupes',
          type: 'base',
          fields: [
            { name: 'a', type: 'text' },
            { name: 'A', type: 'text' },
          ],
        }),
        (e: ClientResponseError) => e.status === 400 && 'fields' in e.response.data,
      );
      await assert.rejects(
        s.admin.collections.create({ name: 'badrule', type: 'base', fields: [{ name: 'a', type: 'text' }], listRule: 'nope = 1' }),
        (e: ClientResponseError) => e.status === 400 && 'listRule' in e.response.data,
      );
      await assert.rejects(
        s.admin.collections.create({
          name: 'badidx',
          type: 'base',
          fields: [{ name: 'a', type: 'text' }],
          indexes: ['CREATE INDEX x ON badidx (a); DROP TABLE users'],
        }),
        (e: ClientResponseError) => e.status === 400 && 'indexes' in e.response.data,
      );
      const names = (await s.admin.collections.getFullList()).map((c) => c.name);
      for (const n of ['dupes', 'badrule', 'badidx']) assert.equal(names.includes(n), false);
    });

    it('enforces unique indexes as field errors', async () => {
      await s.admin.collections.create({
        name: 'slugs',
        type: 'base',
        fields: [{ name: 'slug', type: 'text' }],
        indexes: ['CREATE UNIQUE INDEX idx_slug ON slugs (slug)'],
        createRule: '',
      });
      await s.client().collection('slugs').create({ slug: 'one' });
      await assert.rejects(s.client().collection('slugs').create({ slug: 'one' }), (e: ClientResponseError) => {
        assert.equal(e.status, 400);
        assert.equal(e.response.data.slug.code, 'validation_not_unique');
        return true;
      });
    });

    it('view collections infer fields and are read-only', async () => {
      await s.admin.collections.create({
        name: 'scores',
        type: 'base',
        fields: [
          { name: 'player', type: 'text' },
          { name: 'points', type: 'number' },
        ],
      });
      for (const [player, points] of [
        ['a', 1],
        ['a', 2],
        ['b', 5],
      ] as const)
        await s.admin.collection('scores').create({ player, points });
      const view = await s.admin.collections.create({
        name: 'totals',
        type: 'view',
        viewQuery: 'SELECT player AS id, player, SUM(points) AS total FROM scores GROUP BY player',
        listRule: '',
      });
      assert.deepEqual(
        view.fields.map((f: { name: string }) => f.name),
        ['id', 'player', 'total'],
      );
      const rows = await s.client().collection('totals').getFullList({ sort: 'id' });
      assert.deepEqual(
        rows.map((r) => [r.id, r.total]),
        [
          ['a', 3],
          ['b', 5],
        ],
      );
      await assert.rejects(s.admin.collection('totals').create({ player: 'x' }), (e: ClientResponseError) => e.status === 400);
      await assert.rejects(
        s.admin.collections.create({ name: 'evil', type: 'view', viewQuery: 'SELECT id FROM users; DROP TABLE users' }),
        (e: ClientResponseError) => e.status === 400,
      );
      await assert.rejects(
        s.admin.collections.create({ name: 'evil2', type: 'view', viewQuery: 'SELECT value AS id FROM _params' }),
        (e: ClientResponseError) => e.status === 400,
      );
    });

    it('truncates and deletes; refuses system and referenced collections', async () => {
      const pb = s.admin;
      const parent = await pb.collections.create({ name: 'parents', type: 'base', fields: [{ name: 'n', type: 'text' }] });
      await pb.collections.create({ name: 'kids', type: 'base', fields: [{ name: 'p', type: 'relation', collectionId: parent.id, maxSelect: 1 }] });
      await pb.collection('parents').create({ n: 'x' });
      await pb.collections.truncate('parents');
      assert.equal((await pb.collection('parents').getList()).totalItems, 0);
      await assert.rejects(pb.collections.delete('parents'), (e: ClientResponseError) => e.status === 400);
      await assert.rejects(pb.collections.delete('_superusers'), (e: ClientResponseError) => e.status === 400);
      await pb.collections.delete('kids');
      await pb.collections.delete('parents');
      await assert.rejects(pb.collections.getOne('parents'), (e: ClientResponseError) => e.status === 404);
    });

    it('imports collections all-or-nothing', async () => {
      await s.admin.collections.import([
        { name: 'imp_a', type: 'base', fields: [{ name: 'x', type: 'text' }] },
        { name: 'imp_b', type: 'base', fields: [{ name: 'y', type: 'number' }] },
      ] as never);
      assert.ok(await s.admin.collections.getOne('imp_b'));
      await assert.rejects(
        s.admin.collections.import([
          { name: 'imp_c', type: 'base', fields: [] },
          { name: 'bad name', type: 'base', fields: [] },
        ] as never),
        (e: ClientResponseError) => e.status === 400,
      );
      await assert.rejects(s.admin.collections.getOne('imp_c'), (e: ClientResponseError) => e.status === 404);
    });
  });

  describe('migrations', () => {
    it('writes a migration per API change that another instance replays with migrate up', async () => {
      await s.admin.collections.create({ name: 'migrated', type: 'base', fields: [{ name: 'v', type: 'text' }], listRule: '' });
      await s.admin.collections.update('migrated', { viewRule: '' });
      const dir = join(s.dir, 'migrations');
      const files = readdirSync(dir);
      assert.ok(files.some((f) => f.includes('created_migrated')));
      assert.ok(files.some((f) => f.includes('updated_migrated')));
      const other = await openTestApp({ dataDir: join(s.dir, 'other-data'), migrationsDir: dir, automigrate: false });
      try {
        const c = other.collections.find('migrated');
        assert.ok(c, 'the other instance has the collection after start-up');
        assert.equal(c.viewRule, '');
        assert.equal(c.listRule, '');
      } finally {
        await other.close();
      }
    });
  });
});
