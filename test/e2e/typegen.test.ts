/**
 * Typegen: types generated from a schema with every field type are compiled by `tsc --strict` against small
 * programs that use the real `pocketbase` SDK (TypedPocketBase) and a hook-side `plinth` import
 * (CollectionRecords); lines that must not compile are checked to fail. The CLI runs on the suite's dialect,
 * and `watchTypes` rewrites the file after schema changes (only when the types changed).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import PocketBase from 'pocketbase';
import { startServer, TEST_DIALECT, type TestServer } from '../helpers/server.js';
import { createTempDatabase } from '../helpers/postgres.js';
import { generateTypes, watchTypes } from '../../src/typegen/index.js';

const TSC = resolve('node_modules/typescript/bin/tsc');
const BIN = resolve('bin/plinth.js');

/** Runs a node script without blocking the event loop (the test's own server keeps serving meanwhile). */
function run(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolveRun({ status, stdout, stderr });
    });
  });
}

/** Runs tsc on a project dir; returns the diagnostics per file name. */
async function tsc(dir: string): Promise<{ status: number | null; byFile: Map<string, string[]>; output: string }> {
  const r = await run([TSC, '-p', dir, '--pretty', 'false']);
  const output = `${r.stdout}${r.stderr}`;
  const byFile = new Map<string, string[]>();
  for (const line of output.split('\n')) {
    const m = /^(?:.*[\\/])?([\w.-]+\.ts)\((\d+),\d+\): error (TS\d+: .*)$/.exec(line);
    if (m) byFile.set(m[1] as string, [...(byFile.get(m[1] as string) ?? []), `${m[2]}: ${m[3]}`]);
  }
  return { status: r.status, byFile, output };
}

function project(files: Record<string, string>, options: { modules: boolean; skipLibCheck: boolean }): string {
  const dir = mkdtempSync(join(tmpdir(), 'plinth-typegen-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'typegen-check', private: true, type: 'module' }));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        lib: ['ES2023', 'DOM'],
        types: [],
        skipLibCheck: options.skipLibCheck,
        noUnusedLocals: false,
      },
      include: ['*.ts'],
    }),
  );
  if (options.modules) {
    mkdirSync(join(dir, 'node_modules', 'plinth'), { recursive: true });
    symlinkSync(realpathSync('node_modules/pocketbase'), join(dir, 'node_modules', 'pocketbase'), 'dir');
    // A stand-in for the published 'plinth' package: the interface the generated file augments.
    writeFileSync(join(dir, 'node_modules', 'plinth', 'package.json'), JSON.stringify({ name: 'plinth', type: 'module', types: 'index.d.ts' }));
    writeFileSync(
      join(dir, 'node_modules', 'plinth', 'index.d.ts'),
      'export interface CollectionRecords {}\nexport declare function records<K extends keyof CollectionRecords>(name: K): { find(id: string): Promise<CollectionRecords[K]> };\n',
    );
  }
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const GOOD = `
import PocketBase from 'pocketbase';
import type { TypedPocketBase, PostsCreate, PostsUpdate, UsersCreate, PostsResponse, CollectionName, Collections } from './plinth-types.js';
import { records } from 'plinth';

const pb = new PocketBase('http://127.0.0.1:8090') as TypedPocketBase;

export async function front(): Promise<void> {
  const r = await pb.collection('posts').getOne('x', { expand: 'author,related' });
  r.title.toUpperCase();
  r.body.trim();
  r.contact.includes('@');
  r.site.startsWith('https:');
  const views: number = r.views + 1;
  const published: boolean = r.published;
  const when: string = r.publishedAt;
  r.created.slice(0, 10);
  const status: 'draft' | 'published' = r.status;
  const tags: Array<'a' | 'b' | 'c'> = r.tags;
  r.author.toLowerCase();
  r.related.map((id) => id.length);
  r.cover.length;
  r.gallery.map((f) => f.endsWith('.png'));
  const meta: unknown = r.meta;
  r.location.lat.toFixed(2);
  const coll: 'posts' = r.collectionName;
  r.collectionId.trim();
  r.hiddenNote?.trim();
  r.expand?.author?.name.trim();
  r.expand?.author?.email?.toLowerCase();
  r.expand?.author?.verified === true;
  r.expand?.related?.[0]?.title.trim();
  const u = await pb.collection('users').getOne('y');
  u.emailVisibility === false;
  u.expand?.profiles_via_user?.bio.trim();
  u.expand?.posts_via_author?.[0]?.title.trim();
  const c = await pb.collection('comments').getFirstListItem('post="x"', { expand: 'post' });
  c.expand?.post?.title.trim();
  const page = await pb.collection('posts').getList(1, 20);
  page.items[0]?.views.toFixed();
  const stats = await pb.collection('post_stats').getFullList();
  stats[0]?.title.trim();
  const byId = await pb.collection('${'${POSTS_ID}'}').getOne('x');
  byId.title.trim();
  const anyOther = await pb.collection('not_in_schema').getOne('z');
  void anyOther;
  const input: PostsCreate = { title: 'x', status: 'draft', author: 'u1', cover: new Blob(['x']), meta: { any: 'thing' } };
  await pb.collection('posts').create<PostsResponse>(input);
  const change: PostsUpdate = { 'views+': 1, 'tags+': 'a', 'related-': ['p1'], 'gallery+': new Blob(['y']) };
  await pb.collection('posts').update('x', change);
  const signup: UsersCreate = { email: 'a@b.c', password: 'p', passwordConfirm: 'p' };
  void signup;
  const name: CollectionName = 'posts';
  const viaEnum: \`\${Collections}\` = 'comments';
  void views; void published; void when; void status; void tags; void meta; void coll; void name; void viaEnum;
}

export async function hook(): Promise<void> {
  const post = await records('posts').find('x');
  post.title.toUpperCase();
  post.hiddenNote.trim();
  const user = await records('users').find('y');
  user.email.toLowerCase();
}
`;

/** Each must fail to compile, with an error on the marked line. */
const BAD: Record<string, string> = {
  wrongMethod: `const r = await pb.collection('posts').getOne('x'); r.title.toFixed();`,
  unknownField: `const r = await pb.collection('posts').getOne('x'); r.nonexistent;`,
  passwordOmitted: `const r = await pb.collection('posts').getOne('x'); r.secret;`,
  tokenKeyOmitted: `const u = await pb.collection('users').getOne('x'); u.tokenKey;`,
  selectValue: `const s: 'draft' = (await pb.collection('posts').getOne('x')).status;`,
  missingRequired: `const i: PostsCreate = { status: 'draft', author: 'u' }; void i;`,
  badSelectInput: `const i: PostsCreate = { title: 't', status: 'archived', author: 'u' }; void i;`,
  numberIsNotString: `const i: PostsCreate = { title: 't', status: 'draft', author: 'u', views: '3' }; void i;`,
  emailMaybeAbsent: `const u = await pb.collection('users').getOne('x'); u.email.toLowerCase();`,
  hiddenMaybeAbsent: `const r = await pb.collection('posts').getOne('x'); r.hiddenNote.trim();`,
  expandWrongTarget: `const r = await pb.collection('posts').getOne('x'); r.expand?.author?.title;`,
  singleRelation: `const r = await pb.collection('posts').getOne('x'); r.author.map(String);`,
  multiFile: `const r = await pb.collection('posts').getOne('x'); r.gallery.toUpperCase();`,
  viewHasNoCreate: `import type { PostStatsCreate } from './plinth-types.js'; let x: PostStatsCreate;`,
  hookRecordType: `const p = await records('posts').find('x'); p.views.toUpperCase();`,
  hookUnknownCollection: `await records('nope').find('x');`,
};

describe('typegen', () => {
  let s: TestServer;
  let postsId = '';

  before(async () => {
    s = await startServer();
    await s.admin.collections.update('users', {
      fields: [...(await s.admin.collections.getOne('users')).fields, { name: 'nickname', type: 'text' }],
    });
    const posts = await s.admin.collections.create({
      name: 'posts',
      type: 'base',
      fields: [
        { name: 'title', type: 'text', required: true },
        { name: 'body', type: 'editor' },
        { name: 'contact', type: 'email' },
        { name: 'site', type: 'url' },
        { name: 'views', type: 'number' },
        { name: 'published', type: 'bool' },
        { name: 'publishedAt', type: 'date' },
        { name: 'status', type: 'select', values: ['draft', 'published'], maxSelect: 1, required: true },
        { name: 'tags', type: 'select', values: ['a', 'b', 'c'], maxSelect: 3 },
        { name: 'author', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1, required: true },
        { name: 'cover', type: 'file', maxSelect: 1 },
        { name: 'gallery', type: 'file', maxSelect: 5 },
        { name: 'meta', type: 'json' },
        { name: 'location', type: 'geoPoint' },
        { name: 'secret', type: 'password' },
        { name: 'hiddenNote', type: 'text', hidden: true },
        { name: 'created', type: 'autodate', onCreate: true },
        { name: 'updated', type: 'autodate', onCreate: true, onUpdate: true },
      ],
    });
    postsId = posts.id;
    await s.admin.collections.update('posts', {
      fields: [...posts.fields, { name: 'related', type: 'relation', collectionId: posts.id, maxSelect: 10 }],
    });
    await s.admin.collections.create({
      name: 'comments',
      type: 'base',
      fields: [
        { name: 'post', type: 'relation', collectionId: posts.id, maxSelect: 1 },
        { name: 'text', type: 'text' },
      ],
    });
    await s.admin.collections.create({
      name: 'profiles',
      type: 'base',
      fields: [
        { name: 'user', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
        { name: 'bio', type: 'text' },
      ],
      indexes: ['CREATE UNIQUE INDEX idx_profiles_user ON profiles (user)'],
    });
    await s.admin.collections.create({ name: 'post_stats', type: 'view', viewQuery: 'SELECT id, title, views FROM posts' });
  });
  after(async () => {
    await s.close();
  });

  it('types every field type; a program using them compiles with tsc --strict and wrong ones do not', async () => {
    const types = generateTypes(s.app.collections.all());
    assert.match(types, /export interface PostsRecord<TMeta = unknown> \{/);
    assert.match(types, /status: "draft" \| "published";/);
    assert.match(types, /tags: Array<"a" \| "b" \| "c">;/);
    assert.match(types, /location: GeoPoint;/);
    assert.match(types, /collection\(idOrName: "posts"\): RecordService<PostsResponse>;/);
    assert.match(types, /declare module 'plinth' \{\n {2}interface CollectionRecords \{/);
    assert.match(types, /Superusers = "_superusers",/);
    assert.doesNotMatch(types, /tokenKey/);
    assert.doesNotMatch(types, /secret:/);

    const prelude = `import PocketBase from 'pocketbase';\nimport type { TypedPocketBase, PostsCreate } from './plinth-types.js';\nimport { records } from 'plinth';\nconst pb = new PocketBase('http://x') as TypedPocketBase;\nvoid pb; void records;\nexport {};\n`;
    // As a .ts module the generated file is type-checked itself even with skipLibCheck (which keeps tsc quick).
    const files: Record<string, string> = { 'plinth-types.ts': types, 'good.ts': GOOD.replace('${POSTS_ID}', postsId) };
    files['control.ts'] = prelude; // the prelude alone compiles, so each bad file fails for its own line
    for (const [name, line] of Object.entries(BAD)) files[`bad_${name}.ts`] = `${prelude}${line}\n`;
    const dir = project(files, { modules: true, skipLibCheck: true });
    try {
      const { byFile, output } = await tsc(dir);
      if (process.env.TYPEGEN_DEBUG) console.log(output);
      assert.equal(byFile.get('good.ts'), undefined, `good.ts must compile:\n${output}`);
      assert.equal(byFile.get('control.ts'), undefined, `control.ts must compile:\n${output}`);
      assert.equal(byFile.get('plinth-types.ts'), undefined, `the generated file must compile:\n${output}`);
      for (const name of Object.keys(BAD)) {
        const errors = byFile.get(`bad_${name}.ts`) ?? [];
        assert.ok(errors.length > 0, `bad_${name}.ts should not compile`);
        const badLine = prelude.split('\n').length;
        assert.ok(
          errors.every((e) => e.startsWith(`${badLine}: `)),
          `bad_${name}.ts must fail on its own line: ${errors.join('; ')}`,
        );
      }
      assert.match((byFile.get('bad_viewHasNoCreate.ts') ?? []).join(';'), /PostStatsCreate/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    // As a .d.ts with skipLibCheck (the usual front-end setting), it needs neither pocketbase nor plinth installed.
    const bare = project(
      {
        'plinth-types.d.ts': types,
        'app.ts': `import type { PostsRecord } from './plinth-types.js';\nexport const t = (p: PostsRecord): string => p.title.toUpperCase();\n`,
      },
      { modules: false, skipLibCheck: true },
    );
    try {
      const { status, output } = await tsc(bare);
      assert.equal(status, 0, output);
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });

  it('plinth typegen writes the file from the database (this dialect), with --out and the default name', async () => {
    const out = join(s.dir, 'types', 'schema.d.ts');
    const target = TEST_DIALECT === 'postgres' ? [`--db=${s.app.config.databaseUrl}`] : [`--dir=${s.app.config.dataDir}`];
    const r = await run([BIN, 'typegen', ...target, `--out=${out}`], { env: { ...process.env, PLINTH_DATABASE_URL: '' } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Wrote .*schema\.d\.ts \(\d+ collections\)/);
    assert.equal(readFileSync(out, 'utf8'), generateTypes(s.app.collections.all()));
    const again = await run([BIN, 'typegen', ...target, `--out=${out}`], { env: { ...process.env, PLINTH_DATABASE_URL: '' } });
    assert.match(again.stdout, /Unchanged: /);

    if (TEST_DIALECT === 'sqlite') {
      const def = await run([BIN, 'typegen', `--dir=${s.app.config.dataDir}`], { cwd: s.dir });
      assert.equal(def.status, 0, def.stderr);
      assert.match(readFileSync(join(s.app.config.dataDir, '..', 'plinth-types.d.ts'), 'utf8'), /PostsRecord/);
    }
    const help = await run([BIN, 'typegen', '--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /plinth typegen \[--out=FILE\]/);
    const bad = await run([BIN, 'typegen', '--bogus']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /Error: .*bogus/);
    const missing = await run([BIN, 'typegen', `--dir=${join(s.dir, 'nowhere')}`], { env: { ...process.env, PLINTH_DATABASE_URL: '' } });
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /no Plinth database in/);
  });

  it('watchTypes rewrites the file after a schema change, and only when the types change', async () => {
    const file = join(s.dir, 'watched', 'plinth-types.d.ts');
    const watcher = watchTypes(s.app, file, { debounceMs: 10 });
    try {
      assert.doesNotMatch(readFileSync(file, 'utf8'), /TagsRecord/);
      await s.admin.collections.create({ name: 'tags', type: 'base', fields: [{ name: 'label', type: 'text' }] });
      await watcher.settled();
      assert.match(readFileSync(file, 'utf8'), /export interface TagsRecord \{\n {2}id: string;\n {2}label: string;/);
      const before = statSync(file).mtimeMs;
      await new Promise((r) => setTimeout(r, 20));
      await s.admin.collections.update('tags', { listRule: '' }); // a rule is not part of the types
      await watcher.settled();
      assert.equal(statSync(file).mtimeMs, before, 'unchanged types leave the file alone');
      await s.admin.collections.delete('tags');
      await watcher.settled();
      assert.doesNotMatch(readFileSync(file, 'utf8'), /TagsRecord/);
    } finally {
      watcher.stop();
    }
  });

  it('serve --dev writes plinth-types.d.ts beside the data dir and rewrites it after a schema change', async () => {
    const root = mkdtempSync(join(tmpdir(), 'plinth-typegen-serve-'));
    const dataDir = join(root, 'data');
    const temp = TEST_DIALECT === 'postgres' ? await createTempDatabase() : undefined;
    const db = temp ? [`--db=${temp.url}`] : [];
    const env = { ...process.env, PLINTH_DATABASE_URL: '' };
    try {
      const su = await run([BIN, 'superuser', 'upsert', 'dev@example.com', 'password-123', `--dir=${dataDir}`, ...db], { env });
      assert.equal(su.status, 0, su.stderr);
      const port = await new Promise<number>((res) => {
        const srv = createNetServer().listen(0, '127.0.0.1', () => {
          const p = (srv.address() as AddressInfo).port;
          srv.close(() => res(p));
        });
      });
      const child = spawn(process.execPath, [BIN, 'serve', '--dev', `--http=127.0.0.1:${port}`, `--dir=${dataDir}`, ...db], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env,
      });
      let output = '';
      child.stdout.on('data', (b: Buffer) => (output += b.toString()));
      const exited = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
      const file = join(root, 'plinth-types.d.ts');
      const waitFor = async (check: () => boolean, what: string) => {
        const deadline = Date.now() + 20_000;
        while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        assert.ok(check(), `${what}\n${output}`);
      };
      const fileHas = (re: RegExp) => {
        try {
          return re.test(readFileSync(file, 'utf8'));
        } catch {
          return false;
        }
      };
      try {
        await waitFor(() => output.includes('Server started'), 'the server starts');
        assert.ok(fileHas(/export interface UsersRecord/), 'written at start');
        const pb = new PocketBase(`http://127.0.0.1:${port}`);
        await pb.collection('_superusers').authWithPassword('dev@example.com', 'password-123');
        await pb.collections.create({ name: 'notes', type: 'base', fields: [{ name: 'body', type: 'text' }] });
        await waitFor(() => fileHas(/export interface NotesRecord \{\n {2}id: string;\n {2}body: string;/), 'rewritten after the change');
      } finally {
        child.kill('SIGTERM');
      }
      assert.equal(await exited, 0);
    } finally {
      await temp?.drop();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
