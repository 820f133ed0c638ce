/**
 * Many nodes, one system: three Plinth nodes on loopback ports over one throw-away PostgreSQL database
 * behave as one server (realtime, schema, settings, rate limits, cron), and killing a node (kill -9, a
 * real `plinth serve` process) under write load loses no acknowledged write while the others keep serving.
 * Always on PostgreSQL, whatever PLINTH_TEST_DB says: a cluster needs a shared database.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventSource } from 'eventsource';
import PocketBase from 'pocketbase';
import pg from 'pg';
import { App } from '../../src/app.js';
import { silentLogger } from '../../src/util/logger.js';
import { createTempDatabase, type TempDatabase } from '../helpers/postgres.js';
import { addSuperuser, serveApp, SUPERUSER_EMAIL as EMAIL, SUPERUSER_PASSWORD as PASSWORD } from '../helpers/server.js';

(globalThis as Record<string, unknown>).EventSource = EventSource;

const BIN = resolve('bin/plinth.js');

interface Node {
  name: string;
  app: App;
  url: string;
  admin: PocketBase;
  close(): Promise<void>;
}

async function startNode(name: string, dbUrl: string, dir: string): Promise<Node> {
  const app = await App.open({
    dataDir: join(dir, name, 'data'),
    migrationsDir: join(dir, name, 'migrations'),
    databaseUrl: dbUrl,
    poolSize: 4,
    logger: silentLogger(),
  });
  const { url, close } = await serveApp(app);
  const admin = new PocketBase(url);
  admin.autoCancellation(false);
  return { name, app, url, admin, close };
}

/** Polls `check` until it returns true or `ms` pass; resolves to the time it took. */
async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check().catch(() => false)) return Date.now() - start;
    if (Date.now() - start > ms) throw new Error(`not true within ${ms} ms`);
    await sleep(20);
  }
}

describe('three nodes on one PostgreSQL database', () => {
  let db: TempDatabase;
  let dir: string;
  let a: Node;
  let b: Node;
  let c: Node;

  before(async () => {
    db = await createTempDatabase();
    dir = mkdtempSync(join(tmpdir(), 'plinth-cluster-'));
    a = await startNode('a', db.url, dir);
    b = await startNode('b', db.url, dir);
    c = await startNode('c', db.url, dir);
    await addSuperuser(a.app);
    // The default auth limit (2 per 3 s per IP) now counts across the nodes: switch it off for the logins.
    await a.app.settings.update({ rateLimits: { enabled: false, rules: [] } });
    await within(1000, async () => !b.app.settings.get().rateLimits.enabled && !c.app.settings.get().rateLimits.enabled);
    for (const n of [a, b, c]) await n.admin.collection('_superusers').authWithPassword(EMAIL, PASSWORD);
  });

  after(async () => {
    for (const n of [a, b, c]) await n?.close();
    rmSync(dir, { recursive: true, force: true });
    await db?.drop();
  });

  it('a collection created on C can be used on A within a second', async () => {
    await c.admin.collections.create({
      name: 'notes',
      type: 'base',
      fields: [{ name: 'title', type: 'text' }],
      listRule: 'title != "hidden"',
      viewRule: 'title != "hidden"',
      createRule: '',
      deleteRule: '',
    });
    const took = await within(1000, async () => Boolean(a.app.collections.find('notes')));
    assert.ok(took < 1000);
    const guest = new PocketBase(a.url);
    const rec = await guest.collection('notes').create({ title: 'from A' });
    assert.equal(rec.title, 'from A');
    // An update (a rule change) reaches the others too.
    await c.admin.collections.update('notes', { createRule: null });
    await within(1000, async () => a.app.collections.find('notes')?.createRule === null);
    await assert.rejects(guest.collection('notes').create({ title: 'refused now' }), (e: { status: number }) => e.status === 400 || e.status === 403);
    await c.admin.collections.update('notes', { createRule: '' });
    await within(1000, async () => a.app.collections.find('notes')?.createRule === '' && b.app.collections.find('notes')?.createRule === '');
  });

  it('a subscriber on A hears writes made on B, each checked against its rule (deletes included)', async () => {
    const listener = new PocketBase(a.url);
    const events: Array<{ action: string; title: string }> = [];
    await listener.collection('notes').subscribe('*', (e) => events.push({ action: e.action, title: String(e.record.title) }));
    try {
      const writer = new PocketBase(b.url);
      const shown = await writer.collection('notes').create({ title: 'visible' });
      const hidden = await writer.collection('notes').create({ title: 'hidden' });
      await writer.collection('notes').delete(hidden.id);
      await writer.collection('notes').delete(shown.id);
      await within(2000, async () => events.length >= 2);
      await sleep(300); // anything wrongly delivered would have arrived by now
      assert.deepEqual(events, [
        { action: 'create', title: 'visible' },
        { action: 'delete', title: 'visible' },
      ]);
    } finally {
      await listener.realtime.unsubscribe();
    }
  });

  it('a message bigger than a NOTIFY payload (a deleted 10 kB record) still reaches the other nodes', async () => {
    const listener = new PocketBase(a.url);
    const deleted: string[] = [];
    await listener.collection('notes').subscribe('*', (e) => e.action === 'delete' && deleted.push(String(e.record.title)));
    try {
      const big = 'ü'.repeat(4_900); // 9.8 kB of UTF-8, under the text field's default 5,000-character limit
      const writer = new PocketBase(b.url);
      const rec = await writer.collection('notes').create({ title: big });
      await writer.collection('notes').delete(rec.id);
      await within(2000, async () => deleted.length === 1);
      assert.equal(deleted[0], big);
    } finally {
      await listener.realtime.unsubscribe();
    }
  });

  it('settings changed on B are in force on A and C within a second', async () => {
    await b.admin.settings.update({ meta: { appName: 'Cluster app' } });
    await within(1000, async () => a.app.settings.get().meta.appName === 'Cluster app' && c.app.settings.get().meta.appName === 'Cluster app');
  });

  it('rate limits are counted across nodes', async () => {
    await a.admin.settings.update({ rateLimits: { enabled: true, rules: [{ label: '/api/health', maxRequests: 4, duration: 30, audience: '' }] } });
    await within(1000, async () => [b, c].every((n) => n.app.settings.get().rateLimits.rules.some((r) => r.label === '/api/health')));
    const statuses: number[] = [];
    for (const n of [a, b, a, c, b, c]) statuses.push((await fetch(`${n.url}/api/health`)).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429]);
    await a.admin.settings.update({ rateLimits: { enabled: false, rules: [] } });
  });

  it('a cron job registered on every node runs once per schedule, not once per node', async () => {
    const runs: Array<{ node: string; at: number }> = [];
    for (const n of [a, b, c]) n.app.cron.add('tick', '* * * * * *', () => void runs.push({ node: n.name, at: Date.now() }));
    await sleep(3500);
    for (const n of [a, b, c]) n.app.cron.remove('tick');
    const pool = new pg.Pool({ connectionString: db.url });
    try {
      const { rows } = await pool.query<{ slot: string; n: string }>(`SELECT slot, COUNT(*) AS n FROM "_cronRuns" WHERE job = 'tick' GROUP BY slot`);
      assert.ok(rows.length >= 3, `at least 3 schedules passed (${rows.length})`);
      assert.ok(rows.every((r) => Number(r.n) === 1));
      assert.equal(runs.length, rows.length, 'one run per schedule across the three nodes');
    } finally {
      await pool.end();
    }
    // PocketBase's API lists the jobs of the node asked.
    const listed = (await a.admin.crons.getFullList()).map((j) => j.id);
    assert.ok(listed.includes('__pbOTPCleanup__'));
  });
});

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

async function serveNode(dbUrl: string, dir: string, port: number): Promise<{ child: ChildProcess; exited: Promise<unknown> }> {
  const child = spawn(process.execPath, [BIN, 'serve', `--http=127.0.0.1:${port}`, `--dir=${dir}`, `--db=${dbUrl}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((r) => child.once('exit', r));
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const deadline = Date.now() + 20_000;
  while (!out.includes('Server started') && Date.now() < deadline) await sleep(25);
  assert.match(out, /Server started/, out);
  return { child, exited };
}

describe('kill -9 of one node under write load', () => {
  it('loses no acknowledged write, and the other node keeps serving', async () => {
    const db = await createTempDatabase();
    const dir = mkdtempSync(join(tmpdir(), 'plinth-cluster-kill-'));
    const nodes: Array<{ child: ChildProcess; exited: Promise<unknown> }> = [];
    try {
      const upsert = spawnSync(process.execPath, [BIN, 'superuser', 'upsert', EMAIL, PASSWORD, `--dir=${join(dir, 'one')}`, `--db=${db.url}`], {
        encoding: 'utf8',
      });
      assert.equal(upsert.status, 0, upsert.stderr);
      const ports = [await freePort(), await freePort()];
      nodes.push(await serveNode(db.url, join(dir, 'one'), ports[0] as number));
      nodes.push(await serveNode(db.url, join(dir, 'two'), ports[1] as number));
      const urls = ports.map((p) => `http://127.0.0.1:${p}`);
      const admin = new PocketBase(urls[1]);
      await admin.collection('_superusers').authWithPassword(EMAIL, PASSWORD);
      await admin.collections.create({ name: 'events', type: 'base', fields: [{ name: 'n', type: 'number' }], createRule: '' });
      // Guests may not list (no listRule): 403 once node one knows the collection, 404 before.
      await within(2000, async () => (await fetch(`${urls[0]}/api/collections/events/records`)).status === 403);

      const acknowledged = new Map<string, number>();
      let seq = 0;
      let stop = false;
      let afterKill = 0;
      let killed = false;
      const writer = (url: string) => async () => {
        while (!stop) {
          const n = seq++;
          try {
            const res = await fetch(`${url}/api/collections/events/records`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ n }),
            });
            if (res.status === 200) {
              acknowledged.set(((await res.json()) as { id: string }).id, n);
              if (killed && url === urls[1]) afterKill++;
            }
          } catch {
            if (url === urls[0]) return; // the killed node: not acknowledged
          }
        }
      };
      const writers = [...Array.from({ length: 6 }, () => writer(urls[0] as string)()), ...Array.from({ length: 6 }, () => writer(urls[1] as string)())];
      await sleep(500);
      nodes[0]?.child.kill('SIGKILL');
      killed = true;
      await nodes[0]?.exited;
      await sleep(700);
      stop = true;
      await Promise.all(writers);

      assert.ok(afterKill > 20, `node two kept acknowledging writes after the kill (${afterKill})`);
      assert.ok(acknowledged.size > 100, `enough writes happened (${acknowledged.size})`);
      const pool = new pg.Pool({ connectionString: db.url });
      try {
        const { rows } = await pool.query<{ id: string; n: number }>('SELECT id, n FROM events');
        const stored = new Map(rows.map((r) => [r.id, Number(r.n)]));
        for (const [id, n] of acknowledged) assert.equal(stored.get(id), n, `acknowledged record ${id} survived`);
      } finally {
        await pool.end();
      }
    } finally {
      for (const n of nodes) n.child.kill('SIGKILL');
      await Promise.all(nodes.map((n) => n.exited));
      rmSync(dir, { recursive: true, force: true });
      await db.drop();
    }
  });
});
