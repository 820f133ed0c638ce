/**
 * The records API driven by the real `pocketbase` SDK: CRUD, list parameters, expand, fields, modifiers,
 * form and multipart bodies, cascade deletes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ClientResponseError } from 'pocketbase';
import { startServer, type TestServer } from '../helpers/server.js';

let s: TestServer;

describe('records API', () => {
  before(async () => {
    s = await startServer({ settings: { batch: { enabled: true } } });
    const pb = s.admin;
    await pb.collections.create({
      name: 'authors',
      type: 'base',
      fields: [
        { name: 'name', type: 'text', required: true },
        { name: 'created', type: 'autodate', onCreate: true, onUpdate: false },
      ],
      listRule: '',
      viewRule: '',
    });
    const authors = await pb.collections.getOne('authors');
    await pb.collections.create({
      name: 'tags',
      type: 'base',
      fields: [{ name: 'label', type: 'text' }],
      listRule: '',
      viewRule: '',
    });
    const tags = await pb.collections.getOne('tags');
    await pb.collections.create({
      name: 'posts',
      type: 'base',
      fields: [
        { name: 'title', type: 'text', required: true, max: 100 },
        { name: 'body', type: 'editor' },
        { name: 'views', type: 'number', onlyInt: true },
        { name: 'published', type: 'bool' },
        { name: 'contact', type: 'email' },
        { name: 'site', type: 'url' },
        { name: 'when', type: 'date' },
        { name: 'status', type: 'select', values: ['draft', 'live'], maxSelect: 1 },
        { name: 'topics', type: 'select', values: ['a', 'b', 'c'], maxSelect: 3 },
        { name: 'meta', type: 'json' },
        { name: 'author', type: 'relation', collectionId: authors.id, maxSelect: 1, cascadeDelete: true },
        { name: 'tags', type: 'relation', collectionId: tags.id, maxSelect: 10 },
        { name: 'where', type: 'geoPoint' },
        { name: 'secret', type: 'text', hidden: true },
        { name: 'created', type: 'autodate', onCreate: true, onUpdate: false },
        { name: 'updated', type: 'autodate', onCreate: true, onUpdate: true },
      ],
      indexes: ['CREATE INDEX idx_posts_views ON posts (views)'],
      listRule: '',
      viewRule: '',
      createRule: '',
      updateRule: '',
      deleteRule: '',
    });
  });

  after(async () => {
    await s.close();
  });

  describe('records CRUD through the SDK', () => {
    it('creates a record with every field type and returns 200 with the PocketBase shape', async () => {
      const pb = s.client();
      const author = await s.admin.collection('authors').create({ name: 'Ada' });
      const tag = await s.admin.collection('tags').create({ label: 'x' });
      const post = await pb.collection('posts').create({
        title: 'Hello',
        body: '<p>Hi <b>there</b></p>',
        views: 3,
        published: true,
        contact: 'a@example.com',
        site: 'https://example.com',
        when: '2024-05-01 10:00:00.000Z',
        status: 'live',
        topics: ['a', 'b'],
        meta: { nested: { x: 1 } },
        author: author.id,
        tags: [tag.id],
        where: { lon: 10.5, lat: 20.25 },
        secret: 'dropped for guests',
      });
      assert.match(post.id, /^[a-z0-9]{15}$/);
      assert.equal(post.collectionName, 'posts');
      assert.equal(post.title, 'Hello');
      assert.equal(post.views, 3);
      assert.equal(post.published, true);
      assert.deepEqual(post.topics, ['a', 'b']);
      assert.deepEqual(post.meta, { nested: { x: 1 } });
      assert.deepEqual(post.tags, [tag.id]);
      assert.deepEqual(post.where, { lon: 10.5, lat: 20.25 });
      assert.equal(post.when, '2024-05-01 10:00:00.000Z');
      assert.match(post.created, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.equal('secret' in post, false, 'hidden fields are not shown to guests');
      const asAdmin = await s.admin.collection('posts').getOne(post.id);
      assert.equal(asAdmin.secret, '', 'guests cannot set hidden fields');
    });

    it('applies zero values for fields not sent', async () => {
      const post = await s.client().collection('posts').create({ title: 'Zero' });
      assert.equal(post.views, 0);
      assert.equal(post.published, false);
      assert.equal(post.status, '');
      assert.deepEqual(post.topics, []);
      assert.equal(post.meta, null);
      assert.equal(post.author, '');
      assert.deepEqual(post.where, { lon: 0, lat: 0 });
    });

    it('reports every invalid field at once with validation codes', async () => {
      await assert.rejects(
        s
          .client()
          .collection('posts')
          .create({ title: '', views: 1.5, contact: 'nope', status: 'other', topics: ['z'] }),
        (err: ClientResponseError) => {
          assert.equal(err.status, 400);
          assert.equal(err.response.message, 'Failed to create record.');
          const data = err.response.data;
          assert.equal(data.title.code, 'validation_required');
          assert.equal(data.views.code, 'validation_only_int_constraint');
          assert.equal(data.contact.code, 'validation_is_email');
          assert.ok(data.status.code.startsWith('validation_'));
          assert.ok(data.topics.code.startsWith('validation_'));
          return true;
        },
      );
    });

    it('views, updates and deletes (204) a record', async () => {
      const pb = s.client();
      const created = await pb.collection('posts').create({ title: 'Before', views: 1 });
      const viewed = await pb.collection('posts').getOne(created.id);
      assert.equal(viewed.title, 'Before');
      const updated = await pb.collection('posts').update(created.id, { title: 'After' });
      assert.equal(updated.title, 'After');
      assert.equal(updated.views, 1, 'fields not sent keep their value');
      assert.ok(updated.updated >= created.updated);
      const res = await s.fetch(`/api/collections/posts/records/${created.id}`, { method: 'DELETE' });
      assert.equal(res.status, 204);
      assert.equal(await res.text(), '');
      await assert.rejects(pb.collection('posts').getOne(created.id), (e: ClientResponseError) => e.status === 404);
    });

    it('supports number and list modifiers', async () => {
      const pb = s.client();
      const tags = await Promise.all(['p', 'q', 'r'].map((label) => s.admin.collection('tags').create({ label })));
      const post = await pb.collection('posts').create({ title: 'Mods', views: 10, topics: ['a'], tags: [tags[0]!.id] });
      const u1 = await pb.collection('posts').update(post.id, { 'views+': 5, 'topics+': 'b', '+tags': tags[1]!.id });
      assert.equal(u1.views, 15);
      assert.deepEqual(u1.topics, ['a', 'b']);
      assert.deepEqual(u1.tags, [tags[1]!.id, tags[0]!.id]);
      const u2 = await pb.collection('posts').update(post.id, { 'views-': 20, 'topics-': ['a'], 'tags+': [tags[2]!.id] });
      assert.equal(u2.views, -5);
      assert.deepEqual(u2.topics, ['b']);
      assert.deepEqual(u2.tags, [tags[1]!.id, tags[0]!.id, tags[2]!.id]);
    });

    it('accepts a client id of [a-z0-9] and refuses other ids', async () => {
      const pb = s.client();
      const rec = await pb.collection('posts').create({ id: 'myid12345678901', title: 'Own id' });
      assert.equal(rec.id, 'myid12345678901');
      for (const id of ['UPPER', 'has space', "quote'1", '../etc']) {
        await assert.rejects(pb.collection('posts').create({ id, title: 'bad id' }), (e: ClientResponseError) => e.status === 400 && 'id' in e.response.data);
      }
      await assert.rejects(
        pb.collection('posts').create({ id: 'myid12345678901', title: 'dup' }),
        (e: ClientResponseError) => e.status === 400 && 'id' in e.response.data,
      );
    });
  });

  describe('list parameters', () => {
    before(async () => {
      for (let i = 0; i < 45; i++) await s.admin.collection('tags').create({ label: `bulk-${String(i).padStart(2, '0')}` });
    });

    it('defaults perPage to 30 and clamps to 1000, echoing the clamped value', async () => {
      const def = await s.client().collection('tags').getList();
      assert.equal(def.perPage, 30);
      assert.equal(def.items.length, 30);
      const res = (await (await s.fetch('/api/collections/tags/records?perPage=5000')).json()) as {
        perPage: number;
        page: number;
        totalItems: number;
        items: unknown[];
      };
      assert.equal(res.perPage, 1000);
      assert.equal(res.page, 1);
      assert.equal(res.totalItems, res.items.length);
    });

    it('pages, counts and skips the total', async () => {
      const pb = s.client();
      const page2 = await pb.collection('tags').getList(2, 10, { filter: "label ~ 'bulk-'", sort: 'label' });
      assert.equal(page2.items[0]!.label, 'bulk-10');
      assert.equal(page2.totalItems, 45);
      assert.equal(page2.totalPages, 5);
      const skipped = await pb.collection('tags').getList(1, 10, { filter: "label ~ 'bulk-'", skipTotal: true });
      assert.equal(skipped.totalItems, -1);
      assert.equal(skipped.totalPages, -1);
      const all = await pb.collection('tags').getFullList({ filter: "label ~ 'bulk-'", batch: 7 });
      assert.equal(all.length, 45);
    });

    it('sorts ascending, descending, by several fields and randomly', async () => {
      const pb = s.client();
      const desc = await pb.collection('tags').getList(1, 3, { filter: "label ~ 'bulk-'", sort: '-label' });
      assert.deepEqual(
        desc.items.map((t) => t.label),
        ['bulk-44', 'bulk-43', 'bulk-42'],
      );
      const multi = await pb.collection('tags').getList(1, 2, { filter: "label ~ 'bulk-'", sort: '+label,-id' });
      assert.equal(multi.items[0]!.label, 'bulk-00');
      const random = await pb.collection('tags').getList(1, 5, { sort: '@random' });
      assert.equal(random.items.length, 5);
      const rowid = await pb.collection('tags').getList(1, 1, { sort: '-@rowid' });
      assert.equal(rowid.items[0]!.label, 'bulk-44');
    });

    it('getFirstListItem finds a match and 404s without one', async () => {
      const pb = s.client();
      const t = await pb.collection('tags').getFirstListItem(pb.filter('label = {:l}', { l: 'bulk-07' }));
      assert.equal(t.label, 'bulk-07');
      await assert.rejects(pb.collection('tags').getFirstListItem('label = "none"'), (e: ClientResponseError) => e.status === 404);
    });

    it('rejects a non-integer page with 400', async () => {
      const res = await s.fetch('/api/collections/tags/records?page=abc');
      assert.equal(res.status, 400);
      const body = (await res.json()) as Record<string, unknown>;
      assert.equal(body.status, 400);
      assert.deepEqual(Object.keys(body).sort(), ['data', 'message', 'status']);
    });

    it('picks fields, nested fields and excerpts', async () => {
      const pb = s.client();
      const post = await pb.collection('posts').create({ title: 'Picky', body: '<p>Lorem <i>ipsum</i> dolor sit amet</p>' });
      const picked = await pb.collection('posts').getOne(post.id, { fields: 'id,title,body:excerpt(11,true)' });
      assert.deepEqual(Object.keys(picked).sort(), ['body', 'id', 'title']);
      assert.equal(picked.body, 'Lorem ipsum...');
      const list = await pb.collection('posts').getList(1, 2, { fields: 'id' });
      assert.deepEqual(Object.keys(list.items[0]!), ['id']);
      assert.equal(list.perPage, 2, 'envelope keys are kept');
    });
  });

  describe('expand', () => {
    it('expands single, multi and back-relations, nested, through view rules', async () => {
      const pb = s.client();
      const author = await s.admin.collection('authors').create({ name: 'Grace' });
      const t1 = await s.admin.collection('tags').create({ label: 't1' });
      const t2 = await s.admin.collection('tags').create({ label: 't2' });
      const post = await pb.collection('posts').create({ title: 'Expandable', author: author.id, tags: [t2.id, t1.id] });
      const got = await pb.collection('posts').getOne(post.id, { expand: 'author,tags' });
      assert.equal(got.expand?.author.name, 'Grace');
      assert.deepEqual(
        got.expand?.tags.map((t: { label: string }) => t.label),
        ['t2', 't1'],
      );
      const back = await pb.collection('authors').getOne(author.id, { expand: 'posts_via_author' });
      assert.deepEqual(
        back.expand?.posts_via_author.map((p: { id: string }) => p.id),
        [post.id],
      );
      const nested = await pb.collection('authors').getOne(author.id, { expand: 'posts_via_author.tags' });
      assert.equal(nested.expand?.posts_via_author[0].expand.tags.length, 2);
      const none = await pb.collection('posts').getOne(post.id, { expand: 'nonexistent,author.nope' });
      assert.equal(none.expand?.author.name, 'Grace');
    });

    it('leaves out related records the viewer may not see', async () => {
      await s.admin.collections.update('authors', { viewRule: null });
      try {
        const author = await s.admin.collection('authors').create({ name: 'Hidden' });
        const post = await s.client().collection('posts').create({ title: 'Locked author', author: author.id });
        const got = await s.client().collection('posts').getOne(post.id, { expand: 'author' });
        assert.deepEqual(got.expand, {}, 'PocketBase prints an empty expand once the path is valid');
        const asAdmin = await s.admin.collection('posts').getOne(post.id, { expand: 'author' });
        assert.equal(asAdmin.expand?.author.name, 'Hidden');
      } finally {
        await s.admin.collections.update('authors', { viewRule: '' });
      }
    });
  });

  describe('bodies', () => {
    it('saves a plain HTML form (urlencoded) with type inference', async () => {
      const res = await s.fetch('/api/collections/posts/records', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'title=From+a+form&views=42&published=true&topics=a&topics=c',
      });
      assert.equal(res.status, 200);
      const rec = (await res.json()) as Record<string, any>;
      assert.equal(rec.title, 'From a form');
      assert.equal(rec.views, 42);
      assert.equal(rec.published, true);
      assert.deepEqual(rec.topics, ['a', 'c']);
    });

    it('accepts multipart with merged @jsonPayload parts', async () => {
      const form = new FormData();
      form.append('title', 'Multipart');
      form.append('views', '7');
      form.append('@jsonPayload', JSON.stringify({ meta: { a: [1, 2] } }));
      form.append('@jsonPayload', JSON.stringify({ topics: ['b'] }));
      const res = await s.fetch('/api/collections/posts/records', { method: 'POST', body: form });
      assert.equal(res.status, 200);
      const rec = (await res.json()) as Record<string, any>;
      assert.equal(rec.views, 7);
      assert.deepEqual(rec.meta, { a: [1, 2] });
      assert.deepEqual(rec.topics, ['b']);
    });
  });

  describe('delete with relations', () => {
    it('cascades to records whose relation has cascadeDelete', async () => {
      const author = await s.admin.collection('authors').create({ name: 'Cascade' });
      const post = await s.client().collection('posts').create({ title: 'Child', author: author.id });
      await s.admin.collection('authors').delete(author.id);
      await assert.rejects(s.admin.collection('posts').getOne(post.id), (e: ClientResponseError) => e.status === 404);
    });

    it('refuses to break a required relation without cascade, and detaches optional ones', async () => {
      const pb = s.admin;
      const tags = await pb.collections.getOne('tags');
      await pb.collections.create({
        name: 'pins',
        type: 'base',
        fields: [
          { name: 'tag', type: 'relation', collectionId: tags.id, maxSelect: 1, required: true },
          { name: 'others', type: 'relation', collectionId: tags.id, maxSelect: 5 },
        ],
      });
      const t1 = await pb.collection('tags').create({ label: 'req' });
      const t2 = await pb.collection('tags').create({ label: 'opt' });
      const pin = await pb.collection('pins').create({ tag: t1.id, others: [t2.id, t1.id] });
      await assert.rejects(pb.collection('tags').delete(t1.id), (e: ClientResponseError) => {
        assert.equal(e.status, 400);
        assert.match(e.response.message, /required relation/);
        return true;
      });
      assert.ok(await pb.collection('tags').getOne(t1.id), 'nothing was deleted');
      await pb.collection('tags').delete(t2.id);
      const after = await pb.collection('pins').getOne(pin.id);
      assert.deepEqual(after.others, [t1.id]);
    });
  });
});
