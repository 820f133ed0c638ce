/**
 * Webhooks on three Plinth nodes sharing one PostgreSQL database: an endpoint created on one node is
 * known to the others through the cluster bus (they bind their capture hooks), records written on every
 * node are each delivered once (one webhook-id each, no 5xx here so no repeats), and all three nodes take
 * part in delivering; disabling the endpoint on one node stops the captures on all.
 * Always on PostgreSQL: a cluster needs a shared database.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from '../../src/app.js';
import { sql } from '../../src/db/sql.js';
import { systemRequest } from '../../src/records/system-request.js';
import { silentLogger } from '../../src/util/logger.js';
import { createTempDatabase, type TempDatabase } from '../helpers/postgres.js';
import { eventually, sleep, startReceiver, verifyHit, type Receiver } from '../helpers/webhook-receiver.js';

const COUNT = Number(process.env.PLINTH_WEBHOOK_CLUSTER_COUNT ?? 600);

describe('webhooks on three nodes sharing one PostgreSQL database', () => {
  let db: TempDatabase;
  let dir: string;
  let receiver: Receiver;
  const nodes: App[] = [];
  const sent = new Map<App, number>();

  before(async () => {
    db = await createTempDatabase();
    dir = mkdtempSync(join(tmpdir(), 'plinth-webhooks-cluster-'));
    receiver = await startReceiver((_q, res) => setTimeout(() => res.end(), 2));
    for (const name of ['a', 'b', 'c']) {
      const app = await App.open({
        dataDir: join(dir, name, 'data'),
        migrationsDir: join(dir, name, 'migrations'),
        databaseUrl: db.url,
        poolSize: 4,
        logger: silentLogger(),
        jobs: { pollMs: 100 },
        webhooks: { scheduleMs: [0, 100, 100], versionCheckMs: 500 },
      });
      // Count the POSTs each node makes (the delivery path goes through app.http.sendOnce).
      const original = app.http.sendOnce.bind(app.http);
      sent.set(app, 0);
      app.http.sendOnce = (url, req) => {
        sent.set(app, (sent.get(app) ?? 0) + 1);
        return original(url, req);
      };
      nodes.push(app);
    }
  });

  after(async () => {
    for (const n of nodes) await n.close();
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
    await db?.drop();
  });

  it(`an endpoint made on one node reaches all; ${COUNT} writes across nodes are each delivered once`, { timeout: 120_000 }, async () => {
    const [a, b, c] = nodes as [App, App, App];
    await a.settings.update({ outbound: { allowedHosts: ['127.0.0.1'] } });
    await a.collections.create({ name: 'items', type: 'base', fields: [{ name: 'n', type: 'number' }] });
    await eventually(() => b.collections.find('items') && c.collections.find('items'), 10_000, 'schema on every node');
    await eventually(() => b.settings.get().outbound.allowedHosts.length === 1 && c.settings.get().outbound.allowedHosts.length === 1);
    const ep = await a.webhooks.create({ url: receiver.url, events: ['items.create'] });
    await eventually(() => b.webhooks.capturing && c.webhooks.capturing, 10_000, 'every node capturing');

    for (let i = 0; i < COUNT; i += 30) {
      await Promise.all(
        Array.from({ length: Math.min(30, COUNT - i) }, (_, j) => {
          const node = nodes[(i + j) % 3] as App;
          return node.writer.create(node.collections.require('items'), { data: { n: i + j } }, systemRequest(node.collections));
        }),
      );
    }
    const hits = await receiver.waitFor(COUNT, 60_000);
    await sleep(500);
    assert.equal(receiver.hits.length, COUNT, 'no event delivered twice');
    const ids = new Set(hits.map((h) => h.headers['webhook-id']));
    assert.equal(ids.size, COUNT);
    const ns = new Set(hits.map((h) => verifyHit(ep.secret, h).data.record.n));
    assert.equal(ns.size, COUNT);
    const perNode = nodes.map((n) => sent.get(n) ?? 0);
    assert.equal(
      perNode.reduce((x, y) => x + y, 0),
      COUNT,
    );
    assert.ok(
      perNode.every((x) => x > 0),
      `every node delivered some: ${perNode.join(', ')}`,
    );
    const left = await a.db.get<{ n: number }>(sql`SELECT COUNT(*) AS n FROM "_webhookMessages" WHERE status <> 'delivered'`);
    assert.equal(Number(left?.n), 0);
    const captured = await a.db.get<{ n: number }>(sql`SELECT COUNT(*) AS n FROM "_webhookOutbox"`);
    assert.equal(Number(captured?.n), 0, 'every captured message was moved out of the outbox');
    console.log(`# ${COUNT} events delivered once each; POSTs per node: ${perNode.join(', ')}`);

    // Disabled on node b: every node stops capturing.
    await b.webhooks.update(ep.id, { enabled: false });
    await eventually(() => !a.webhooks.capturing && !c.webhooks.capturing, 10_000, 'capture stopped everywhere');
    await c.writer.create(c.collections.require('items'), { data: { n: -1 } }, systemRequest(c.collections));
    await sleep(400);
    assert.equal(receiver.hits.length, COUNT);
  });
});
