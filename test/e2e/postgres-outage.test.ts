/**
 * PostgreSQL going away and coming back: while it is unreachable, requests answer 503 with a clear
 * message (and Retry-After) within the pool's connect timeout instead of hanging or failing with a 500;
 * once it is back, the same node serves again without a restart. The outage is a TCP proxy in front of
 * the real server that the test closes (every connection cut) and reopens on the same port.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { App } from '../../src/app.js';
import { silentLogger } from '../../src/util/logger.js';
import { createTempDatabase } from '../helpers/postgres.js';
import { serveApp } from '../helpers/server.js';

/** A loopback TCP proxy to PostgreSQL that can be cut and restored. */
class Proxy {
  private server: net.Server | null = null;
  private sockets = new Set<net.Socket>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((res) => server.listen(this.port, '127.0.0.1', () => res()));
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((res) => server?.close(() => res()) ?? res());
  }
}

describe('PostgreSQL outage', () => {
  it('answers 503 with a clear message while the database is unreachable, and recovers by itself', async () => {
    const db = await createTempDatabase();
    const real = new URL(db.url);
    const proxy = new Proxy({ host: real.hostname, port: Number(real.port || 5432) });
    await proxy.start();
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    const dir = mkdtempSync(join(tmpdir(), 'plinth-outage-'));
    const app = await App.open({ dataDir: join(dir, 'data'), migrationsDir: join(dir, 'm'), databaseUrl: viaProxy.toString(), logger: silentLogger() });
    const { url, close } = await serveApp(app);
    try {
      await app.collections.create({ name: 'notes', type: 'base', fields: [{ name: 'title', type: 'text' }], listRule: '', createRule: '' });
      const ok = await fetch(`${url}/api/collections/notes/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"title":"before"}',
      });
      assert.equal(ok.status, 200);

      await proxy.stop();
      for (const req of [
        () => fetch(`${url}/api/collections/notes/records`),
        () => fetch(`${url}/api/collections/notes/records`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"title":"during"}' }),
      ]) {
        const started = Date.now();
        const res = await req();
        const took = Date.now() - started;
        assert.equal(res.status, 503);
        assert.equal(res.headers.get('retry-after'), '1');
        const body = (await res.json()) as { message: string; status: number };
        assert.equal(body.status, 503);
        assert.match(body.message, /unreachable or restarting/);
        assert.ok(took < 6000, `answered within the connect timeout (${took} ms)`);
      }

      await proxy.start();
      const started = Date.now();
      let status = 0;
      while (Date.now() - started < 10_000) {
        status = (await fetch(`${url}/api/collections/notes/records`)).status;
        if (status === 200) break;
        await sleep(100);
      }
      assert.equal(status, 200, 'the pool reconnected without a restart');
      const after = await fetch(`${url}/api/collections/notes/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"title":"after"}',
      });
      assert.equal(after.status, 200);
    } finally {
      await close();
      await proxy.stop();
      rmSync(dir, { recursive: true, force: true });
      await db.drop();
    }
  });
});
