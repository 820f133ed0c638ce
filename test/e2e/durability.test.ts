/**
 * The durability promise: a 2xx answer to a write means the write survives `kill -9` of the server at any
 * instant (SQLite WAL, synchronous=NORMAL). Writers record every acknowledged id; after SIGKILL and a
 * restart, every one must be there with its content, and the database must pass integrity_check.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';

const BIN = resolve('bin/plinth.js');

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

async function startServe(dataDir: string, port: number) {
  const child = spawn(process.execPath, [BIN, 'serve', `--http=127.0.0.1:${port}`, `--dir=${dataDir}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  // Listen for the exit now: it may happen before anyone awaits it.
  const exited = new Promise((r) => child.once('exit', r));
  let out = '';
  child.stdout.on('data', (b) => (out += b));
  const deadline = Date.now() + 15_000;
  while (!out.includes('Server started') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  assert.match(out, /Server started/);
  return { child, exited };
}

describe('durability', () => {
  it('keeps every acknowledged write across kill -9, over several rounds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plinth-kill-'));
    const dataDir = join(dir, 'data');
    try {
      assert.equal(spawnSync(process.execPath, [BIN, 'superuser', 'upsert', 'k@example.com', 'password-123', `--dir=${dataDir}`]).status, 0);
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      let server = await startServe(dataDir, port);
      const login = await fetch(`${base}/api/collections/_superusers/auth-with-password`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ identity: 'k@example.com', password: 'password-123' }),
      });
      const { token } = (await login.json()) as { token: string };
      const created = await fetch(`${base}/api/collections`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', Authorization: token },
        body: JSON.stringify({
          name: 'events',
          type: 'base',
          fields: [
            { name: 'n', type: 'number' },
            { name: 'note', type: 'text' },
          ],
          createRule: '',
        }),
      });
      assert.equal(created.status, 200);

      const acknowledged = new Map<string, number>();
      for (let round = 0; round < 3; round++) {
        let stop = false;
        let seq = round * 1_000_000;
        const writer = async () => {
          while (!stop) {
            const n = seq++;
            try {
              const res = await fetch(`${base}/api/collections/events/records`, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify({ n, note: `note ${n}` }),
              });
              if (res.status === 200) acknowledged.set(((await res.json()) as { id: string }).id, n);
            } catch {
              return; // the server died mid-request: not acknowledged
            }
          }
        };
        const writers = Array.from({ length: 16 }, writer);
        await new Promise((r) => setTimeout(r, 300 + Math.random() * 400));
        server.child.kill('SIGKILL');
        stop = true;
        await Promise.all(writers);
        await server.exited;
        server = await startServe(dataDir, port);
      }
      server.child.kill('SIGTERM');
      await server.exited;

      assert.ok(acknowledged.size > 50, `enough writes happened (${acknowledged.size})`);
      const db = new Database(join(dataDir, 'data.db'), { readonly: true });
      try {
        assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
        const get = db.prepare('SELECT n, note FROM events WHERE id = ?');
        for (const [id, n] of acknowledged) {
          const row = get.get(id) as { n: number; note: string } | undefined;
          assert.ok(row, `acknowledged record ${id} survived`);
          assert.equal(row.n, n);
          assert.equal(row.note, `note ${n}`);
        }
      } finally {
        db.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
