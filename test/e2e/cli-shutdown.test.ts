/**
 * `plinth serve` on SIGTERM, as a supervisor (systemd, Docker, Kubernetes, ECS, Cloud Run) sends it: the port
 * stops taking connections, the request in flight finishes with its answer, realtime streams end, the running
 * job finishes within its grace period (recorded as done), the database is closed (SQLite's WAL folded back
 * into data.db) and the process exits 0 well within the 10 s the supervisors wait before SIGKILL.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { writeFiles } from '../helpers/hooks.js';
import { BIN, freePort } from '../helpers/cli.js';

describe('plinth serve: graceful shutdown on SIGTERM', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'plinth-shutdown-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('finishes the request in flight and the running job, ends realtime streams, closes the database, exits 0', async () => {
    const hooks = join(dir, 'hooks');
    const started = join(dir, 'job-started');
    writeFiles(hooks, {
      'main.ts': `
import { writeFileSync } from 'node:fs';
import { defineHooks } from 'plinth';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export default defineHooks((app) => {
  app.jobs.define('slow', async () => {
    writeFileSync(${JSON.stringify(started)}, 'yes');
    await sleep(1200);
  });
  app.routes.post('/api/test/start-job', async () => ({ id: (await app.jobs.enqueue('slow', {})).id }));
  app.routes.get('/api/test/slow', async () => {
    await sleep(1500);
    return { done: true };
  });
});
`,
    });
    const dataDir = join(dir, 'data');
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const child = spawn(process.execPath, [BIN, 'serve', `--http=127.0.0.1:${port}`, `--dir=${dataDir}`, `--hooksDir=${hooks}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (b) => (output += b));
    child.stderr.on('data', (b) => (output += b));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    let signalled = 0;
    try {
      const deadline = Date.now() + 20_000;
      while (!output.includes('Server started') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.match(output, /Server started/);

      // A realtime stream, connected (PB_CONNECT received).
      const stream = await fetch(`${base}/api/realtime`);
      const reader = stream.body!.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      assert.match(first, /PB_CONNECT/);

      // A job running…
      const job = (await (await fetch(`${base}/api/test/start-job`, { method: 'POST' })).json()) as { id: string };
      while (!existsSync(started) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(existsSync(started), 'the job started');
      // …and a request in flight.
      const slow = fetch(`${base}/api/test/slow`);
      await new Promise((r) => setTimeout(r, 200));

      signalled = Date.now();
      child.kill('SIGTERM');

      // The stream ends (the server closes it) rather than keeping the shutdown waiting.
      const streamEnd = (async () => {
        for (;;) if ((await reader.read()).done) return Date.now();
      })();
      // The request in flight still gets its answer.
      const answer = await slow;
      assert.equal(answer.status, 200);
      assert.deepEqual(await answer.json(), { done: true });
      assert.ok((await streamEnd) - signalled < 1000, 'the realtime stream ended at once');
      // New connections are refused while the rest shuts down.
      await assert.rejects(fetch(`${base}/api/health`, { signal: AbortSignal.timeout(2000) }));

      assert.equal(await exited, 0, output);
      const took = Date.now() - signalled;
      assert.ok(took < 8000, `exited ${took} ms after SIGTERM`);

      // The job finished (not put back), and the database was closed cleanly: no WAL left behind.
      const wal = join(dataDir, 'data.db-wal');
      assert.ok(!existsSync(wal) || statSync(wal).size === 0, 'the WAL was checkpointed on close');
      const db = new Database(join(dataDir, 'data.db'), { readonly: true });
      try {
        const row = db.prepare('SELECT status FROM _jobs WHERE id = ?').get(job.id) as { status: string };
        assert.equal(row.status, 'done');
      } finally {
        db.close();
      }
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('cuts a request that outlasts PLINTH_SHUTDOWN_TIMEOUT, still closes the database, and exits 0 in time', async () => {
    const hooks = join(dir, 'hooks-stuck');
    writeFiles(hooks, {
      'main.ts': `
import { defineHooks } from 'plinth';
export default defineHooks((app) => {
  app.routes.get('/api/test/stuck', async () => {
    await new Promise((r) => setTimeout(r, 60_000));
    return { done: true };
  });
});
`,
    });
    const dataDir = join(dir, 'data-stuck');
    const port = await freePort();
    const child = spawn(process.execPath, [BIN, 'serve', `--http=127.0.0.1:${port}`, `--dir=${dataDir}`, `--hooksDir=${hooks}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PLINTH_SHUTDOWN_TIMEOUT: '4' },
    });
    let output = '';
    child.stdout.on('data', (b) => (output += b));
    child.stderr.on('data', (b) => (output += b));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    try {
      const deadline = Date.now() + 20_000;
      while (!output.includes('Server started') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.match(output, /Server started/);
      const stuck = fetch(`http://127.0.0.1:${port}/api/test/stuck`).then(
        () => 'answered',
        () => 'cut',
      );
      await new Promise((r) => setTimeout(r, 200));
      const signalled = Date.now();
      child.kill('SIGTERM');
      assert.equal(await stuck, 'cut');
      assert.equal(await exited, 0, output);
      const took = Date.now() - signalled;
      assert.ok(took >= 1500 && took < 4000, `exited ${took} ms after SIGTERM (the request had 2 s, the databases the rest)`);
      assert.match(output, /cutting the connections still open/);
      const wal = join(dataDir, 'data.db-wal');
      assert.ok(!existsSync(wal) || statSync(wal).size === 0, 'the WAL was checkpointed on close');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('refuses a PLINTH_SHUTDOWN_TIMEOUT that is not a number of seconds before starting', () => {
    const r = spawnSync(process.execPath, [BIN, 'serve', '--http=127.0.0.1:0', `--dir=${join(dir, 'data-bad')}`], {
      encoding: 'utf8',
      env: { ...process.env, PLINTH_SHUTDOWN_TIMEOUT: 'soon' },
      timeout: 30_000,
    });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /Invalid PLINTH_SHUTDOWN_TIMEOUT "soon"/);
    assert.ok(!existsSync(join(dir, 'data-bad')), 'nothing was created');
  });
});
