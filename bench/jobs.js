#!/usr/bin/env node
// Job queue throughput: jobs/s of a no-op handler on SQLite and on PostgreSQL.
//
//   node bench/jobs.js [--jobs=10000] [--concurrency=1,10,50] [--db=sqlite,postgres]
//   env: BENCH_JOBS, BENCH_JOBS_CONCURRENCY, PLINTH_TEST_PG_URL (admin URL, default postgres://postgres@127.0.0.1:5432/postgres)
//
// For each database and concurrency: a fresh app (SQLite in a temp dir, or a throw-away PostgreSQL
// database), `jobs` jobs enqueued (100 at a time, each its own insert) while no handler is defined, then
// the no-op handler defined and the time taken until every job is marked done. Reports enqueue/s and
// jobs/s (one node; completions are batched, claims take as many jobs as there are free slots). Needs a
// build (`npx tsc -p tsconfig.json`). Writes bench/results/jobs.json.
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

const argv = Object.fromEntries(process.argv.slice(2).map((a) => /^--([^=]+)(?:=(.*))?$/.exec(a)?.slice(1) ?? [a, '']));
const JOBS = Number(argv.jobs ?? process.env.BENCH_JOBS ?? 10_000);
const CONCURRENCY = String(argv.concurrency ?? process.env.BENCH_JOBS_CONCURRENCY ?? '1,10,50')
  .split(',')
  .map(Number);
const DBS = String(argv.db ?? 'sqlite,postgres').split(',');
const ADMIN_URL = process.env.PLINTH_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const log = (...a) => console.error('[bench:jobs]', ...a);

/** A throw-away PostgreSQL database (bench/lib.js), with a drop() for the end of the run. */
async function tempPg() {
  const { name, url } = await createTempDatabase(ADMIN_URL, 'plinth_bench_');
  return { url, drop: () => dropDatabase(ADMIN_URL, name) };
}

async function measure(db, concurrency) {
  const dir = mkdtempSync(join(os.tmpdir(), 'plinth-bench-jobs-'));
  const temp = db === 'postgres' ? await tempPg() : null;
  const app = await App.open({
    dataDir: join(dir, 'data'),
    migrationsDir: join(dir, 'migrations'),
    automigrate: false,
    logger: silentLogger(),
    ...(temp ? { databaseUrl: temp.url } : {}),
  });
  try {
    const t0 = performance.now();
    for (let i = 0; i < JOBS; i += 100) {
      await Promise.all(Array.from({ length: Math.min(100, JOBS - i) }, (_, j) => app.jobs.enqueue('noop', { n: i + j })));
    }
    const enqueueMs = performance.now() - t0;
    let ran = 0;
    const t1 = performance.now();
    app.jobs.define('noop', () => void ran++, { concurrency });
    for (;;) {
      if (ran >= JOBS) {
        const left = await app.db.get(sql`SELECT COUNT(*) AS n FROM "_jobs" WHERE status <> 'done'`);
        if (Number(left?.n) === 0) break;
      }
      await sleep(5);
    }
    const runMs = performance.now() - t1;
    return {
      db,
      concurrency,
      jobs: JOBS,
      enqueuePerSec: Math.round(JOBS / (enqueueMs / 1000)),
      jobsPerSec: Math.round(JOBS / (runMs / 1000)),
      runMs: Math.round(runMs),
    };
  } finally {
    await app.close();
    await temp?.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = [];
for (const db of DBS) {
  for (const c of CONCURRENCY) {
    log(`${db}, concurrency ${c}: ${JOBS} jobs …`);
    const r = await measure(db, c);
    log(JSON.stringify(r));
    results.push(r);
  }
}
console.log('\n| database | concurrency | jobs | enqueue/s | jobs/s (no-op handler) |\n| --- | --- | --- | --- | --- |');
for (const r of results) console.log(`| ${r.db} | ${r.concurrency} | ${r.jobs} | ${r.enqueuePerSec} | ${r.jobsPerSec} |`);
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(
  join(ROOT, 'bench/results/jobs.json'),
  JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, results }, null, 2),
);
