#!/usr/bin/env node
// Webhook throughput on SQLite and PostgreSQL, against a local keep-alive receiver:
//
//   node bench/webhooks.js [--events=3000] [--creates=2000] [--db=sqlite,postgres]
//   env: PLINTH_TEST_PG_URL (admin URL, default postgres://postgres@127.0.0.1:5432/postgres)
//
// 1. deliveries/s: `events` custom events emitted (100 per transaction) to one endpoint; time from the
//    first emit until every message is marked delivered (default concurrency 32 per node).
// 2. the write-path cost: record creates/s (10 at a time, through app.writer as the API does) with no
//    endpoint vs one matching endpoint (its deliveries running meanwhile), alternated twice, best of each;
//    the ratio is reported (target ≥ 0.8×); and with the deliveries paused on this node (the write path
//    alone: capture in the transaction, as when another node of a cluster delivers). Needs a build (`npx tsc -p tsconfig.json`).
// Writes bench/results/webhooks.json.
import { createServer } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTempDatabase, dropDatabase } from './lib.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { App } = await import(join(ROOT, 'dist/src/app.js'));
const { sql } = await import(join(ROOT, 'dist/src/db/sql.js'));
const { silentLogger } = await import(join(ROOT, 'dist/src/util/logger.js'));
const { systemRequest } = await import(join(ROOT, 'dist/src/records/system-request.js'));

const argv = Object.fromEntries(process.argv.slice(2).map((a) => /^--([^=]+)(?:=(.*))?$/.exec(a)?.slice(1) ?? [a, '']));
const EVENTS = Number(argv.events ?? 3000);
const CREATES = Number(argv.creates ?? 2000);
const DBS = String(argv.db ?? 'sqlite,postgres').split(',');
const ADMIN_URL = process.env.PLINTH_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const log = (...a) => console.error('[bench:webhooks]', ...a);

/** A throw-away PostgreSQL database (bench/lib.js), with a drop() for the end of the run. */
async function tempPg() {
  const { name, url } = await createTempDatabase(ADMIN_URL, 'plinth_bench_');
  return { url, drop: () => dropDatabase(ADMIN_URL, name) };
}

let hits = 0;
const receiver = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    hits++;
    res.end();
  });
});
receiver.keepAliveTimeout = 10_000;
await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
const RECEIVER = `http://127.0.0.1:${receiver.address().port}/`;

async function waitDelivered(app) {
  for (;;) {
    const left = await app.db.get(sql`SELECT COUNT(*) AS n FROM "_webhookMessages" WHERE status = 'pending'`);
    const captured = await app.db.get(sql`SELECT COUNT(*) AS n FROM "_webhookOutbox"`);
    if (Number(left?.n) + Number(captured?.n) === 0) return;
    await sleep(10);
  }
}

async function creates(app, n) {
  const c = app.collections.require('items');
  const req = systemRequest(app.collections);
  const t0 = performance.now();
  for (let i = 0; i < n; i += 10) {
    await Promise.all(Array.from({ length: Math.min(10, n - i) }, (_, j) => app.writer.create(c, { data: { n: i + j, title: `item ${i + j}` } }, req)));
  }
  return Math.round(n / ((performance.now() - t0) / 1000));
}

async function measure(db) {
  const dir = mkdtempSync(join(os.tmpdir(), 'plinth-bench-webhooks-'));
  const temp = db === 'postgres' ? await tempPg() : null;
  const app = await App.open({
    dataDir: join(dir, 'data'),
    migrationsDir: join(dir, 'migrations'),
    automigrate: false,
    logger: silentLogger(),
    ...(temp ? { databaseUrl: temp.url } : {}),
  });
  try {
    await app.settings.update({ outbound: { allowedHosts: ['127.0.0.1'] } });
    await app.collections.create({
      name: 'items',
      type: 'base',
      fields: [
        { name: 'n', type: 'number' },
        { name: 'title', type: 'text' },
      ],
    });
    // 1. deliveries/s
    const custom = await app.webhooks.create({ url: RECEIVER, events: ['bench.event'] });
    hits = 0;
    const t0 = performance.now();
    for (let i = 0; i < EVENTS; i += 100) {
      await app.db.transaction(async (tx) => {
        for (let j = i; j < Math.min(EVENTS, i + 100); j++) await app.webhooks.emit('bench.event', { n: j }, { tx });
      });
    }
    const emitMs = performance.now() - t0;
    await waitDelivered(app);
    const deliverMs = performance.now() - t0;
    await app.webhooks.delete(custom.id);
    // 2. creates/s with no endpoint vs one matching endpoint
    const none = [];
    const one = [];
    const captureOnly = [];
    await creates(app, 200); // warm-up
    for (let round = 0; round < 2; round++) {
      none.push(await creates(app, CREATES));
      const ep = await app.webhooks.create({ url: RECEIVER, events: ['items.create'] });
      one.push(await creates(app, CREATES));
      await waitDelivered(app);
      // The write path alone: deliveries paused on this node (they would run on another node of a cluster).
      app.webhooks.pauseDelivery();
      captureOnly.push(await creates(app, CREATES));
      app.webhooks.resumeDelivery();
      await waitDelivered(app);
      await app.webhooks.delete(ep.id);
    }
    const bestNone = Math.max(...none);
    const bestOne = Math.max(...one);
    const bestCapture = Math.max(...captureOnly);
    return {
      db,
      events: EVENTS,
      emitPerSec: Math.round(EVENTS / (emitMs / 1000)),
      deliveriesPerSec: Math.round(EVENTS / (deliverMs / 1000)),
      creates: CREATES,
      createsPerSecNoEndpoint: bestNone,
      createsPerSecOneEndpoint: bestOne,
      ratio: Math.round((bestOne / bestNone) * 100) / 100,
      createsPerSecCaptureOnly: bestCapture,
      captureRatio: Math.round((bestCapture / bestNone) * 100) / 100,
      runs: { none, one, captureOnly },
    };
  } finally {
    await app.close();
    await temp?.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = [];
for (const db of DBS) {
  log(`${db}: ${EVENTS} events, ${CREATES} creates …`);
  const r = await measure(db);
  log(JSON.stringify(r));
  results.push(r);
}
receiver.close();
console.log(
  '\n| database | deliveries/s | creates/s, no endpoint | one endpoint, delivering meanwhile | ratio | one endpoint, capture only | ratio |\n| --- | --- | --- | --- | --- | --- | --- |',
);
for (const r of results) {
  console.log(
    `| ${r.db} | ${r.deliveriesPerSec} | ${r.createsPerSecNoEndpoint} | ${r.createsPerSecOneEndpoint} | ${r.ratio}× | ${r.createsPerSecCaptureOnly} | ${r.captureRatio}× |`,
  );
}
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(
  join(ROOT, 'bench/results/webhooks.json'),
  JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, results }, null, 2),
);
