/**
 * The dev loop: with `dev`, a changed hook file (or a helper module it imports) is reloaded without
 * dropping open realtime streams; a file that fails to load is reported with file:line and the previous
 * version stays active; a removed file's hooks are unbound. Outside dev a syntax error stops the start.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventSource } from 'eventsource';
import type { RecordModel } from 'pocketbase';
import { startServer, type TestServer } from '../helpers/server.js';
import type { JobQueueLike, ReloadReport } from '../../src/extend/index.js';
import { StartupError } from '../../src/errors/index.js';
import { writeFiles } from '../helpers/hooks.js';

(globalThis as { EventSource?: unknown }).EventSource ??= EventSource;

const version = (v: string) => `
import { defineHooks } from 'plinth';
import { tag } from './lib/tag';
export default defineHooks((app) => {
  app.onRecordCreate(async (e) => {
    e.record.title = String(e.record.title) + ':${v}:' + tag;
    await e.next();
  }, 'notes');
});
`;

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('hooks: --dev reload', () => {
  let s: TestServer;
  let dir: string;
  const reports: ReloadReport[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'plinth-hooks-dev-'));
    writeFiles(dir, { 'notes.ts': version('v1'), 'lib/tag.ts': `export const tag = 't1';\n` });
    s = await startServer({
      hooks: { dir, dev: true, debounceMs: 30, onReload: (r) => reports.push(r) },
      beforeHooks: async (app) => {
        await app.collections.create({ name: 'notes', type: 'base', fields: [{ name: 'title', type: 'text' }], listRule: '', viewRule: '', createRule: '' });
      },
    });
  });
  after(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const create = async (title: string) => (await s.client().collection('notes').create({ title })).title as string;

  it('reloads a changed file (and a changed helper module) while a realtime stream stays open', async () => {
    assert.equal(await create('a'), 'a:v1:t1');
    const pb = s.client();
    const seen: RecordModel[] = [];
    const unsubscribe = await pb.collection('notes').subscribe('*', (e) => seen.push(e.record));
    try {
      const n = reports.length;
      writeFiles(dir, { 'notes.ts': version('v2') });
      await until('the reload', () => reports.slice(n).some((r) => r.file === 'notes.ts' && r.ok));
      assert.equal(await create('b'), 'b:v2:t1');

      const m = reports.length;
      writeFiles(dir, { 'lib/tag.ts': `export const tag = 't2';\n` });
      await until('the reload after a helper changed', () => reports.slice(m).some((r) => r.file === 'notes.ts' && r.ok));
      assert.equal(await create('c'), 'c:v2:t2');

      // The stream opened before the reloads still delivers.
      await until('the realtime events', () => seen.some((r) => r.title === 'c:v2:t2'));
      assert.equal(pb.realtime.isConnected, true);
    } finally {
      await unsubscribe();
    }
  });

  it('a file with a syntax error is reported with file:line and the previous version stays active', async () => {
    const n = reports.length;
    writeFiles(dir, { 'notes.ts': `export default (app) => {\n  app.onRecordCreate((e) => e.next(), 'notes')\n  const = 1;\n};\n` });
    await until('the failed reload', () => reports.slice(n).some((r) => r.file === 'notes.ts'));
    const report = reports.slice(n).find((r) => r.file === 'notes.ts')!;
    assert.equal(report.ok, false);
    assert.match(report.error!, /^notes\.ts:3:\d+: /);
    assert.equal(await create('d'), 'd:v2:t2', 'the previous version still runs');
  });

  it('a file whose default export throws is reported at the throwing line (source maps)', async () => {
    const n = reports.length;
    writeFiles(dir, { 'notes.ts': `const x: number = 1;\nexport default () => {\n  throw new Error('bad setup ' + x);\n};\n` });
    await until('the failed reload', () => reports.slice(n).some((r) => r.file === 'notes.ts'));
    const report = reports.slice(n).find((r) => r.file === 'notes.ts')!;
    assert.equal(report.ok, false);
    assert.equal(report.error, 'notes.ts:3:9: bad setup 1');
    assert.equal(await create('e'), 'e:v2:t2');
  });

  it('a new file is loaded, a removed file is unbound', async () => {
    let n = reports.length;
    writeFiles(dir, {
      'notes.ts': version('v3'),
      'zz-extra.ts': `export default (app: any) => app.onRecordCreate(async (e: any) => { e.record.title += '+extra'; await e.next(); }, 'notes');\n`,
    });
    await until('both loads', () => ['notes.ts', 'zz-extra.ts'].every((f) => reports.slice(n).some((r) => r.file === f && r.ok)));
    assert.equal(await create('f'), 'f:v3:t2+extra', 'zz-extra.ts runs after notes.ts (name order)');
    n = reports.length;
    unlinkSync(join(dir, 'zz-extra.ts'));
    await until('the removal', () => reports.slice(n).some((r) => r.file === 'zz-extra.ts' && r.action === 'remove'));
    assert.equal(await create('g'), 'g:v3:t2');
  });
});

describe('hooks: --dev reload of cron jobs, routes and job handlers', () => {
  let s: TestServer;
  let dir: string;
  const reports: ReloadReport[] = [];
  // Routes are the real registry, called over HTTP; the job queue is a recording stand-in, enough to see that a
  // reload keeps ONE registration per job name and swaps the handler behind it.
  const defined = new Map<string, (job: unknown) => unknown>();
  const hello = async () => {
    const res = await s.fetch('/api/hello');
    return { status: res.status, body: (await res.json()) as unknown };
  };
  const jobs: JobQueueLike = {
    define: (name, handler) => void defined.set(name, handler as (job: unknown) => unknown),
    enqueue: async () => ({ id: '1', created: true }),
  };
  const file = (v: string, cronId: string) => `
export default (app: any) => {
  app.cron.add('${cronId}', '0 4 * * *', () => {});
  app.routes.get('/api/hello', () => ({ version: '${v}' }));
  app.jobs.define('greet', (job: any) => 'greeted ' + job.payload + ' by ${v}');
};
`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'plinth-hooks-dev2-'));
    writeFiles(dir, { 'tasks.ts': file('v1', 'cron-v1') });
    s = await startServer({ hooks: { dir, dev: true, debounceMs: 30, onReload: (r) => reports.push(r), providers: { jobs } } });
  });
  after(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const cronIds = async () => (await s.admin.crons.getFullList()).map((c) => c.id).filter((id) => id.startsWith('cron-'));

  it('swaps cron jobs, route handlers and job handlers of a reloaded file; a removed file takes them away', async () => {
    assert.deepEqual(await cronIds(), ['cron-v1']);
    assert.deepEqual(await hello(), { status: 200, body: { version: 'v1' } });
    assert.equal(await defined.get('greet')!({ payload: 'ann' }), 'greeted ann by v1');

    let n = reports.length;
    writeFiles(dir, { 'tasks.ts': file('v2', 'cron-v2') });
    await until('the reload', () => reports.slice(n).some((r) => r.file === 'tasks.ts' && r.ok));
    assert.deepEqual(await cronIds(), ['cron-v2'], "the old generation's cron job is gone");
    assert.equal(s.hooks!.routes.list().length, 1, 'the path is registered once; the handler behind it changed');
    assert.deepEqual(await hello(), { status: 200, body: { version: 'v2' } });
    assert.equal(defined.size, 1);
    assert.equal(await defined.get('greet')!({ payload: 'bob' }), 'greeted bob by v2');

    n = reports.length;
    unlinkSync(join(dir, 'tasks.ts'));
    await until('the removal', () => reports.slice(n).some((r) => r.action === 'remove'));
    assert.deepEqual(await cronIds(), []);
    assert.equal((await hello()).status, 404);
    await assert.rejects(
      Promise.resolve().then(() => defined.get('greet')!({ payload: 'x' })),
      /no handler/,
    );
  });
});

describe('hooks: outside dev', () => {
  it('a syntax error stops the start with one line naming file:line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plinth-hooks-bad-'));
    writeFiles(dir, { 'a-good.ts': 'export default () => {};\n', 'b-bad.ts': 'export default (app) => {\n  let x = ;\n};\n' });
    try {
      await assert.rejects(startServer({ hooks: { dir } }), (err: Error) => {
        assert.ok(err instanceof StartupError, String(err));
        assert.match(err.message, /^Hook file failed to load: b-bad\.ts:2:11: Unexpected ";"$/);
        return true;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a file without a default-exported function is refused clearly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plinth-hooks-bad-'));
    writeFiles(dir, { 'x.js': 'export const nothing = 1;\n' });
    try {
      await assert.rejects(startServer({ hooks: { dir } }), /Hook file failed to load: x\.js: must default-export a function/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an unknown package import names the file and line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plinth-hooks-bad-'));
    writeFiles(dir, { 'pay.ts': `import Stripe from 'no-such-package-xyz';\nexport default () => void Stripe;\n` });
    try {
      await assert.rejects(startServer({ hooks: { dir } }), /Hook file failed to load: pay\.ts:1:\d+: Could not resolve "no-such-package-xyz"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
