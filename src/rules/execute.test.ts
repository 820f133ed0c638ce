/** Execution tests: compiled filters run on a real in-memory SQLite database and we check the rows. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SqliteDatabase } from '../db/dialects/sqlite/sqlite-database.js';
import { AppError } from '../errors/index.js';
import type { CompileOptions } from './context.js';
import { ident, sql } from '../db/sql.js';
import { compileFilter } from './compile.js';
import { authAs, ids, openFixtureDb, options, superuserRequest, teams, users } from './fixtures.test-util.js';
import { guestRequest, type RequestInfo } from './request-info.js';

let db: SqliteDatabase;
before(async () => {
  db = await openFixtureDb();
});
after(async () => {
  await db.close();
});

const ann = () => guestRequest({ auth: authAs('u1') });
const cid = () => guestRequest({ auth: authAs('u3') });
const body = (data: Record<string, unknown>, auth: RequestInfo['auth'] = null) => guestRequest({ body: data, auth, method: 'POST' });

/** Asserts the matching post ids (or ids of `opts.collection`). */
async function expectIds(filter: string, expected: string[], opts: Partial<CompileOptions> = {}): Promise<void> {
  assert.deepEqual(await ids(db, filter, opts), expected, filter);
}

async function expectError(filter: string, status: number, re: RegExp, opts: Partial<CompileOptions> = {}): Promise<AppError> {
  try {
    await ids(db, filter, opts);
  } catch (err) {
    assert.ok(err instanceof AppError, `expected AppError, got ${String(err)}`);
    assert.equal(err.status, status, `${filter}: ${err.message}`);
    assert.match(err.message, re);
    return err;
  }
  assert.fail(`${filter}: expected an error`);
}

describe('= and != are null-safe against empty values', () => {
  it('matches "" and NULL alike', async () => {
    await expectIds(`title = ''`, ['p2']);
    await expectIds(`title = null`, ['p2']);
    await expectIds(`'' = title`, ['p2']);
    await expectIds(`title != ''`, ['p1', 'p3', 'p4']);
    await expectIds(`title != null`, ['p1', 'p3', 'p4']);
    await expectIds(`author = ''`, ['p4']);
    await expectIds(`meta = null`, ['p2']); // json: NULL only
    await expectIds(`'' = null && null = ''`, ['p1', 'p2', 'p3', 'p4']);
    await expectIds(`'a' != 'b'`, ['p1', 'p2', 'p3', 'p4']);
  });

  it('compares numbers, booleans and numeric text', async () => {
    await expectIds(`views = 10`, ['p1']);
    await expectIds(`views = '10'`, ['p1']); // NUMERIC affinity, as PocketBase's direct comparison
    await expectIds(`views > 5 && views <= 100`, ['p1', 'p3', 'p4']);
    await expectIds(`views < 5.5`, ['p2']);
    await expectIds(`views >= -1`, ['p1', 'p2', 'p3', 'p4']);
    await expectIds(`published = true`, ['p1', 'p3', 'p4']);
    await expectIds(`published = FALSE`, ['p2']);
    await expectIds(`published != true`, ['p2']);
    await expectIds(`id = 'p3' || id = "p4"`, ['p3', 'p4']);
  });
});

describe('query plans', () => {
  it('equality on an indexed NOT NULL root column uses the index (no full scan)', async () => {
    await db.run(sql`CREATE INDEX IF NOT EXISTS idx_posts_author ON posts (author)`);
    for (const [filter, request] of [
      [`author = 'u1'`, guestRequest()],
      [`author = @request.auth.id`, ann()],
      [`id = 'p1' || id = ''`, guestRequest()],
    ] as const) {
      const where = compileFilter(filter, options({ request }));
      const plan = await db.all<{ detail: string }>(sql`EXPLAIN QUERY PLAN SELECT ${ident('_r', 'id')} FROM posts AS ${ident('_r')} WHERE ${where}`);
      const details = plan.map((p) => p.detail).join(' | ');
      assert.match(details, /USING (COVERING )?INDEX/, `${filter}: ${details}`);
      assert.doesNotMatch(details, /^SCAN _r/, `${filter}: ${details}`);
    }
  });
});

describe('~ and !~', () => {
  it('wraps literals in %…% with \\ % _ escaped', async () => {
    await expectIds(`title ~ 'WORLD'`, ['p1']); // ASCII case-insensitive
    await expectIds(`title ~ 'o_w'`, []); // `_` is literal, not a wildcard
    await expectIds(`title ~ 'off_'`, ['p3']);
    await expectIds(`title ~ '\\ b'`, ['p3']); // a literal backslash (a text can't end in one: `\'` escapes the quote)
    await expectIds(`title ~ "\\"quoted\\""`, ['p4']);
    await expectIds(`title ~ "It's"`, ['p4']);
    await expectIds(`title !~ 'o'`, ['p2']);
    await expectIds(`title !~ 'world'`, ['p2', 'p3', 'p4']);
    await expectIds(`title ~ ''`, ['p1', 'p2', 'p3', 'p4']);
  });

  it('uses a literal holding an unescaped % as the pattern itself', async () => {
    await expectIds(`title ~ '50%'`, ['p3']); // prefix match
    await expectIds(`title ~ '%o_w%'`, ['p1']); // `_` is a wildcard here
    await expectIds(`title ~ '%50\\%%'`, ['p3']); // escaped % inside a pattern
  });

  it('wraps a field on the right as contains', async () => {
    await expectIds(`status ~ title`, ['p2']); // '' is contained in everything
    await expectIds(`title ~ @request.query.q`, ['p1'], { request: guestRequest({ query: { q: 'o w' } }) });
    await expectIds(`title ~ @request.query.q`, [], { request: guestRequest({ query: { q: 'o_w' } }) });
  });
});

describe('multi-valued operands: match-all by default, any with ?op', () => {
  it('multi select fields, bare and :each', async () => {
    await expectIds(`categories ?= 'a'`, ['p1', 'p2']);
    await expectIds(`categories = 'a'`, ['p2']);
    await expectIds(`categories:each ?= 'b'`, ['p1']);
    await expectIds(`categories:each != 'c'`, ['p1', 'p2']);
    await expectIds(`categories:each ?!= 'a'`, ['p1', 'p3', 'p4']); // p3: the empty list's NULL row is != 'a' (as PocketBase)
    await expectIds(`categories = ''`, ['p3']); // an empty list behaves like one empty value
    await expectIds(`categories:lower ?= 'A'`, []);
    await expectIds(`categories:lower ?= 'a'`, ['p1', 'p2']);
  });

  it('paths through multi relations', async () => {
    await expectIds(`tags.name ?= 'tech'`, ['p1', 'p2']);
    await expectIds(`tags.name = 'tech'`, ['p2']);
    await expectIds(`tags.name ?~ 'real'`, ['p4']);
    await expectIds(`tags.name != 'news'`, ['p2']); // empty (p3) and dangling (p4) relations fail match-all, as PocketBase
    await expectIds(`tags ?= 'g3'`, ['p4']);
    await expectIds(`tags.id ?= 'g1'`, ['p1']);
  });

  it('several references to one path read the same joined row', async () => {
    await expectIds(`tags.name ?= 'news' && tags.name ?= 'tech'`, []);
    await expectIds(`tags.id ?= 'g1' && tags.name ?= 'news'`, ['p1']);
    await expectIds(`tags.id ?= 'g1' && tags.name ?= 'tech'`, []);
    await expectIds(`tags:each ?= 'g2' && tags.name ?= 'tech'`, ['p1', 'p2']);
  });

  it('back-relations', async () => {
    await expectIds(`comments_via_post.message ?= 'great'`, ['p1', 'p2']);
    await expectIds(`comments_via_post.message = 'great'`, ['p2']);
    await expectIds(`comments_via_post.author.name ?= 'Cid'`, ['p1']);
    await expectIds(`comments_via_post.id = ''`, ['p3', 'p4']); // no comments
    await expectIds(`users_via_friends.name ?= 'Cid'`, ['u1', 'u2'], { collection: users });
    await expectIds(`users_via_friends.name ?= 'Ann'`, ['u2'], { collection: users });
  });

  it(':length on lists, single values and request data', async () => {
    await expectIds(`categories:length > 1`, ['p1']);
    await expectIds(`tags:length = 0`, ['p3']);
    await expectIds(`status:length = 0`, ['p3']);
    await expectIds(`author.friends:length = 2`, ['p3']);
    await expectIds(`@request.body.tags:length = tags:length`, ['p1', 'p4'], { request: body({ tags: ['g1', 'g2'] }) });
  });

  it('many against many', async () => {
    await expectIds(`categories ?= tags`, ['p3']); // both empty
    await expectIds(`tags:each ?= tags.id`, ['p1', 'p2', 'p3', 'p4']); // p3: empty = empty
    await expectIds(`tags:each = tags.id`, ['p2', 'p3']); // every id equals every id only when there is at most one
  });
});

describe('@collection joins', () => {
  it('references to one alias share a row; different aliases do not', async () => {
    await expectIds(`@collection.members.user ?= author && @collection.members.role ?= 'editor'`, ['p1']);
    await expectIds(`@collection.members.user ?= author && @collection.members.role ?= 'viewer'`, ['p2']);
    await expectIds(`@collection.members:a.user ?= author && @collection.members:b.role ?= 'viewer'`, ['p1', 'p2']);
    await expectIds(`@collection.members.role = 'editor'`, []); // match-all over the whole collection
    await expectIds(`@collection.members.role ?= 'editor'`, ['p1', 'p2', 'p3', 'p4']);
    await expectIds(`@collection.members.user.name ?= 'Bob' && @collection.members.user ?= author`, ['p2']);
  });
});

describe('@request.*', () => {
  it('@request.auth for guests and users, including hidden fields and collection info', async () => {
    await expectIds(`author = @request.auth.id`, ['p1'], { request: ann() });
    await expectIds(`author = @request.auth.id`, ['p4'], {}); // guest: empty id matches empty author
    await expectIds(`@request.auth.id != ''`, [], {});
    await expectIds(`@request.auth.id != '' && @request.auth.verified = true`, ['p1', 'p2', 'p3', 'p4'], { request: ann() });
    await expectIds(`@request.auth.collectionName = 'users' && @request.auth.collectionId = '_pb_users_auth_'`, ['p1', 'p2', 'p3', 'p4'], { request: ann() });
    await expectIds(`@request.auth.secret = 's3cret'`, ['p1', 'p2', 'p3', 'p4'], { request: ann() });
    await expectIds(`@request.auth.secret = 's3cret'`, [], { request: cid() });
    await expectIds(`@request.auth.nope = null`, ['p1', 'p2', 'p3', 'p4'], { request: ann() });
    await expectIds(`@request.auth.role:isset = true && @request.auth.nope:isset = false`, ['p1', 'p2', 'p3', 'p4'], { request: ann() });
    await expectIds(`@request.auth.name:lower = 'ann'`, ['p1', 'p2', 'p3', 'p4'], { request: ann() });
  });

  it('relation hops through the auth record', async () => {
    await expectIds(`@request.auth.team.name = 'red'`, ['p1', 'p2', 'p3', 'p4'], { request: ann() });
    await expectIds(`@request.auth.team.name = 'red'`, [], { request: cid() });
    await expectIds(`@request.auth.friends.name ?= author.name`, ['p2'], { request: ann() });
    await expectIds(`@request.auth.friends.name ?= author.name`, ['p1', 'p2'], { request: cid() });
    await expectIds(`@request.auth.friends ?= author`, ['p1', 'p2'], { request: cid() });
    await expectIds(`@request.auth.friends = author`, [], { request: cid() });
  });

  it('@request.body with :isset, :changed, :length, :each, :lower and relation hops', async () => {
    await expectIds(`@request.body.title:isset = true`, ['p1', 'p2', 'p3', 'p4'], { request: body({ title: 'x' }) });
    await expectIds(`@request.body.title:isset = true`, [], { request: body({}) });
    await expectIds(`@request.body.title = title`, ['p1'], { request: body({ title: 'Hello world' }) });
    await expectIds(`@request.body.title:changed = false`, ['p1'], { request: body({ title: 'Hello world' }) });
    await expectIds(`@request.body.title:changed = true`, ['p2', 'p3', 'p4'], { request: body({ title: 'Hello world' }) });
    await expectIds(`@request.body.title:changed = false`, ['p1', 'p2', 'p3', 'p4'], { request: body({ views: 1 }) });
    await expectIds(`@request.body.views:changed = false`, ['p1'], { request: body({ views: '10' }) }); // form text → number
    await expectIds(`@request.body.tags:changed = false`, ['p1'], { request: body({ tags: ['g2', 'g1'] }) });
    await expectIds(`@request.body.meta:changed = false`, ['p3'], { request: body({ meta: { a: { b: 'x' }, s: '' } }) });
    await expectIds(`@request.body.published:changed = false`, ['p2'], { request: body({ published: false }) });
    await expectIds(`@request.body.categories:each ?= 'c'`, ['p1', 'p2', 'p3', 'p4'], { request: body({ categories: ['a', 'c'] }) });
    await expectIds(`@request.body.categories:each = 'c'`, [], { request: body({ categories: ['a', 'c'] }) });
    await expectIds(`@request.body.categories:each ?= categories`, ['p1', 'p2'], { request: body({ categories: ['a', 'x'] }) });
    await expectIds(`@request.body.tags.name ?= 'news'`, ['p1', 'p2', 'p3', 'p4'], { request: body({ tags: ['g1', 'g2'] }) });
    await expectIds(`@request.body.tags.name = 'news'`, [], { request: body({ tags: ['g1', 'g2'] }) });
    await expectIds(`@request.body.author.name = 'Bob'`, ['p1', 'p2', 'p3', 'p4'], { request: body({ author: 'u2' }) });
    await expectIds(`@request.body.author.name = 'Bob'`, [], { request: body({}) });
    await expectIds(`@request.body.title:lower = 'hello'`, ['p1', 'p2', 'p3', 'p4'], { request: body({ title: 'HeLLo' }) });
    await expectIds(`@request.body.extra.deep.1 = 'b'`, ['p1', 'p2', 'p3', 'p4'], { request: body({ extra: { deep: ['a', 'b'] } }) });
    await expectIds(`@request.body.extra:isset = false`, ['p1', 'p2', 'p3', 'p4'], { request: body({}) });
  });

  it('@request.query, headers, method and context', async () => {
    const req = guestRequest({ query: { status: 'live' }, headers: { x_token: 'abc' }, method: 'PATCH', context: 'realtime' });
    await expectIds(`status = @request.query.status`, ['p1', 'p4'], { request: req });
    await expectIds(`@request.headers.x_token = 'abc' && @request.method = 'PATCH' && @request.context = 'realtime'`, ['p1', 'p2', 'p3', 'p4'], {
      request: req,
    });
    await expectIds(`@request.query.missing = null && @request.query.status:isset = true`, ['p1', 'p2', 'p3', 'p4'], { request: req });
  });
});

describe('date macros (fixed now: 2024-05-15 10:30:45.123Z, a Wednesday)', () => {
  it('datetime macros', async () => {
    await expectIds(`created >= @todayStart && created <= @todayEnd`, ['p1']);
    await expectIds(`created > @yesterday`, ['p1']);
    await expectIds(`created < @tomorrow && created < @now`, ['p1', 'p2', 'p3', 'p4']);
    await expectIds(`created >= @monthStart && created <= @monthEnd`, ['p1', 'p2']);
    await expectIds(`created < @yearStart`, ['p3']);
    await expectIds(`created <= @yearEnd`, ['p1', 'p2', 'p3', 'p4']);
    await expectIds(`@now = '2024-05-15 10:30:45.123Z' && @monthEnd = '2024-05-31 23:59:59.999Z'`, ['p1', 'p2', 'p3', 'p4']);
    await expectIds(`@yesterday = '2024-05-14 10:30:45.123Z' && @yearEnd = '2024-12-31 23:59:59.999Z'`, ['p1', 'p2', 'p3', 'p4']);
  });

  it('number macros', async () => {
    await expectIds(`@second = 45 && @minute = 30 && @hour = 10 && @day = 15 && @month = 5 && @weekday = 3 && @year = 2024`, ['p1', 'p2', 'p3', 'p4']);
  });
});

describe('functions', () => {
  it('geoDistance (km)', async () => {
    await expectIds(`geoDistance(location.lon, location.lat, 23.32, 42.69) < 300`, ['p1', 'p3']);
    await expectIds(`geoDistance(location.lon, location.lat, 23.32, 42.69) < 1`, ['p1']);
    await expectIds(`geoDistance(-0.12, 51.5, location.lon, location.lat) < 1`, ['p4']);
    await expectIds(`location.lat > 45 && location.lon < 0`, ['p4']);
  });

  it('strftime with a field, a literal, modifiers and no time value', async () => {
    await expectIds(`strftime('%Y', created) = '2024'`, ['p1', 'p2', 'p4']);
    await expectIds(`strftime('%Y-%m', created, 'start of month', '+1 month') = '2024-06'`, ['p1', 'p2']);
    await expectIds(`strftime('%Y-%m-%d') = '2024-05-15'`, ['p1', 'p2', 'p3', 'p4']); // the compile clock
    await expectIds(`strftime('%Y', 'not a date') = ''`, ['p1', 'p2', 'p3', 'p4']); // NULL normalised to ''
    await expectIds(`strftime('%H', created) ?= '08'`, ['p1', 'p2']);
  });

  it('rejects bad calls', async () => {
    await expectError(`geoDistance(1, 2, 3) < 1`, 400, /geoDistance expects 4 arguments/);
    await expectError(`geoDistance(1, 2, 3, 'x') < 1`, 400, /argument 4 must be a number or a field/);
    await expectError(`strftime(created) = ''`, 400, /format string/);
    await expectError(`strftime('%Y', created, 1) = ''`, 400, /modifier argument 1 must be text/);
    await expectError(`strftime('%Y', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j') = ''`, 400, /at most 10 arguments/);
    await expectError(`nope(1) = 1`, 400, /unknown function "nope"/);
    await expectError(`strftime('%Y', strftime('%Y')) = ''`, 400, /time value/);
  });
});

describe('fields, JSON paths and modifiers', () => {
  it('JSON paths bind their keys', async () => {
    await expectIds(`meta.a.b = 1`, ['p1']);
    await expectIds(`meta.a.b = 'x'`, ['p3']);
    await expectIds(`meta.list.1 = 2`, ['p1']);
    await expectIds(`meta.s = ''`, ['p3']); // strict: a missing key is not ''
    await expectIds(`meta.s = null`, ['p2']);
    await expectIds(`meta.s:lower ~ 'X'`, ['p1']);
  });

  it('relation shortcuts and the 6-hop limit', async () => {
    await expectIds(`author.id = 'u1'`, ['p1']);
    await expectIds(`author.friends.name ?= 'Bob'`, ['p1', 'p3']);
    await expectIds(`author.friends.friends.friends.friends.friends.name ?= 'Bob'`, []); // 6 hops: allowed (the chain dies at Bob)
    await expectError(`author.friends.friends.friends.friends.friends.friends.name ?= 'Bob'`, 400, /too many relation hops/);
  });

  it('rejects unknown fields, bad hops and misplaced modifiers', async () => {
    await expectError(`nope = 1`, 400, /unknown or non-filterable field "nope"/);
    await expectError(`title.x = 1`, 400, /unknown or non-filterable field "title.x"/);
    await expectError(`author.nope = 1`, 400, /unknown or non-filterable field "author.nope"/);
    await expectError(`location.alt = 1`, 400, /unknown or non-filterable field "location.alt"/);
    await expectError(`nope_via_post.x = 1`, 400, /unknown or non-filterable field/);
    await expectError(`posts_via_title.x = 1`, 400, /unknown or non-filterable field/);
    await expectError(`title:each = 1`, 400, /needs a select, relation or file field/);
    await expectError(`title:length = 1`, 400, /needs a select, relation or file field/);
    await expectError(`title:isset = true`, 400, /only supported on @request fields/);
    await expectError(`title:upper = 1`, 400, /unknown modifier ":upper"/);
    await expectError(`@request.nope = 1`, 400, /unknown or non-filterable field/);
    await expectError(`@request.auth = 1`, 400, /unknown or non-filterable field/);
    await expectError(`@collection.posts = 1`, 400, /invalid @collection field/);
    await expectError(`@collection.nope.id = 1`, 400, /unknown or non-filterable field/);
    await expectError(`@nope = 1`, 400, /unknown or non-filterable field "@nope"/);
    await expectError(`@request.query.q:each = 1`, 400, /needs a collection field/);
    await expectError(`@request.body.title:each = 1`, 400, /needs a select, relation or file field/);
  });
});

describe('client mode (a user ?filter)', () => {
  const client = (request: RequestInfo = guestRequest()): Partial<CompileOptions> => ({ mode: 'client', request });

  it('forbids @collection and @request for non-superusers (403) and allows them for superusers', async () => {
    await expectError(`@collection.members.user ?= author`, 403, /^Only superusers can filter by @collection\.$/, client(ann()));
    await expectError(`@request.auth.id = author`, 403, /^Only superusers can filter by @request\.$/, client(ann()));
    await expectError(`geoDistance(@request.query.a, 1, 2, 3) < 1`, 403, /@request\./, client());
    await expectIds(`@collection.members.user ?= author`, ['p1', 'p2'], client(superuserRequest()));
    await expectIds(`created > @yesterday`, ['p1'], client()); // macros are fine
  });

  it('treats hidden fields exactly like unknown ones (same 400 message)', async () => {
    const unknown = await expectError(`nope = 'n1'`, 400, /unknown or non-filterable/, client());
    const hidden = await expectError(`note = 'n1'`, 400, /unknown or non-filterable/, client());
    assert.equal(hidden.message, unknown.message);
    assert.equal(hidden.message, 'Invalid filter: unknown or non-filterable field'); // names are not echoed to clients
    for (const f of [
      `author.secret = 'x'`,
      `author.password ~ '$2a'`,
      `author.tokenKey = 'tk1'`,
      `note:lower = 'x'`,
      `comments_via_post.author.secret = 'x'`,
    ]) {
      await expectError(f, 400, /unknown or non-filterable field/, client());
    }
    await expectError(`password ~ '$2a'`, 400, /unknown or non-filterable field$/, { ...client(), collection: users });
    await expectIds(`note = 'n1'`, ['p1'], client(superuserRequest()));
    await expectIds(`note = 'n1'`, ['p1']); // rules may use hidden fields
  });

  it('hops only into collections the client may list, under their listRule', async () => {
    // users.listRule = "verified = true": Cid (u3) is unverified, so p3's author is invisible
    await expectIds(`author.name ?~ ''`, ['p1', 'p2'], client());
    await expectIds(`author.name ?~ ''`, ['p1', 'p2', 'p3']); // rule mode: no listRule
    await expectIds(`author.name = 'Cid'`, [], client());
    // teams.listRule = null: hopping into it is an unknown field, whoever asks (except superusers)
    await expectError(`author.team.name = 'red'`, 400, /unknown or non-filterable field$/, client(ann()));
    await expectError(`author.team.name = 'red'`, 400, /unknown or non-filterable field "author.team.name"/, { mode: 'rule', collection: teams }); // rule authors get the name
    await expectIds(`author.team.name = 'red'`, ['p1'], client(superuserRequest()));
    await expectIds(`author.team = 't1'`, ['p1'], client()); // the stored id itself is a users field
    await expectError(`members_via_user.role ?= 'editor'`, 400, /unknown or non-filterable/, { ...client(), collection: users });
  });

  it('matches auth emails only where emailVisibility is on', async () => {
    await expectIds(`author.email ~ 'example.com'`, ['p1'], client()); // bob hides his email
    await expectIds(`author.email ~ 'example.com'`, ['p1', 'p2', 'p3']);
    await expectIds(`email = 'bob@example.com'`, [], { ...client(), collection: users });
    await expectIds(`email = 'bob@example.com'`, ['u2'], { ...client(superuserRequest()), collection: users });
  });

  it('limits client filters to 3500 characters', async () => {
    const long = `title = '${'x'.repeat(3500)}'`;
    await expectError(long, 400, /filter too long \(max 3500 characters\)/, client());
    await expectIds(long, []); // rules are not bound by the client limit
  });
});
