/**
 * POST /api/sql, PocketBase v0.39's SQL console, pinned to PocketBase's own API tests (apis/sql_test.go):
 * superusers only, `{execTime, affectedRows, columns, rows}` with text values, the last statement's
 * result, 400s for blank/too-long/invalid queries (the database's message), 1000 rows at most. Plinth's
 * own rules on top: read-only unless the server allows writes (then a write is one transaction), a time
 * limit that answers 400 without blocking the server, and an app-log entry per query.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, TEST_DIALECT, type TestServer } from '../helpers/server.js';
import { login, postJson, signUp } from '../helpers/auth-http.js';

const COUNT_SLOWLY = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 30000000) SELECT count(*) AS n FROM c';

describe('SQL console (POST /api/sql), read-only default', () => {
  let s: TestServer;
  let token: string;
  before(async () => {
    s = await startServer();
    token = s.admin.authStore.token;
  });
  after(async () => {
    await s.close();
  });

  it('is for superusers only: 401 for guests, 403 for other records', async () => {
    assert.equal((await postJson(s, '/api/sql', { query: 'select 1' })).status, 401);
    await signUp(s, 'sql-user@example.com');
    const user = await login(s, 'sql-user@example.com');
    const res = await postJson(s, '/api/sql', { query: 'select 1' }, user.authStore.token);
    assert.equal(res.status, 403);
    assert.deepEqual(res.body.data, {});
  });

  it("answers PocketBase's shape: execTime, affectedRows, columns {name,type,nullable}, rows of text", async () => {
    const res = await postJson(s, '/api/sql', { query: "select 1 as one, 'x' as two, null as three, 1.5 as four" }, token);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(Object.keys(res.body), ['execTime', 'affectedRows', 'columns', 'rows']);
    assert.equal(typeof res.body.execTime, 'number');
    assert.equal(res.body.affectedRows, 0);
    assert.deepEqual(res.body.rows, [['1', 'x', null, '1.5']]);
    const cols = res.body.columns as { name: string; type: string; nullable: boolean }[];
    assert.deepEqual(
      cols.map((c) => c.name),
      ['one', 'two', 'three', 'four'],
    );
    if (TEST_DIALECT === 'sqlite')
      assert.deepEqual(cols[0], { name: 'one', type: '', nullable: true }); // as PocketBase's test
    else assert.equal(cols[0]?.type, 'INT4');
    if (TEST_DIALECT === 'sqlite') {
      const pb = await postJson(s, '/api/sql', { query: 'select 1' }, token);
      assert.deepEqual(pb.body.columns, [{ name: '1', type: '', nullable: true }]);
      assert.deepEqual(pb.body.rows, [['1']]);
    }
  });

  it("reads any table (internal ones too) with declared types and NOT NULL as nullable false, through the SDK's pb.sql.run", async () => {
    const res = await s.admin.sql.run('SELECT id, email FROM _superusers');
    assert.equal(res.rows.length, 1);
    assert.equal(res.rows[0]?.[1], 'admin@example.com');
    const email = res.columns[1];
    assert.equal(email?.name, 'email');
    assert.equal(email?.type, 'TEXT');
    assert.equal(email?.nullable, false);
  });

  it("returns the last statement's result for several reads", async () => {
    const res = await postJson(s, '/api/sql', { query: 'select 1 as a; select 2 as b' }, token);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.columns, [{ name: 'b', type: TEST_DIALECT === 'sqlite' ? '' : 'INT4', nullable: true }]);
    assert.deepEqual(res.body.rows, [['2']]);
  });

  it('caps the rows at 1000', async () => {
    const q = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000) SELECT x FROM c';
    const res = await postJson(s, '/api/sql', { query: q }, token);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal((res.body.rows as unknown[]).length, 1000);
    assert.deepEqual((res.body.rows as unknown[][])[999], ['1000']);
  });

  it("400s a blank, too long or invalid query (PocketBase's fields and messages)", async () => {
    await assert.rejects(s.admin.sql.run('not sql'), (e: { status: number }) => e.status === 400);
    const blank = await postJson(s, '/api/sql', { query: '' }, token);
    assert.equal(blank.status, 400);
    assert.equal((blank.body.data as { query: { code: string } }).query.code, 'validation_required');
    const missing = await postJson(s, '/api/sql', {}, token);
    assert.equal(missing.status, 400);
    const long = await postJson(s, '/api/sql', { query: 'a'.repeat(5001) }, token);
    assert.equal(long.status, 400);
    assert.equal((long.body.data as { query: { code: string } }).query.code, 'validation_length_too_long');
    const edge = await postJson(s, '/api/sql', { query: `select '${'a'.repeat(4985)}' as id` }, token);
    assert.equal(edge.status, 200);
    const typed = await postJson(s, '/api/sql', { query: 42 }, token);
    assert.equal(typed.status, 400);
    const bad = await postJson(s, '/api/sql', { query: 'invalid' }, token);
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.data, {});
    assert.match(String(bad.body.message), /Raw error:\n.*syntax error/s);
    const missingTable = await postJson(s, '/api/sql', { query: 'select * from no_such_table' }, token);
    assert.equal(missingTable.status, 400);
    assert.match(String(missingTable.body.message), /no_such_table/);
  });

  it("is read-only by default: a write is refused with the database's message and changes nothing", async () => {
    const res = await postJson(s, '/api/sql', { query: 'create table test_sql_table(id int primary key)' }, token);
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.match(String(res.body.message), /read-?only/i);
    const del = await postJson(s, '/api/sql', { query: 'delete from _superusers' }, token);
    assert.equal(del.status, 400);
    assert.ok(!(await s.app.db.tableNames()).includes('test_sql_table'));
    const count = await postJson(s, '/api/sql', { query: 'select count(*) as n from _superusers' }, token);
    assert.deepEqual(count.body.rows, [['1']]);
    if (TEST_DIALECT === 'postgres') {
      const escape = await postJson(s, '/api/sql', { query: 'commit; delete from _superusers' }, token);
      assert.equal(escape.status, 400);
      const flip = await postJson(s, '/api/sql', { query: 'set transaction read write; delete from _superusers' }, token);
      assert.equal(flip.status, 400);
      assert.deepEqual((await postJson(s, '/api/sql', { query: 'select count(*) as n from _superusers' }, token)).body.rows, [['1']]);
    }
  });

  it('writes each query to the app log', async () => {
    await postJson(s, '/api/sql', { query: "select 'logged' as marker" }, token);
    await s.app.logs.flush();
    const logs = await s.admin.logs.getList(1, 50, { filter: 'message ~ "SQL console"' });
    assert.ok(
      logs.items.some((l) => String((l.data as { query?: string }).query).includes("'logged'")),
      JSON.stringify(logs.items.map((l) => l.data)),
    );
  });
});

describe('SQL console with writes allowed', () => {
  let s: TestServer;
  let token: string;
  before(async () => {
    s = await startServer({ server: { sqlConsole: { write: true } } });
    token = s.admin.authStore.token;
  });
  after(async () => {
    await s.close();
  });

  it('runs a write script in one transaction: affectedRows, no rows', async () => {
    const res = await postJson(s, '/api/sql', { query: 'create table test_sql_table(id int primary key);insert into test_sql_table(id)VALUES(1)' }, token);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.affectedRows, 1);
    assert.deepEqual(res.body.columns, []);
    assert.deepEqual(res.body.rows, []);
    const read = await postJson(s, '/api/sql', { query: 'select id from test_sql_table' }, token);
    assert.deepEqual(read.body.rows, [['1']]);
  });

  it('rolls the whole script back when a statement fails', async () => {
    const res = await postJson(
      s,
      '/api/sql',
      { query: 'create table test_sql_rollback(id int primary key);insert into test_sql_rollback(id)VALUES(1);invalid' },
      token,
    );
    assert.equal(res.status, 400);
    assert.match(String(res.body.message), /Raw error:/);
    assert.ok(!(await s.app.db.tableNames()).includes('test_sql_rollback'));
  });
});

describe('SQL console time limit', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ server: { sqlConsole: { timeoutMs: 400 } } });
  });
  after(async () => {
    await s.close();
  });

  it('stops a query at the time limit with a 400 and keeps serving meanwhile', async () => {
    const started = Date.now();
    const slow = postJson(s, '/api/sql', { query: COUNT_SLOWLY }, s.admin.authStore.token);
    await new Promise((r) => setTimeout(r, 50));
    const health = await s.fetch('/api/health');
    assert.equal(health.status, 200);
    const res = await slow;
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.match(String(res.body.message), /time limit/);
    assert.ok(Date.now() - started < 2500, `took ${Date.now() - started} ms`);
  });

  // SQLite only: PostgreSQL's console queries wait for a pooled connection instead.
  if (TEST_DIALECT === 'sqlite')
    it('runs at most 4 console reads at once on SQLite (each is a thread with a connection): 429 beyond', async () => {
      const q = COUNT_SLOWLY.replace('30000000', '10000000');
      const answers = await Promise.all(Array.from({ length: 6 }, () => postJson(s, '/api/sql', { query: q }, s.admin.authStore.token)));
      const statuses = answers.map((a) => a.status);
      assert.ok(statuses.includes(429), statuses.join());
      assert.ok(
        statuses.every((st) => st === 429 || st === 400),
        statuses.join(),
      );
    });
});
