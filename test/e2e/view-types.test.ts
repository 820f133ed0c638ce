/**
 * Issue 11, defect 6: a view collection's computed columns get PocketBase's types on both dialects: COUNT(*)
 * and total() are `number` (as core/view.go), so are the other numeric aggregates and arithmetic over number
 * fields, CAST picks number/text/bool by its target type, and everything else computed stays `json`. The
 * records carry real JSON numbers (PostgreSQL's bigint COUNT arrives as a string and is converted).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, TEST_DIALECT, type TestServer } from '../helpers/server.js';
import { inferExpressionTypes } from '../../src/collections/view-expressions.js';

let s: TestServer;

const QUERY = `SELECT (ROW_NUMBER() OVER ()) AS id, p.cat,
  COUNT(*) AS n, count(DISTINCT p.title) n_titles, SUM(p.views) AS total_views, AVG(p.views) AS avg_views,
  MIN(p.views) AS min_views, MAX(p.views) AS max_views, SUM(p.views) * 2 + 1 AS arith, -MIN(p.views) AS neg,
  COALESCE(MAX(p.views), 0) AS co, CAST(SUM(p.views) AS INTEGER) AS casted, CAST(MAX(p.views) > 1 AS BOOLEAN) AS big,
  CAST(COUNT(*) AS TEXT) AS n_text, MAX(p.title) AS last_title, MAX(p.cat) || '!' AS shout
  FROM posts p GROUP BY p.cat`;

const EXPECTED: Record<string, string> = {
  id: 'text',
  cat: 'text',
  n: 'number',
  n_titles: 'number',
  total_views: 'number',
  avg_views: 'number',
  min_views: 'number',
  max_views: 'number',
  arith: 'number',
  neg: 'number',
  co: 'number',
  casted: 'number',
  big: 'bool',
  n_text: 'text',
  last_title: 'json',
  shout: 'json',
};

describe(`view collections type computed columns (${TEST_DIALECT})`, () => {
  before(async () => {
    s = await startServer();
    await s.admin.collections.create({
      name: 'posts',
      type: 'base',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'views', type: 'number' },
        { name: 'cat', type: 'text' },
      ],
      listRule: '',
    });
    for (let i = 0; i < 5; i++) await s.admin.collection('posts').create({ title: `t${i}`, views: i * 1.5, cat: i % 2 ? 'a' : 'b' });
  });

  after(async () => {
    await s.close();
  });

  it('COUNT/SUM/AVG/MIN/MAX and arithmetic are number fields, CAST follows its type, the rest json', async () => {
    const view = await s.admin.collections.create({ name: 'stats', type: 'view', viewQuery: QUERY, listRule: '' });
    assert.deepEqual(Object.fromEntries(view.fields.map((f: { name: string; type: string }) => [f.name, f.type])), EXPECTED);
  });

  it('the records hold JSON numbers (and booleans), not strings', async () => {
    const rows = await s.client().collection('stats').getFullList({ sort: 'cat' });
    assert.equal(rows.length, 2);
    const [a, b] = rows as Array<Record<string, unknown>>;
    // cat a: views 1.5, 4.5; cat b: 0, 3, 6
    assert.deepEqual(
      {
        n: a?.n,
        n_titles: a?.n_titles,
        total: a?.total_views,
        avg: a?.avg_views,
        min: a?.min_views,
        max: a?.max_views,
        arith: a?.arith,
        neg: a?.neg,
        co: a?.co,
        casted: a?.casted,
        big: a?.big,
        n_text: a?.n_text,
      },
      { n: 2, n_titles: 2, total: 6, avg: 3, min: 1.5, max: 4.5, arith: 13, neg: -1.5, co: 4.5, casted: 6, big: true, n_text: '2' },
    );
    assert.equal(b?.n, 3);
    assert.equal(b?.total_views, 9);
    assert.equal(typeof b?.avg_views, 'number');
    // Filters and sorts on the number fields compare numbers.
    const big = await s.client().collection('stats').getFullList({ filter: 'n > 2' });
    assert.deepEqual(
      big.map((r) => r.cat),
      ['b'],
    );
  });

  it('the SDK-visible schema is the same on a plain COUNT(*) view (the typegen case)', async () => {
    const view = await s.admin.collections.create({
      name: 'post_counts',
      type: 'view',
      viewQuery: 'SELECT cat AS id, COUNT(*) AS total FROM posts GROUP BY cat',
      listRule: '',
    });
    assert.equal(view.fields.find((f: { name: string }) => f.name === 'total')?.type, 'number');
    const rows = await s.client().collection('post_counts').getFullList({ sort: 'id' });
    assert.deepEqual(
      rows.map((r) => [r.id, r.total]),
      [
        ['a', 2],
        ['b', 3],
      ],
    );
  });
});

describe('inferExpressionTypes (the select-list reader)', () => {
  const schema = {
    find: (name: string) =>
      name === 'posts'
        ? ({
            name: 'posts',
            fields: [
              { name: 'views', type: 'number' },
              { name: 'title', type: 'text' },
            ],
          } as never)
        : undefined,
  } as never;

  it('reads aliases with and without AS, WITH queries, DISTINCT and quoted identifiers', () => {
    assert.deepEqual(inferExpressionTypes('SELECT DISTINCT id, views + 1 v, "views" * 2 AS "w", title FROM posts', 4, schema), [
      null,
      'number',
      'number',
      null,
    ]);
    assert.deepEqual(inferExpressionTypes('WITH x AS (SELECT id, views FROM posts) SELECT id, total(views) AS t FROM x', 2, schema), [null, 'number']);
    assert.deepEqual(inferExpressionTypes("SELECT id, views || 'x' AS s, title + 1 AS t, abs(title) AS a FROM posts", 4, schema), [null, null, null, 'number']);
    assert.deepEqual(inferExpressionTypes('SELECT id, views::text AS t, (views)::numeric AS n FROM posts', 3, schema), [null, 'text', 'number']);
  });

  it('gives up (null) on * and on a list that does not line up', () => {
    assert.equal(inferExpressionTypes('SELECT * FROM posts', 3, schema), null);
    assert.equal(inferExpressionTypes('SELECT p.*, 1 AS one FROM posts p', 4, schema), null);
    assert.equal(inferExpressionTypes('SELECT id, views FROM posts', 3, schema), null);
  });
});
