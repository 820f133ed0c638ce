/**
 * The slow-query log: statements at or above the threshold are logged with their SQL text (placeholders, never
 * the values), the duration and the id of the request that ran them (through async handlers and body
 * parsing), in the app log and the request logs; faster ones are not. Both dialects, with a threshold of 0 and
 * with a deliberately slow statement (pg_sleep on PostgreSQL, a long recursive CTE on SQLite).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { sql } from '../../src/db/sql.js';
import { RouteRegistry } from '../../src/http/custom-routes.js';
import { startServer, TEST_DIALECT, type TestServer } from '../helpers/server.js';

interface SlowLine {
  level: number;
  msg: string;
  sql?: string;
  ms?: number;
  requestId?: string;
}

/** A statement that takes a few hundred ms on this dialect. */
const SLOW =
  TEST_DIALECT === 'postgres'
    ? sql`SELECT pg_sleep(0.4) IS NULL AS slept`
    : sql`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) SELECT COUNT(*) AS n FROM c`;

describe('slow-query log', () => {
  let s: TestServer;
  const lines: SlowLine[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as SlowLine) });
  const slowLines = () => lines.filter((l) => l.msg === 'slow query');
  const routes = new RouteRegistry();
  routes.post('/api/test/slow', async (c) => {
    await new Promise((r) => setTimeout(r, 5)); // a hop through a timer before the statement
    await s.app.db.get(SLOW);
    return { got: c.request.body };
  });
  let noteId = '';

  before(async () => {
    s = await startServer({ logger, routes, metrics: { slowQueryRequestIds: true } });
    await s.admin.collections.create({ name: 'notes', type: 'base', fields: [{ name: 't', type: 'text' }], viewRule: '', createRule: '' });
    noteId = (await s.client().collection('notes').create({ t: 'secret value 42' })).id;
  });
  after(async () => {
    await s.close();
  });

  const slowLog = () => {
    const log = s.app.metrics.slowQueries;
    assert.ok(log, 'the slow-query log is on by default');
    return log;
  };

  it('is on by default at 500 ms, and a fast statement is not logged', async () => {
    assert.equal(slowLog().thresholdMs, 500);
    lines.length = 0;
    assert.equal((await s.fetch(`/api/collections/notes/records/${noteId}`)).status, 200);
    assert.deepEqual(slowLines(), []);
  });

  it('with a threshold of 0 every statement of a request is logged with its text (no values) and the request id', async () => {
    slowLog().thresholdMs = 0;
    lines.length = 0;
    try {
      const res = await s.fetch(`/api/collections/notes/records/${noteId}`, { headers: { 'x-request-id': 'slow-view-1' } });
      assert.equal(res.status, 200);
    } finally {
      slowLog().thresholdMs = 500;
    }
    const mine = slowLines().filter((l) => l.requestId === 'slow-view-1');
    assert.ok(mine.length >= 1, JSON.stringify(slowLines()));
    const view = mine.find((l) => /SELECT/i.test(l.sql ?? '') && (l.sql ?? '').includes('notes'));
    assert.ok(view, JSON.stringify(mine));
    assert.equal(typeof view.ms, 'number');
    assert.equal(view.level, 40, 'logged as a warning');
    for (const l of mine) {
      assert.equal((l.sql ?? '').includes(noteId), false, 'the record id is a bound value, not in the text');
      assert.equal((l.sql ?? '').includes('secret value 42'), false);
    }
  });

  it('a deliberately slow statement inside a POST request is logged once, with the request id, in the app log and the request logs', async () => {
    slowLog().thresholdMs = 200;
    lines.length = 0;
    const before = slowLog().count;
    try {
      const res = await s.fetch('/api/test/slow', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'slow-post-1' },
        body: JSON.stringify({ a: 1 }),
      });
      assert.equal(res.status, 200, await res.clone().text());
    } finally {
      slowLog().thresholdMs = 500;
    }
    const logged = slowLines();
    assert.equal(logged.length, 1, JSON.stringify(logged));
    const [line] = logged;
    assert.equal(line?.requestId, 'slow-post-1');
    assert.ok((line?.ms ?? 0) >= 200);
    assert.match(line?.sql ?? '', TEST_DIALECT === 'postgres' ? /pg_sleep/ : /WITH RECURSIVE/);
    assert.equal(slowLog().count, before + 1);
    await s.app.logs.flush();
    const entries = await s.admin.logs.getList(1, 10, { filter: "data.type = 'slowQuery' && data.requestId = 'slow-post-1'" });
    assert.equal(entries.items.length, 1);
    assert.ok(Number(entries.items[0]?.data.ms) >= 200);
    // …and counted in the metrics.
    const metrics = await (await s.fetch('/api/metrics', { headers: { authorization: s.admin.authStore.token } })).text();
    assert.match(metrics, /^plinth_slow_queries_total [1-9]/m);
  });

  it('a slow statement outside any request (a job, a cron) is logged with an empty request id', async () => {
    slowLog().thresholdMs = 200;
    lines.length = 0;
    try {
      await new Promise((r) => setTimeout(r, 10)); // out of the test's own async context chain of a request
      await s.app.db.get(SLOW);
    } finally {
      slowLog().thresholdMs = 500;
    }
    const [line] = slowLines();
    assert.equal(line?.requestId, '');
  });
});
