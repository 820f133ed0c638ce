#!/usr/bin/env node
// `npm run bench`: Plinth vs a hand-written node:http + better-sqlite3 baseline, same run, same data.
// `npm run bench:postgres` (--db=postgres): Plinth on PostgreSQL vs node:http + pg, same run, same data.
//
//   node bench/run.js [--db=sqlite|postgres] [--only=baseline|plinth] [--ops=view,list,create,route] [--duration=10]
//                     [--warmup=2] [--rounds=1] [--connections=50] [--rows=100000] [--pool-size=10] [--keep]
//                     [--plinth-bin=bin/plinth.js]
//   env: BENCH_DB, BENCH_DURATION, BENCH_WARMUP, BENCH_ROUNDS, BENCH_CONNECTIONS, BENCH_ROWS, BENCH_POOL_SIZE,
//        BENCH_IDLE_MS, BENCH_STARTUP_TIMEOUT_MS, BENCH_PG_URL (admin connection, default postgres://postgres@127.0.0.1:5432/postgres),
//        PLINTH_BIN
//
// Steps: preload the baseline DB and start bench/baseline-server.js; create a superuser with the Plinth CLI,
// start `plinth serve`, create the `posts` collection through the API, stop Plinth, bulk-insert the same rows
// straight into <dir>/data.db (through the API would take minutes), restart Plinth; check both servers
// answer alike; sample Plinth's idle RSS; then for each operation run autocannon (warm-up + measured run)
// against the baseline and then Plinth. Prints a markdown table and writes bench/results/latest.json.
//
// With --db=postgres each side gets its own throw-away database (CREATE DATABASE before, DROP … WITH (FORCE)
// after, also on failure and Ctrl-C): the baseline is bench/baseline-pg-server.js on a `posts` table laid out
// as Plinth's; Plinth runs `serve --db=<url> --poolSize=<pool-size>`, and the rows are bulk-inserted into its
// `posts` table with multi-row INSERTs while it is stopped, as above. Both tables are then VACUUM ANALYZEd.
// Results go to bench/results/postgres.json instead.
// --ops=route compares, inside ONE Plinth process, a custom GET route returning a record through app.reader
// (bench/route-server.js: `plinth serve` plus that route) with the built-in view of the same records: the row's
// "baseline" columns are then Plinth's built-in view, the "Plinth" ones the custom route (target ≥ 0.9×). With
// `route` among the ops, Plinth is started through bench/route-server.js for every op.
// --compare=metrics measures what the metrics cost: both sides are Plinth on the same data, the "baseline" one started
// with `--metrics=false` (--compare-flags="…" replaces those flags, e.g. "--metrics=false --slowQueryMs=off" to
// take the slow-query log's request context off as well); target ≥ 0.95× for every op.
// Exit code: 0 when the measurement completed (whether or not targets were met), 1 if anything crashed.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { cpuMs, createTempDatabase, dropDatabase, dropDatabasesSync, freePort, HOST, PG_ADMIN_URL, readMem, request, waitIdle } from './lib.js';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import pg from 'pg';
import {
  AUTHOR_COUNT,
  COLLECTION,
  ROW_COUNT,
  authorName,
  collectionCreateBody,
  createBaselinePgSchema,
  createBaselineSchema,
  generateIds,
  loadRows,
  loadRowsPg,
  prng,
} from './schema.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH_DIR, '..');
const RECORDS = `/api/collections/${COLLECTION}/records`;
const TARGETS = { view: 0.6, list: 0.5, create: 0.5, route: 0.9 };
const ROUTE_PATH = `/api/bench/${COLLECTION}/`;
const RSS_TARGET_MB = 80;

// --- configuration -------------------------------------------------------------------------
const argv = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`unknown argument: ${a}`);
    return [m[1], m[2] ?? 'true'];
  }),
);
function num(name, env, dflt) {
  const v = argv[name] ?? process.env[env];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`invalid ${name}: ${v}`);
  return n;
}
const config = {
  db: argv.db ?? process.env.BENCH_DB ?? 'sqlite',
  only: argv.only ?? 'both',
  ops: (argv.ops ?? 'view,list,create')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
  duration: num('duration', 'BENCH_DURATION', 10),
  warmup: num('warmup', 'BENCH_WARMUP', 2),
  rounds: Math.max(1, Math.floor(num('rounds', 'BENCH_ROUNDS', 1))),
  connections: num('connections', 'BENCH_CONNECTIONS', 50),
  pipelining: 1,
  rows: num('rows', 'BENCH_ROWS', ROW_COUNT),
  poolSize: num('pool-size', 'BENCH_POOL_SIZE', 10),
  idleMs: num('idle-ms', 'BENCH_IDLE_MS', 3000),
  startupTimeoutMs: num('startup-timeout-ms', 'BENCH_STARTUP_TIMEOUT_MS', 30_000),
  keep: argv.keep === 'true',
  plinthBin: resolve(ROOT, argv['plinth-bin'] ?? process.env.PLINTH_BIN ?? join('bin', 'plinth.js')),
  compare: argv.compare ?? null,
  compareFlags: (argv['compare-flags'] ?? '--metrics=false').split(' ').filter(Boolean),
  fresh: argv.fresh === 'true',
};
if (config.compare !== null && config.compare !== 'metrics') throw new Error(`--compare takes metrics, got ${config.compare}`);
const comparing = config.compare === 'metrics';
if (comparing) {
  for (const op of Object.keys(TARGETS)) TARGETS[op] = 0.95;
  if (config.only !== 'both') throw new Error('--compare runs two Plinths; --only does not apply');
}
if (!['sqlite', 'postgres'].includes(config.db)) throw new Error(`--db must be sqlite or postgres, got ${config.db}`);
if (config.db === 'postgres' && !(Number.isInteger(config.poolSize) && config.poolSize >= 1)) throw new Error('--pool-size must be a whole number ≥ 1');
if (!['both', 'baseline', 'plinth'].includes(config.only)) throw new Error(`--only must be baseline or plinth, got ${config.only}`);
for (const op of config.ops) if (!(op in TARGETS)) throw new Error(`unknown op ${op} (view, list, create, route)`);
if (config.fresh && !comparing) throw new Error('--fresh restarts the two Plinths of --compare=metrics; it needs --compare');
if (comparing && config.ops.includes('route')) throw new Error('--compare=metrics measures view, list and create');
const withRoute = config.ops.includes('route');
if (config.rows < 1) throw new Error('--rows must be ≥ 1');
const useBaseline = config.only !== 'plinth';
const usePlinth = config.only !== 'baseline';
const onPostgres = config.db === 'postgres';
const RESULTS_FILE = `${config.compare === 'metrics' ? 'metrics-' : ''}${onPostgres ? 'postgres.json' : 'latest.json'}`;

const log = (...a) => console.error('[bench]', ...a);

// --- process / temp dir / temp database bookkeeping (always cleaned up) --------------------
const children = new Set();
const tempDirs = new Set();
const tempDbs = new Set(); // PostgreSQL database names

async function makeTempDatabase(prefix) {
  const db = await createTempDatabase(PG_ADMIN_URL, prefix);
  tempDbs.add(db.name);
  log(`created database ${db.name}`);
  return db;
}

function makeTempDir(prefix) {
  const d = mkdtempSync(join(os.tmpdir(), prefix));
  tempDirs.add(d);
  return d;
}

function startChild(name, args, { logFile, env } = {}) {
  const fd = openSync(logFile, 'a');
  const proc = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const child = { name, proc, logFile, exitInfo: null, stopping: false };
  child.exited = new Promise((res) => {
    proc.on('exit', (code, signal) => {
      child.exitInfo = { code, signal };
      children.delete(child);
      res(child.exitInfo);
    });
    proc.on('error', (err) => {
      child.exitInfo = { code: null, signal: null, error: err };
      children.delete(child);
      res(child.exitInfo);
    });
  });
  children.add(child);
  return child;
}

async function stopChild(child, timeoutMs = 5000) {
  if (child.exitInfo) return child.exitInfo;
  child.stopping = true;
  child.proc.kill('SIGTERM');
  const t = sleep(timeoutMs).then(() => 'timeout');
  if ((await Promise.race([child.exited, t])) === 'timeout') {
    log(`${child.name} did not exit on SIGTERM, sending SIGKILL`);
    child.proc.kill('SIGKILL');
    await child.exited;
  }
  return child.exitInfo;
}

function tail(file, lines = 30) {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function assertAlive(child) {
  if (child.exitInfo && !child.stopping) {
    throw new Error(`${child.name} exited unexpectedly (${JSON.stringify(child.exitInfo)})\n--- ${child.name} log tail ---\n${tail(child.logFile)}`);
  }
}

async function cleanup() {
  await Promise.all([...children].map((c) => stopChild(c, 3000).catch(() => {})));
  if (!config.keep) {
    for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
    tempDirs.clear();
    for (const name of [...tempDbs]) {
      try {
        await dropDatabase(PG_ADMIN_URL, name);
        tempDbs.delete(name);
        log(`dropped database ${name}`);
      } catch (err) {
        log(`could not drop database ${name}: ${err instanceof Error ? err.message : err}`);
      }
    }
  } else if (tempDirs.size || tempDbs.size) {
    log(`--keep: left ${[...tempDirs, ...tempDbs].join(', ')}`);
  }
}

// Last resort (uncaught error, process.exit): synchronous kill + rm.
process.on('exit', () => {
  for (const c of children) {
    try {
      c.proc.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  if (!config.keep) {
    for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
    dropDatabasesSync(PG_ADMIN_URL, [...tempDbs]);
  }
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    log(`${sig}: stopping`);
    cleanup().finally(() => process.exit(130));
  });
}

// --- small helpers -------------------------------------------------------------------------

/**
 * Ready = the port answers GET /api/health with anything but 503 (Plinth binds its port first and answers 503
 * "starting" until it has opened the database; the baselines answer whatever they answer).
 */
async function waitReady(child, port) {
  const deadline = Date.now() + config.startupTimeoutMs;
  for (;;) {
    assertAlive(child);
    try {
      const res = await request(port, 'GET', '/api/health', { timeoutMs: 1000 });
      if (res.status !== 503) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      throw new Error(`${child.name} not ready on ${HOST}:${port} after ${config.startupTimeoutMs} ms\n--- log tail ---\n${tail(child.logFile)}`);
    }
    await sleep(100);
  }
}

function runCli(args, logFile, timeoutMs = 60_000) {
  const child = startChild(`plinth ${args[1]}`, args, { logFile });
  return Promise.race([
    child.exited,
    sleep(timeoutMs).then(() => {
      child.proc.kill('SIGKILL');
      return { code: null, signal: 'timeout' };
    }),
  ]);
}

// --- servers -------------------------------------------------------------------------------
/** Rows in, then VACUUM ANALYZE (what autovacuum would do a minute later, mid-measurement). */
async function preloadPg(url, what) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { inserted, ms } = await loadRowsPg(client, config.rows);
    const count = (await client.query(`SELECT COUNT(*)::int AS n FROM "${COLLECTION}"`)).rows[0].n;
    if (count !== config.rows) throw new Error(`expected ${config.rows} rows in ${what}, found ${count}`);
    await client.query(`VACUUM ANALYZE "${COLLECTION}"`);
    log(`${what}: preloaded ${inserted} rows in ${ms.toFixed(0)} ms (then VACUUM ANALYZE)`);
  } finally {
    await client.end();
  }
}

async function setupBaselinePg() {
  const dir = makeTempDir('plinth-bench-baseline-');
  const db = await makeTempDatabase('plinth_bench_baseline_');
  {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await createBaselinePgSchema(client);
    } finally {
      await client.end();
    }
  }
  await preloadPg(db.url, 'baseline');
  const port = await freePort();
  const child = startChild(
    'baseline',
    [join(BENCH_DIR, 'baseline-pg-server.js'), `--host=${HOST}`, `--port=${port}`, `--db=${db.url}`, `--pool-size=${config.poolSize}`],
    { logFile: join(dir, 'server.log') },
  );
  await waitReady(child, port);
  log(`baseline: listening on ${HOST}:${port} (pid ${child.proc.pid}, pg pool ${config.poolSize})`);
  return { name: 'baseline', port, child, dir };
}

async function setupBaseline() {
  if (onPostgres) return setupBaselinePg();
  const dir = makeTempDir('plinth-bench-baseline-');
  const dbFile = join(dir, 'baseline.db');
  const db = new Database(dbFile);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  createBaselineSchema(db);
  const { inserted, ms } = loadRows(db, config.rows);
  db.close();
  log(`baseline: preloaded ${inserted} rows in ${ms.toFixed(0)} ms`);
  const port = await freePort();
  const child = startChild('baseline', [join(BENCH_DIR, 'baseline-server.js'), `--host=${HOST}`, `--port=${port}`, `--db=${dbFile}`], {
    logFile: join(dir, 'server.log'),
  });
  await waitReady(child, port);
  log(`baseline: listening on ${HOST}:${port} (pid ${child.proc.pid})`);
  return { name: 'baseline', port, child, dir };
}

/** Plinth's SQLite file: <dir>/data.db, else any *.db (dir or dir/pb_data) with a `posts` table. */
function findPlinthDb(dir) {
  const preferred = join(dir, 'data.db');
  if (existsSync(preferred)) return preferred;
  const candidates = [];
  for (const d of [dir, join(dir, 'pb_data')]) {
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d)) if (f.endsWith('.db')) candidates.push(join(d, f));
  }
  for (const f of candidates) {
    const db = new Database(f, { readonly: true, fileMustExist: true });
    try {
      if (db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(COLLECTION)) return f;
    } finally {
      db.close();
    }
  }
  throw new Error(`no SQLite file with a "${COLLECTION}" table under ${dir} (looked for data.db; found: ${candidates.join(', ') || 'none'})`);
}

/** `name` and `extraFlags`: --compare=metrics starts a second Plinth as the "baseline" side with other flags. */
async function setupPlinth(name = 'plinth', extraFlags = []) {
  const bin = config.plinthBin;
  if (!existsSync(bin)) throw new Error(`${bin} not found: Plinth isn't built/available yet (use --only=baseline)`);
  const tmp = makeTempDir('plinth-bench-plinth-');
  const logFile = join(tmp, 'plinth.log');
  // --dir is a subdirectory so that everything Plinth writes "beside" it (PocketBase-style
  // ../plinth_migrations from collection changes made through the API) stays inside the temp dir.
  const dir = join(tmp, 'data');
  mkdirSync(dir, { recursive: true });
  const email = 'bench@example.com';
  const password = 'bench-' + randomBytes(12).toString('hex');
  const pgDb = onPostgres ? await makeTempDatabase('plinth_bench_plinth_') : null;
  const dbFlags = pgDb ? [`--db=${pgDb.url}`] : [];

  // 1. superuser via the CLI
  const up = await runCli([bin, 'superuser', 'upsert', email, password, `--dir=${dir}`, ...dbFlags], logFile);
  if (up.code !== 0) throw new Error(`plinth superuser upsert failed (${JSON.stringify(up)})\n--- log tail ---\n${tail(logFile)}`);

  // 2. serve, log in, create the collection
  const port = await freePort();
  // Started exactly as `npm start` / the `plinth` shebang start it (2 MiB young generation: lower idle RSS).
  const entry = withRoute ? [join(BENCH_DIR, 'route-server.js')] : [bin, 'serve'];
  const serveArgs = [
    ...(process.env.PLINTH_NODE_FLAGS ?? '--max-semi-space-size=2').split(' ').filter(Boolean),
    ...entry,
    `--http=${HOST}:${port}`,
    `--dir=${dir}`,
    ...dbFlags,
    ...(pgDb ? [`--poolSize=${config.poolSize}`] : []),
    ...extraFlags,
  ];
  const env = { NODE_ENV: process.env.NODE_ENV ?? 'production' };
  let child = startChild(name, serveArgs, { logFile, env });
  await waitReady(child, port);
  const login = await request(port, 'POST', '/api/collections/_superusers/auth-with-password', { body: { identity: email, password } });
  if (login.status !== 200 || typeof login.json?.token !== 'string') {
    throw new Error(`superuser login failed: ${login.status} ${login.text.slice(0, 500)}`);
  }
  const created = await request(port, 'POST', '/api/collections', {
    body: collectionCreateBody(),
    headers: { authorization: login.json.token },
  });
  if (created.status !== 200 && created.status !== 201) {
    throw new Error(`creating the ${COLLECTION} collection failed: ${created.status} ${created.text.slice(0, 1000)}`);
  }
  log(`${name}: superuser + "${COLLECTION}" collection created`);

  // 3. stop, bulk-insert the rows straight into the SQLite file (or PostgreSQL table), restart.
  //    (Through the API this would be 100k POSTs: minutes, and it would benchmark the wrong thing.)
  await stopChild(child);
  if (pgDb) {
    await preloadPg(pgDb.url, `${name} (${pgDb.name})`);
    child = startChild(name, serveArgs, { logFile, env });
    await waitReady(child, port);
    log(`${name}: listening on ${HOST}:${port} (pid ${child.proc.pid}, PostgreSQL, pool ${config.poolSize})`);
    return { name, port, child, dir: tmp, restartArgs: { serveArgs, logFile, env } };
  }
  const dbFile = findPlinthDb(dir);
  const db = new Database(dbFile, { fileMustExist: true });
  db.pragma('busy_timeout = 10000');
  const { inserted, ms } = loadRows(db, config.rows);
  const count = db.prepare(`SELECT COUNT(*) FROM "${COLLECTION}"`).pluck().get();
  db.close();
  if (count !== config.rows) throw new Error(`expected ${config.rows} rows in ${dbFile}, found ${count}`);
  log(`${name}: preloaded ${inserted} rows into ${dbFile} in ${ms.toFixed(0)} ms`);

  child = startChild(name, serveArgs, { logFile, env });
  await waitReady(child, port);
  log(`${name}: listening on ${HOST}:${port} (pid ${child.proc.pid})`);
  return { name, port, child, dir: tmp, restartArgs: { serveArgs, logFile, env } };
}

/** --fresh: stops a Plinth started by setupPlinth and starts it again on the same data, port and flags. */
async function restartPlinth(server) {
  const { serveArgs, logFile, env } = server.restartArgs;
  await stopChild(server.child);
  server.child = startChild(server.name, serveArgs, { logFile, env });
  await waitReady(server.child, server.port);
}

// --- equivalence checks --------------------------------------------------------------------
function stripVolatile(rec) {
  if (!rec || typeof rec !== 'object') return rec;
  const { collectionId: _cid, ...rest } = rec;
  return rest;
}
const sortedKeys = (o) => (o && typeof o === 'object' ? Object.keys(o).sort().join(',') : String(o));

async function checkServers(servers, ids) {
  const warnings = [];
  const sampleId = ids[Math.floor(ids.length / 2)];
  const sampleListPath = `${RECORDS}?filter=${encodeURIComponent(`author='${authorName(123 % AUTHOR_COUNT)}'`)}&perPage=20`;
  const createBody = { title: 'check', body: 'equivalence check', author: authorName(7 % AUTHOR_COUNT), status: 'published', views: 1 };
  const got = {};
  for (const s of servers) {
    const view = await request(s.port, 'GET', `${RECORDS}/${sampleId}`);
    const list = await request(s.port, 'GET', sampleListPath);
    const create = await request(s.port, 'POST', RECORDS, { body: createBody });
    for (const [op, r] of Object.entries({ view, list, create })) {
      if (r.status !== 200) warnings.push(`${s.name} ${op}: HTTP ${r.status} ${r.text.slice(0, 300)}`);
    }
    got[s.name] = { view: view.json, list: list.json, create: create.json };
    if (s.name === 'plinth' && withRoute) {
      const route = await request(s.port, 'GET', `${ROUTE_PATH}${sampleId}`);
      if (route.status !== 200 || JSON.stringify(route.json) !== JSON.stringify(view.json)) {
        warnings.push(`custom route differs from the built-in view: HTTP ${route.status} ${route.text.slice(0, 300)}`);
      }
    }
  }
  const [a, b] = servers;
  if (a && b && got[a.name] && got[b.name]) {
    const A = got[a.name];
    const B = got[b.name];
    if (JSON.stringify(stripVolatile(A.view)) !== JSON.stringify(stripVolatile(B.view))) {
      warnings.push(`view differs:\n  ${a.name}: ${JSON.stringify(A.view)}\n  ${b.name}: ${JSON.stringify(B.view)}`);
    }
    for (const k of ['page', 'perPage', 'totalItems', 'totalPages']) {
      if (A.list?.[k] !== B.list?.[k]) warnings.push(`list ${k} differs: ${a.name}=${A.list?.[k]} ${b.name}=${B.list?.[k]}`);
    }
    if (A.list?.items?.length !== B.list?.items?.length) {
      warnings.push(`list items length differs: ${a.name}=${A.list?.items?.length} ${b.name}=${B.list?.items?.length}`);
    } else if (A.list?.items?.length && sortedKeys(A.list.items[0]) !== sortedKeys(B.list.items[0])) {
      warnings.push(`list item keys differ: ${a.name}=[${sortedKeys(A.list.items[0])}] ${b.name}=[${sortedKeys(B.list.items[0])}]`);
    }
    if (sortedKeys(A.create) !== sortedKeys(B.create)) {
      warnings.push(`create response keys differ: ${a.name}=[${sortedKeys(A.create)}] ${b.name}=[${sortedKeys(B.create)}]`);
    }
  }
  return warnings;
}

// --- load generation -----------------------------------------------------------------------
function requestsFor(op, ids) {
  const rand = prng(0xbe4c); // same request sequence for every target
  if (op === 'view' || op === 'route') {
    const prefix = op === 'route' ? ROUTE_PATH : `${RECORDS}/`;
    return [{ method: 'GET', path: prefix + ids[0], setupRequest: (req) => ((req.path = prefix + ids[Math.floor(rand() * ids.length)]), req) }];
  }
  if (op === 'list') {
    const paths = Array.from({ length: AUTHOR_COUNT }, (_, i) => `${RECORDS}?filter=${encodeURIComponent(`author='${authorName(i)}'`)}&perPage=20`);
    return [{ method: 'GET', path: paths[0], setupRequest: (req) => ((req.path = paths[Math.floor(rand() * paths.length)]), req) }];
  }
  // create
  let n = 0;
  return [
    {
      method: 'POST',
      path: RECORDS,
      headers: { 'content-type': 'application/json' },
      setupRequest: (req) => {
        n++;
        req.body = JSON.stringify({
          title: `bench post ${n}`,
          body: 'created by npm run bench; a short body of ordinary length for a blog post row.',
          author: authorName(Math.floor(rand() * AUTHOR_COUNT)),
          status: rand() < 0.5 ? 'published' : 'draft',
          views: Math.floor(rand() * 1000),
        });
        return req;
      },
    },
  ];
}

async function cannon(server, op, ids, duration) {
  const result = await autocannon({
    url: `http://${HOST}:${server.port}`,
    connections: config.connections,
    pipelining: config.pipelining,
    duration,
    timeout: 10,
    requests: requestsFor(op, ids),
  });
  assertAlive(server.child);
  return result;
}

function summarize(r) {
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    latencyAvg: r.latency.average,
    total: r.requests.total,
    '2xx': r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    statusCodes: Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([k, v]) => [k, v.count])),
    duration: r.duration,
  };
}

/**
 * After a run, wait until the server is idle again, so work it deferred (e.g. queued notifications) does
 * not run into the next measured run, which may be the other server's. How long that took is reported.
 */
async function settle(server) {
  const ms = await waitIdle(server.child.proc.pid);
  assertAlive(server.child);
  return ms;
}

async function measure(server, op, ids, round) {
  if ((round === 0 || config.fresh) && config.warmup > 0) {
    await cannon(server, op, ids, config.warmup);
    await settle(server);
  }
  const cpuBefore = cpuMs(server.child.proc.pid);
  const s = summarize(await cannon(server, op, ids, config.duration));
  s.settleMs = Math.round(await settle(server));
  // Server CPU per answered request (µs), work finished after the run included: steadier than req/s on a busy machine.
  s.cpuUs = ((cpuMs(server.child.proc.pid) - cpuBefore) * 1000) / Math.max(1, s.total);
  const tag = config.rounds > 1 ? ` #${round + 1}` : '';
  const busy = s.settleMs >= 500 ? `  (busy ${(s.settleMs / 1000).toFixed(1)} s after the run)` : '';
  log(
    `${op.padEnd(6)} ${(server.name + tag).padEnd(11)} ${s.rps.toFixed(0).padStart(7)} req/s  ${s.cpuUs.toFixed(0).padStart(4)} µs CPU/req  p99 ${s.p99} ms  non-2xx ${s.non2xx}  errors ${s.errors}${busy}`,
  );
  return s;
}

/** Median run by req/s (its own p99 etc. kept); non-2xx/errors summed over all runs. */
function combine(runs) {
  if (runs.length === 0) return null;
  const sorted = [...runs].sort((a, b) => a.rps - b.rps);
  const med = sorted[Math.floor((sorted.length - 1) / 2)];
  const sum = (k) => runs.reduce((n, r) => n + r[k], 0);
  return { ...med, non2xx: sum('non2xx'), errors: sum('errors'), timeouts: sum('timeouts'), runs: runs.length > 1 ? runs : undefined };
}

// --- report --------------------------------------------------------------------------------
const fmtInt = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');
const fmtMs = (n) => (Number.isFinite(n) ? String(n) : '—');
const fmtMB = (n) => (Number.isFinite(n) ? `${n.toFixed(1)} MB` : '—');

function renderTable(rows) {
  const head = [
    'operation',
    'baseline req/s',
    'baseline p99 ms',
    'Plinth req/s',
    'Plinth p99 ms',
    'ratio',
    'target',
    'pass/fail',
    'non-2xx/errors (baseline · Plinth)',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((h, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const r of rows) {
    const bad = (s) => (s ? `${s.non2xx}/${s.errors}` : '—');
    lines.push(
      `| ${[
        r.op === 'route' ? 'route (vs Plinth view)' : r.op,
        fmtInt(r.baseline?.rps),
        fmtMs(r.baseline?.p99),
        fmtInt(r.plinth?.rps),
        fmtMs(r.plinth?.p99),
        r.ratio === null ? '—' : `${r.ratio.toFixed(2)}×`,
        `≥ ${r.target}×`,
        r.verdict,
        `${bad(r.baseline)} · ${bad(r.plinth)}`,
      ].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

/**
 * --compare=metrics: per op, the req/s ratio of every round (on/off, same round, back to back) and its spread,
 * and the server CPU per request off → on with its ratio (off/on: what the metrics cost in throughput at equal CPU).
 */
function renderCompare(rows) {
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  const lines = [
    '| operation | req/s ratio per round (on/off) | median | CPU µs/req off → on (medians) | CPU ratio (off/on) |',
    '| --- | --- | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    const off = r.baseline?.runs ?? (r.baseline ? [r.baseline] : []);
    const on = r.plinth?.runs ?? (r.plinth ? [r.plinth] : []);
    const ratios = on.map((x, i) => x.rps / (off[i]?.rps ?? NaN));
    const cpuOff = median(off.map((x) => x.cpuUs));
    const cpuOn = median(on.map((x) => x.cpuUs));
    lines.push(
      `| ${r.op} | ${ratios.map((x) => `${x.toFixed(2)}×`).join(', ')} | ${median(ratios).toFixed(2)}× | ${cpuOff.toFixed(0)} → ${cpuOn.toFixed(0)} | ${(cpuOff / cpuOn).toFixed(2)}× |`,
    );
  }
  return lines.join('\n');
}

// --- main ----------------------------------------------------------------------------------
async function main() {
  log(
    `config: db=${config.db} only=${config.only} ops=${config.ops.join(',')} rows=${config.rows} duration=${config.duration}s warmup=${config.warmup}s rounds=${config.rounds} connections=${config.connections} pipelining=1 host=${HOST} cpus=${os.cpus().length}`,
  );
  const ids = generateIds(config.rows);
  const servers = [];
  if (comparing) {
    log(`--compare=metrics: "baseline" is Plinth with ${config.compareFlags.join(' ')}, "plinth" is Plinth with --metrics=true`);
    servers.push(await setupPlinth('baseline', config.compareFlags));
    servers.push(await setupPlinth('plinth', ['--metrics=true'])); // metrics are off by default: this side has them on
  } else {
    if (useBaseline) servers.push(await setupBaseline());
    if (usePlinth) servers.push(await setupPlinth());
  }
  const byName = Object.fromEntries(servers.map((s) => [s.name, s]));

  const warnings = await checkServers(servers, ids);
  for (const w of warnings) log(`WARNING ${w}`);

  await sleep(config.idleMs);
  const idle = Object.fromEntries(servers.map((s) => [s.name, readMem(s.child.proc.pid)]));
  for (const s of servers) log(`${s.name}: idle RSS ${fmtMB(idle[s.name].rssMB)}`);

  const rows = [];
  for (const op of config.ops) {
    const runs = { baseline: [], plinth: [] };
    for (let round = 0; round < config.rounds; round++) {
      if (op === 'route') {
        // One Plinth process: its built-in view (the "baseline" side) vs its custom route, alternating.
        if (!byName.plinth) break;
        const sides = [
          ['baseline', 'view'],
          ['plinth', 'route'],
        ];
        for (const [side, sub] of round % 2 === 0 ? sides : [...sides].reverse())
          runs[side].push(await measure({ ...byName.plinth, name: `plinth ${sub}` }, sub, ids, round));
        continue;
      }
      // --fresh: new server processes every round (after the first), so one process's luck (JIT, heap layout)
      // does not decide the ratio; started in the order they will run.
      if (config.fresh && round > 0) for (const s of servers) await restartPlinth(s);
      // alternate who goes first, so drift (thermal, page cache, JIT of the load generator) cancels out
      const order = round % 2 === 0 ? servers : [...servers].reverse();
      for (const s of order) runs[s.name].push(await measure(s, op, ids, round));
    }
    const b = combine(runs.baseline);
    const p = combine(runs.plinth);
    const clean = (s) => s && s.non2xx === 0 && s.errors === 0;
    const ratio = b && p && b.rps > 0 ? p.rps / b.rps : null;
    let verdict = 'n/a';
    if (ratio !== null) {
      if (!clean(b) || !clean(p)) verdict = 'invalid (non-2xx/errors)';
      else verdict = ratio >= TARGETS[op] ? 'pass' : 'FAIL';
    }
    rows.push({ op, baseline: b, plinth: p, ratio, target: TARGETS[op], verdict });
  }
  const after = Object.fromEntries(servers.map((s) => [s.name, readMem(s.child.proc.pid)]));

  const table = renderTable(rows) + (comparing ? `\n\n${renderCompare(rows)}` : '');
  const rssLines = [];
  if (byName.plinth) {
    const mb = idle.plinth.rssMB;
    rssLines.push(
      `Plinth idle RSS: ${fmtMB(mb)} (target ≤ ${RSS_TARGET_MB} MB): ${mb <= RSS_TARGET_MB ? 'pass' : 'FAIL'}; peak under load ${fmtMB(after.plinth.hwmMB)}`,
    );
  }
  if (byName.baseline) rssLines.push(`baseline idle RSS: ${fmtMB(idle.baseline.rssMB)} (reference); peak under load ${fmtMB(after.baseline.hwmMB)}`);
  // Work a server deferred past the end of its runs is not in its req/s; say so when there was any.
  const settleLines = [];
  for (const r of rows) {
    for (const side of ['baseline', 'plinth']) {
      const runs = r[side]?.runs ?? (r[side] ? [r[side]] : []);
      const ms = runs.map((x) => x.settleMs).sort((a, b) => a - b);
      if (ms.length && ms[ms.length - 1] >= 500) {
        settleLines.push(
          `${side === 'plinth' ? 'Plinth' : 'baseline'} stayed busy after its ${r.op} runs for ${ms.map((x) => (x / 1000).toFixed(1)).join(' / ')} s (work deferred past the run, not in its req/s; the next run waited for it)`,
        );
      }
    }
  }

  console.log(
    `\n## Plinth bench${comparing ? `: metrics on vs off (baseline = Plinth ${config.compareFlags.join(' ')})` : ''}${onPostgres ? ` on PostgreSQL (pool ${config.poolSize} each)` : ''} — ${config.rows.toLocaleString('en-US')} rows, ${config.connections} connections, ${config.duration}s per run${config.rounds > 1 ? ` (median of ${config.rounds})` : ''}, loopback, ${os.cpus().length} CPUs, Node ${process.version}\n`,
  );
  console.log(table);
  console.log('\n' + rssLines.join('\n'));
  if (settleLines.length) console.log(settleLines.join('\n'));
  if (warnings.length) console.log(`\n${warnings.length} equivalence warning(s); see above / ${RESULTS_FILE}`);

  const out = {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    config: { ...config, host: HOST, collection: COLLECTION },
    results: rows,
    rss: {
      targetMB: RSS_TARGET_MB,
      plinthIdleMB: idle.plinth?.rssMB ?? null,
      plinthPeakMB: after.plinth?.hwmMB ?? null,
      plinthPass: byName.plinth ? idle.plinth.rssMB <= RSS_TARGET_MB : null,
      baselineIdleMB: idle.baseline?.rssMB ?? null,
      baselinePeakMB: after.baseline?.hwmMB ?? null,
    },
    settle: settleLines,
    warnings,
    table,
  };
  mkdirSync(join(BENCH_DIR, 'results'), { recursive: true });
  writeFileSync(join(BENCH_DIR, 'results', RESULTS_FILE), JSON.stringify(out, null, 2) + '\n');
  log(`wrote ${join('bench', 'results', RESULTS_FILE)}`);
}

let exitCode = 0;
try {
  await main();
} catch (err) {
  exitCode = 1;
  console.error('[bench] FAILED:', err instanceof Error ? (err.stack ?? err.message) : err);
} finally {
  await cleanup();
}
process.exit(exitCode);
