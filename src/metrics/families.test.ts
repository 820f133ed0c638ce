/** The request-path metric families and the statement classifier: Prometheus bucket semantics, cheap labels. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HistogramFamily, countOf } from './families.js';
import { statementKind } from './index.js';

test('a histogram child counts a value in the first bucket whose bound is ≥ it (le is inclusive), +Inf past the last', async () => {
  const h = new HistogramFamily('x_seconds', 'x', [0.1, 1]);
  const c = h.child({ route: '/a' });
  for (const v of [0.05, 0.1, 0.5, 1, 7]) c.observe(v);
  assert.deepEqual([...c.counts], [2, 2, 1]);
  assert.equal(c.count, 5);
  assert.ok(Math.abs(c.sum - 8.65) < 1e-9);
  assert.equal(h.child({ route: '/a' }), c, 'one child per label set');
  const { values } = await h.get();
  const buckets = values.filter((v) => v.metricName === 'x_seconds_bucket').map((v) => [v.labels.le, v.value]);
  assert.deepEqual(buckets, [
    [0.1, 2],
    [1, 4],
    ['+Inf', 5],
  ]);
  const counter = await countOf('x_total', 'x', h).get();
  assert.deepEqual(counter.values, [{ labels: { route: '/a' }, value: 5 }]);
});

test('statement kinds come from the first keyword', () => {
  const cases: Array<[string, string]> = [
    ['SELECT 1', 'select'],
    ['  select * from t', 'select'],
    ['INSERT INTO t VALUES (?)', 'insert'],
    ['UPDATE t SET a = ?', 'update'],
    ['DELETE FROM t', 'delete'],
    ['WITH x AS (SELECT 1) SELECT * FROM x', 'with'],
    ['BEGIN IMMEDIATE', 'transaction'],
    ['COMMIT', 'transaction'],
    ['ROLLBACK', 'transaction'],
    ['SAVEPOINT "sp1"', 'transaction'],
    ['RELEASE SAVEPOINT "sp1"', 'transaction'],
    ['CREATE TABLE t (a TEXT)', 'other'],
    ['DROP TABLE t', 'other'],
    ['PRAGMA optimize', 'other'],
    ['', 'other'],
  ];
  for (const [text, kind] of cases) assert.equal(statementKind(text), kind, text);
});
