import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SqliteDatabase } from '../db/dialects/sqlite/sqlite-database.js';
import { sqliteDialect } from '../db/dialects/sqlite/sqlite-dialect.js';
import { AppError } from '../errors/index.js';
import type { CompileOptions } from './context.js';
import { ids, openFixtureDb, options, superuserRequest, users } from './fixtures.test-util.js';
import { guestRequest } from './request-info.js';
import { compileSort } from './sort.js';

let db: SqliteDatabase;
before(async () => {
  db = await openFixtureDb();
});
after(async () => {
  await db.close();
});

const client: Partial<CompileOptions> = { mode: 'client', request: guestRequest() };
const order = (sort: string, opts: Partial<CompileOptions> = {}) => ids(db, `id != ''`, opts, `${sort}`);

function rejects(sort: string, status: number, re: RegExp, opts: Partial<CompileOptions> = {}): void {
  assert.throws(
    () => compileSort(sort, options(opts)),
    (err: unknown) => err instanceof AppError && err.status === status && re.test(err.message),
    sort,
  );
}

describe('compileSort', () => {
  it('orders by fields, ASC by default, - for DESC, + for ASC', async () => {
    assert.deepEqual(await order('-views'), ['p4', 'p1', 'p3', 'p2']);
    assert.deepEqual(await order('+views'), ['p2', 'p3', 'p1', 'p4']);
    assert.deepEqual(await order(' published , -created '), ['p2', 'p1', 'p4', 'p3']);
    assert.deepEqual(await order('title:lower,id'), ['p2', 'p3', 'p1', 'p4']);
  });

  it('emits SQL over the root alias with no ORDER BY keyword', () => {
    const out = sqliteDialect.compile(compileSort('-views,title', options()));
    assert.equal(out.text, `"_r"."views" DESC, "_r"."title" ASC`);
    assert.equal(compileSort('  ', options()).isEmpty, true);
  });

  it('supports @rowid and @random', async () => {
    assert.deepEqual(await order('-@rowid'), ['p4', 'p3', 'p2', 'p1']);
    assert.equal(sqliteDialect.compile(compileSort('@random', options())).text, 'RANDOM()');
    assert.equal(sqliteDialect.compile(compileSort('@rowid', options())).text, `"_r"._rowid_ ASC`);
  });

  it('sorts by JSON paths and single-relation paths', async () => {
    assert.deepEqual(await order('meta.s,id'), ['p2', 'p3', 'p1', 'p4']);
    assert.deepEqual(await order('-author.name,id'), ['p3', 'p2', 'p1', 'p4']);
    assert.deepEqual(await order('categories:length,id'), ['p3', 'p2', 'p4', 'p1']);
    assert.deepEqual(await order('categories,id'), ['p1', 'p2', 'p4', 'p3']); // stored JSON text ('[]' sorts after '["…')
  });

  it('applies the hop listRule for clients (hidden rows sort as NULL)', async () => {
    // Cid (p3's author) is unverified, so a client sees no name for him
    assert.deepEqual(await order('-author.name,id', client), ['p2', 'p1', 'p3', 'p4']);
    assert.deepEqual(await order('email,id', { ...client, collection: users }), ['u2', 'u1', 'u3']); // bob's email is hidden
  });

  it('rejects invalid, multi-valued, hidden and oversized sorts with invalid_sort', () => {
    rejects('nope', 400, /invalid sort field "nope"/);
    rejects('tags.name', 400, /invalid sort field "tags.name"/);
    rejects('comments_via_post.message', 400, /invalid sort field/);
    rejects('@request.auth.id', 400, /invalid sort field/, { request: superuserRequest(), mode: 'client' });
    rejects('title,,views', 400, /invalid sort field ""/);
    rejects('title"--', 400, /invalid sort field/);
    rejects('title;DROP', 400, /invalid sort field/);
    rejects('a,b,c,d,e,f,g,h,i', 400, /too many sort fields \(max 8\)/);
    rejects('x'.repeat(256), 400, /invalid sort field/);
    rejects('note', 400, /^Invalid sort: invalid sort field$/, client); // same as an unknown field, no name echoed
    rejects('nope', 400, /^Invalid sort: invalid sort field$/, client);
    rejects('author.password', 400, /invalid sort field/, client);
    rejects('author.team.name', 400, /invalid sort field/, client);
    assert.doesNotThrow(() => compileSort('note', options({ mode: 'client', request: superuserRequest() })));
  });

  it('forbids @collection and @request for non-superuser clients (403)', () => {
    rejects('@collection.members.role', 403, /Only superusers can filter by @collection\./, client);
    rejects('-@request.auth.id', 403, /Only superusers can filter by @request\./, client);
  });
});
